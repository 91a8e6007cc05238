#include "core/data/train_validation_split.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace vigap {

TrainValidationSplit split_train_validation(const Dataset& dataset, Index validation_size, Rng& rng) {
  const Index n = dataset.size();
  if (validation_size < 0 || validation_size >= n)
    throw std::invalid_argument("split_train_validation of dataset '" + dataset.name +
                                "': expected a validation size in [0, " + std::to_string(n) + "), found " +
                                std::to_string(validation_size));
  std::vector<Index> order(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  shuffle_in_place(order, rng);
  const auto middle = order.begin() + validation_size;
  TrainValidationSplit split;
  split.validation = subset(dataset, std::vector<Index>(order.begin(), middle));
  split.train = subset(dataset, std::vector<Index>(middle, order.end()));
  return split;
}

}  // namespace vigap
