#pragma once
// Sample mean, variance and Monte Carlo standard error of a set of values (double accumulation).
#include <cmath>

#include "core/types.hpp"

namespace vigap {

/// Mean, unbiased sample variance and standard error sqrt(var / n) of n values.
struct MeanAndStandardError {
  double mean = 0.0;
  double variance = 0.0;        ///< unbiased (n - 1) sample variance; 0 when n < 2
  double standard_error = 0.0;  ///< sqrt(variance / n); 0 when n < 2
  Index count = 0;
};

/// Computes the statistics of v with a two-pass algorithm.
template <typename Derived>
MeanAndStandardError mean_and_standard_error(const Eigen::DenseBase<Derived>& v) {
  MeanAndStandardError r;
  r.count = v.size();
  if (r.count == 0) return r;
  double sum = 0.0;
  for (Index i = 0; i < v.size(); ++i) sum += static_cast<double>(v.derived().coeff(i));
  r.mean = sum / static_cast<double>(r.count);
  if (r.count < 2) return r;
  double ss = 0.0;
  for (Index i = 0; i < v.size(); ++i) {
    const double d = static_cast<double>(v.derived().coeff(i)) - r.mean;
    ss += d * d;
  }
  r.variance = ss / static_cast<double>(r.count - 1);
  r.standard_error = std::sqrt(r.variance / static_cast<double>(r.count));
  return r;
}

}  // namespace vigap
