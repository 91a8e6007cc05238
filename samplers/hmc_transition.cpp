#include "samplers/hmc_transition.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "samplers/leapfrog_integrator.hpp"

namespace vigap {

Index initialize_chain_state(const BatchLogDensity& target, HmcChainState& state) {
  target(state.position, state.evaluation);
  if (state.evaluation.log_density.size() != state.position.cols() ||
      state.evaluation.gradient.rows() != state.position.rows() ||
      state.evaluation.gradient.cols() != state.position.cols())
    throw std::invalid_argument("initialize_chain_state: the target returned values of the wrong shape for " +
                                std::to_string(state.position.rows()) + " x " +
                                std::to_string(state.position.cols()) + " latents");
  return state.position.cols();
}

HmcTransitionStatistics hmc_transition(const BatchLogDensity& target, const VectorD& step_sizes,
                                       const MatrixD& inverse_mass, Index leapfrog_steps, HmcChainState& state,
                                       Rng& rng) {
  BatchRng one(std::vector<Rng>{rng});
  HmcTransitionStatistics stats = hmc_transition(target, step_sizes, inverse_mass, leapfrog_steps, state, one);
  rng = one[0];
  return stats;
}

HmcTransitionStatistics hmc_transition(const BatchLogDensity& target, const VectorD& step_sizes,
                                       const MatrixD& inverse_mass, Index leapfrog_steps, HmcChainState& state,
                                       BatchRng& generators) {
  const Index d = state.position.rows();
  const Index n = state.position.cols();
  if (state.evaluation.log_density.size() != n)
    throw std::invalid_argument("hmc_transition: the chain state holds no target evaluation; call "
                                "initialize_chain_state first");
  const Index chains_per_generator = generators.columns_per_datapoint(n, "hmc_transition");
  PhaseSpaceState proposal;
  proposal.position = state.position;
  proposal.momentum = standard_normal_matrix(d, n, generators);
  proposal.momentum.array() /= inverse_mass.array().sqrt();  // p ~ N(0, M), M = diag(1 / m⁻¹)
  proposal.evaluation = state.evaluation;
  const VectorD initial_energy = hamiltonian(proposal, inverse_mass);

  HmcTransitionStatistics stats;
  stats.target_column_evaluations = leapfrog_integrate(target, step_sizes, inverse_mass, leapfrog_steps, proposal);
  const VectorD final_energy = hamiltonian(proposal, inverse_mass);

  stats.acceptance_probability.resize(n);
  stats.accepted.resize(n);
  stats.energy_error.resize(n);
  for (Index c = 0; c < n; ++c) {
    double error = final_energy(c) - initial_energy(c);
    if (!std::isfinite(error)) error = std::numeric_limits<double>::infinity();
    if (error > 1000.0) ++stats.divergences;
    stats.energy_error(c) = error;
    const double probability = error <= 0.0 ? 1.0 : std::exp(-error);
    stats.acceptance_probability(c) = probability;
    stats.accepted(c) = probability >= 1.0 || uniform_01(generators[c / chains_per_generator]) < probability;
  }
  for (Index c = 0; c < n; ++c)
    if (stats.accepted(c)) state.position.col(c) = proposal.position.col(c);
  state.evaluation.assign_columns_where(proposal.evaluation, stats.accepted);
  return stats;
}

}  // namespace vigap
