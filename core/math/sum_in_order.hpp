#pragma once
// Sums of one vector in double, in index order: the same bits wherever the vector sits in memory.
// Eigen's vectorized reductions start at the first aligned entry (the entries before it are added
// last), so the sum of a segment or column of a wider matrix rounds according to its address, and
// a datapoint's figures would depend on its position in the batch (tests/core/variational/
// local_gaussian_optimization_test.cpp, EachDatapointsFitIsTheSameBitsInABatchOfOneAndOfMany).
#include "core/types.hpp"

namespace vigap {

/// Σ_i v_i in double, i = 0, 1, ... in order.
template <typename Vector>
double sum_in_order(const Vector& v) {
  double sum = 0.0;
  for (Index i = 0; i < v.size(); ++i) sum += static_cast<double>(v(i));
  return sum;
}

/// ‖v‖² = Σ_i v_i² in double, i = 0, 1, ... in order.
template <typename Vector>
double squared_norm_in_order(const Vector& v) {
  double sum = 0.0;
  for (Index i = 0; i < v.size(); ++i) sum += static_cast<double>(v(i)) * static_cast<double>(v(i));
  return sum;
}

}  // namespace vigap
