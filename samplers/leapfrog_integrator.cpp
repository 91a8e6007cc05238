#include "samplers/leapfrog_integrator.hpp"

#include <stdexcept>
#include <string>

namespace vigap {

VectorD kinetic_energy(const MatrixD& momentum, const MatrixD& inverse_mass) {
  return 0.5 * (momentum.array().square() * inverse_mass.array()).colwise().sum().transpose();
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
  const Eigen::Array<double, 1, Eigen::Dynamic> eps = step_sizes.transpose().array();
  state.momentum.array() += 0.5 * (state.evaluation.gradient.array().rowwise() * eps);
  for (Index s = 0; s < steps; ++s) {
    state.position.array() += (inverse_mass.array() * state.momentum.array()).rowwise() * eps;
    target(state.position, state.evaluation);
    const double factor = (s + 1 < steps) ? 1.0 : 0.5;  // full momentum step between, half at the end
    state.momentum.array() += factor * (state.evaluation.gradient.array().rowwise() * eps);
  }
  return steps * n;
}

}  // namespace vigap
