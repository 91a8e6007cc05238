#include "samplers/leapfrog_integrator.hpp"

#include <stdexcept>
#include <string>

namespace vigap {

VectorD kinetic_energy(const MatrixD& momentum, const MatrixD& inverse_mass) {
  // An explicit loop per chain: a vectorized colwise sum would start at each column's first
  // aligned entry, making a chain's energy depend on its position in the batch.
  VectorD out(momentum.cols());
  for (Index c = 0; c < momentum.cols(); ++c) {
    double sum = 0.0;
    for (Index i = 0; i < momentum.rows(); ++i) sum += momentum(i, c) * momentum(i, c) * inverse_mass(i, c);
    out(c) = 0.5 * sum;
  }
  return out;
}

VectorD hamiltonian(const PhaseSpaceState& state, const MatrixD& inverse_mass) {
  return kinetic_energy(state.momentum, inverse_mass) - state.evaluation.log_density;
}

Index leapfrog_integrate(const BatchLogDensity& target, const VectorD& step_sizes, const MatrixD& inverse_mass,
                         Index steps, PhaseSpaceState& state) {
  const Index d = state.position.rows();
  const Index n = state.position.cols();
  if (steps < 1) throw std::invalid_argument("leapfrog_integrate: steps must be >= 1, found " + std::to_string(steps));
  if (step_sizes.size() != n || inverse_mass.rows() != d || inverse_mass.cols() != n ||
      state.momentum.rows() != d || state.momentum.cols() != n || state.evaluation.gradient.rows() != d ||
      state.evaluation.gradient.cols() != n)
    throw std::invalid_argument("leapfrog_integrate: expected step sizes (" + std::to_string(n) +
                                "), inverse mass, momentum and gradient (" + std::to_string(d) + " x " +
                                std::to_string(n) + ") to match the positions");
  // Explicit loops: every entry takes the same instructions (Eigen's vectorized expressions
  // round a SIMD body and a scalar tail differently when the compiler contracts the tail's
  // multiply-adds), so a chain's trajectory does not depend on its position in the batch.
  const auto kick = [&](double factor) {
    for (Index c = 0; c < n; ++c) {
      const double h = factor * step_sizes(c);
      for (Index j = 0; j < d; ++j) state.momentum(j, c) += h * state.evaluation.gradient(j, c);
    }
  };
  kick(0.5);
  for (Index s = 0; s < steps; ++s) {
    for (Index c = 0; c < n; ++c)
      for (Index j = 0; j < d; ++j) state.position(j, c) += step_sizes(c) * (inverse_mass(j, c) * state.momentum(j, c));
    target(state.position, state.evaluation);
    kick((s + 1 < steps) ? 1.0 : 0.5);  // full momentum step between, half at the end
  }
  return steps * n;
}

}  // namespace vigap
