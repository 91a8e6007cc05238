#include "core/nn/columnwise_adam.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace vigap {

ColumnwiseAdam::ColumnwiseAdam(Index num_rows, Index num_columns, AdamOptions options)
    : options_(options),
      first_moment_(MatrixD::Zero(num_rows, num_columns)),
      second_moment_(MatrixD::Zero(num_rows, num_columns)),
      step_counts_(static_cast<size_t>(num_columns), 0) {
  options_.validate();
  if (num_rows < 1 || num_columns < 0)
    throw std::invalid_argument("ColumnwiseAdam: expected >= 1 rows and >= 0 columns, found " +
                                std::to_string(num_rows) + " x " + std::to_string(num_columns));
}

void ColumnwiseAdam::step(MatrixD& parameters, const MatrixD& gradient, const std::vector<Index>& active_columns,
                          double learning_rate) {
  const Index P = first_moment_.rows();
  const Index active = static_cast<Index>(active_columns.size());
  if (parameters.rows() != P || parameters.cols() != first_moment_.cols() || gradient.rows() != P ||
      gradient.cols() != active)
    throw std::invalid_argument("ColumnwiseAdam::step: expected parameters " + std::to_string(P) + " x " +
                                std::to_string(first_moment_.cols()) + " and gradient " + std::to_string(P) + " x " +
                                std::to_string(active) + ", found " + std::to_string(parameters.rows()) + " x " +
                                std::to_string(parameters.cols()) + " and " + std::to_string(gradient.rows()) +
                                " x " + std::to_string(gradient.cols()));
  if (!(learning_rate > 0.0) || !std::isfinite(learning_rate))
    throw std::invalid_argument("ColumnwiseAdam::step: learning rate must be positive and finite, found " +
                                std::to_string(learning_rate));
  const double b1 = options_.beta1;
  const double b2 = options_.beta2;
  for (Index k = 0; k < active; ++k) {
    const Index b = active_columns[static_cast<size_t>(k)];
    if (b < 0 || b >= parameters.cols())
      throw std::invalid_argument("ColumnwiseAdam::step: active column " + std::to_string(b) + " out of range [0, " +
                                  std::to_string(parameters.cols()) + ")");
    const double t = static_cast<double>(++step_counts_[static_cast<size_t>(b)]);
    const double step_size = learning_rate / (1.0 - std::pow(b1, t));
    const double sqrt_c2 = std::sqrt(1.0 - std::pow(b2, t));
    double* theta = parameters.col(b).data();
    double* m = first_moment_.col(b).data();
    double* v = second_moment_.col(b).data();
    const double* g = gradient.col(k).data();
    for (Index i = 0; i < P; ++i) {
      m[i] = b1 * m[i] + (1.0 - b1) * g[i];
      v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
      theta[i] -= step_size * m[i] / (std::sqrt(v[i]) / sqrt_c2 + options_.epsilon);
    }
  }
}

}  // namespace vigap
