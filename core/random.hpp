#pragma once
// The random number generator, passed explicitly everywhere (no global state).
#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_01.hpp>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/types.hpp"

namespace vigap {

/// The one RNG type of vigap: 64-bit Mersenne twister, reproducible across platforms.
using Rng = boost::random::mt19937_64;

/// Fills every entry of m with an independent N(0, 1) draw (column by column).
template <typename Derived>
void fill_standard_normal(Eigen::MatrixBase<Derived>& m, Rng& rng) {
  boost::random::normal_distribution<double> normal(0.0, 1.0);
  using Scalar = typename Derived::Scalar;
  for (Index j = 0; j < m.cols(); ++j)
    for (Index i = 0; i < m.rows(); ++i) m(i, j) = static_cast<Scalar>(normal(rng));
}

/// Returns a d x n matrix of independent N(0, 1) draws.
inline MatrixD standard_normal_matrix(Index rows, Index cols, Rng& rng) {
  MatrixD m(rows, cols);
  fill_standard_normal(m, rng);
  return m;
}

/// One U(0, 1) draw.
inline double uniform_01(Rng& rng) { return boost::random::uniform_01<double>()(rng); }

/// A uniform integer in [0, bound) from the raw 64-bit output of rng, by rejection (no modulo
/// bias, no library distribution whose algorithm could differ between platforms). bound >= 1.
inline std::uint64_t uniform_below(std::uint64_t bound, Rng& rng) {
  static_assert(Rng::word_size == 64, "Rng must produce uniform 64-bit words");
  const std::uint64_t reject_below = (0 - bound) % bound;  // 2^64 mod bound
  while (true) {
    const std::uint64_t r = rng();
    if (r >= reject_below) return r % bound;
  }
}

/// Fisher–Yates shuffle driven by uniform_below: the same order on every platform.
template <typename T>
void shuffle_in_place(std::vector<T>& values, Rng& rng) {
  for (size_t i = values.size(); i-- > 1;) {
    const size_t j = static_cast<size_t>(uniform_below(static_cast<std::uint64_t>(i) + 1, rng));
    std::swap(values[i], values[j]);
  }
}

/// A child generator seeded deterministically from a parent (for independent streams).
inline Rng split_rng(Rng& parent) { return Rng(parent()); }

}  // namespace vigap
