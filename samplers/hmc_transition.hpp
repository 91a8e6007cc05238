#pragma once
// One Hamiltonian Monte Carlo transition for a batch of independent chains (one per column).
#include "core/random.hpp"
#include "core/random_streams.hpp"
#include "core/types.hpp"
#include "samplers/hmc_target.hpp"

namespace vigap {

/// The chains' current points and the target evaluated there (kept so that a transition needs no
/// extra target call at its start).
struct HmcChainState {
  MatrixD position;             ///< d x N, one chain per column
  TargetEvaluation evaluation;  ///< the target at position
};

/// What one transition did, per chain.
struct HmcTransitionStatistics {
  VectorD acceptance_probability;              ///< min(1, exp(H(start) - H(end))); 0 if H(end) is not finite
  Eigen::Array<bool, Eigen::Dynamic, 1> accepted;
  VectorD energy_error;                        ///< H(end) - H(start) (+inf when not finite)
  Index divergences = 0;                       ///< chains with energy error > 1000 or non-finite
  Index target_column_evaluations = 0;         ///< leapfrog_steps · N
};

/// Evaluates the target at state.position (one call) so that state is ready for hmc_transition.
/// Returns the number of target column evaluations (N).
Index initialize_chain_state(const BatchLogDensity& target, HmcChainState& state);

/// One static-trajectory HMC transition per column, leaving π invariant for each chain:
///   p ~ N(0, M) with M = diag(1 / inverse_mass.col(c)); (z', p') = leapfrog^L(z, p) with step ε_c;
///   accept z' with probability min(1, exp(H(z, p) - H(z', p'))), H = -log π(z) + ½ pᵀ M⁻¹ p.
/// All N columns move together: each of the L leapfrog steps is one target call on d x N.
/// state.evaluation must hold the target at state.position (initialize_chain_state); it is
/// updated with the accepted points. Chains are independent given their step sizes and masses.
/// Randomness: with G = generators.size() dividing N, chains c of datapoint b = c / (N / G) take
/// their momenta (d normals per chain, chain by chain) and then their accept/reject uniforms
/// (one per chain whose acceptance probability is below 1, in chain order) from generators[b]
/// only, so a chain's moves do not depend on the other datapoints' chains.
HmcTransitionStatistics hmc_transition(const BatchLogDensity& target, const VectorD& step_sizes,
                                       const MatrixD& inverse_mass, Index leapfrog_steps, HmcChainState& state,
                                       BatchRng& generators);

/// As above with one generator for all chains (rng advances as the draws are made).
HmcTransitionStatistics hmc_transition(const BatchLogDensity& target, const VectorD& step_sizes,
                                       const MatrixD& inverse_mass, Index leapfrog_steps, HmcChainState& state,
                                       Rng& rng);

}  // namespace vigap
