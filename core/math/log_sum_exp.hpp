#pragma once
// Numerically stable log-sum-exp and log-mean-exp, accumulated in double.
#include <cmath>
#include <limits>

#include "core/types.hpp"

namespace vigap {

/// log Σ_i exp(v_i), stable for any finite or -inf entries; -inf for an empty or all -inf input.
/// NaN if any entry is NaN; +inf if any entry is +inf.
template <typename Derived>
double log_sum_exp(const Eigen::DenseBase<Derived>& v) {
  if (v.size() == 0) return -std::numeric_limits<double>::infinity();
  const double m = static_cast<double>(v.maxCoeff());
  if (std::isnan(m)) return m;
  if (!std::isfinite(m)) return m;  // all -inf gives -inf; any +inf gives +inf
  double s = 0.0;
  for (Index i = 0; i < v.size(); ++i) s += std::exp(static_cast<double>(v.derived().coeff(i)) - m);
  return m + std::log(s);
}

/// log( (1/n) Σ_i exp(v_i) ): the log of the mean of exp(v).
template <typename Derived>
double log_mean_exp(const Eigen::DenseBase<Derived>& v) {
  return log_sum_exp(v) - std::log(static_cast<double>(v.size()));
}

/// For a vector holding B consecutive segments of S values (segment b in entries b*S ... b*S+S-1),
/// returns the B values log Σ_s exp(v_{bS+s}).
VectorD segment_log_sum_exp(const VectorD& v, Index segment_size);

/// As segment_log_sum_exp, minus log S: log-mean-exp of each segment.
VectorD segment_log_mean_exp(const VectorD& v, Index segment_size);

/// Column-wise log Σ_i exp(M_ij): one value per column.
RowVectorD colwise_log_sum_exp(const MatrixD& m);

/// Row-wise log Σ_j exp(M_ij): one value per row.
VectorD rowwise_log_sum_exp(const MatrixD& m);

}  // namespace vigap
