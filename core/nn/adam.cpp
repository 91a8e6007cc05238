#include "core/nn/adam.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace vigap {

void AdamOptions::validate() const {
  if (!(beta1 >= 0.0 && beta1 < 1.0))
    throw std::invalid_argument("Adam beta1 must be in [0, 1), found " + std::to_string(beta1));
  if (!(beta2 >= 0.0 && beta2 < 1.0))
    throw std::invalid_argument("Adam beta2 must be in [0, 1), found " + std::to_string(beta2));
  if (!(epsilon > 0.0))
    throw std::invalid_argument("Adam epsilon must be positive, found " + std::to_string(epsilon));
}

Adam::Adam(Index n, AdamOptions options)
    : options_(options), first_moment_(VectorF::Zero(n)), second_moment_(VectorF::Zero(n)) {
  options_.validate();
}

void Adam::step(VectorF& parameters, const VectorF& gradient, double learning_rate) {
  if (parameters.size() != first_moment_.size() || gradient.size() != first_moment_.size())
    throw std::invalid_argument("Adam::step: expected vectors of size " +
                                std::to_string(first_moment_.size()) + ", found parameters " +
                                std::to_string(parameters.size()) + " and gradient " +
                                std::to_string(gradient.size()));
  if (!(learning_rate > 0.0) || !std::isfinite(learning_rate))
    throw std::invalid_argument("Adam::step: learning rate must be positive and finite, found " +
                                std::to_string(learning_rate));
  ++step_count_;
  const double t = static_cast<double>(step_count_);
  const float b1 = static_cast<float>(options_.beta1);
  const float b2 = static_cast<float>(options_.beta2);
  // Fold bias corrections into the step size and epsilon (as PyTorch does).
  const double correction1 = 1.0 - std::pow(options_.beta1, t);
  const double correction2 = 1.0 - std::pow(options_.beta2, t);
  const float step_size = static_cast<float>(learning_rate / correction1);
  const float sqrt_c2 = static_cast<float>(std::sqrt(correction2));
  const float eps = static_cast<float>(options_.epsilon);
  float* theta = parameters.data();
  float* m = first_moment_.data();
  float* v = second_moment_.data();
  const float* g = gradient.data();
  const Index n = parameters.size();
#pragma omp simd
  for (Index i = 0; i < n; ++i) {
    m[i] = b1 * m[i] + (1.0f - b1) * g[i];
    v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    theta[i] -= step_size * m[i] / (std::sqrt(v[i]) / sqrt_c2 + eps);
  }
}

}  // namespace vigap
