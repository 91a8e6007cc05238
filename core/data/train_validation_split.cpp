#include "core/data/train_validation_split.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace vigap {
namespace {

/// A uniform integer in [0, bound) from the raw 64-bit output of rng, by rejection (no
/// modulo bias, no library distribution whose algorithm could differ between platforms).
std::uint64_t uniform_below(std::uint64_t bound, Rng& rng) {
  static_assert(Rng::word_size == 64, "Rng must produce uniform 64-bit words");
  const std::uint64_t reject_below = (0 - bound) % bound;  // 2^64 mod bound
  while (true) {
    const std::uint64_t r = rng();
    if (r >= reject_below) return r % bound;
  }
}

}  // namespace

TrainValidationSplit split_train_validation(const Dataset& dataset, Index validation_size, Rng& rng) {
  const Index n = dataset.size();
  if (validation_size < 0 || validation_size >= n)
    throw std::invalid_argument("split_train_validation of dataset '" + dataset.name +
                                "': expected a validation size in [0, " + std::to_string(n) + "), found " +
                                std::to_string(validation_size));
  std::vector<Index> order(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  for (Index i = n - 1; i > 0; --i) {
    const auto j = static_cast<Index>(uniform_below(static_cast<std::uint64_t>(i) + 1, rng));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  const auto middle = order.begin() + validation_size;
  TrainValidationSplit split;
  split.validation = subset(dataset, std::vector<Index>(order.begin(), middle));
  split.train = subset(dataset, std::vector<Index>(middle, order.end()));
  return split;
}

}  // namespace vigap
