#pragma once
// The 2-D posterior comparison over a block of consecutive datapoints of a run, and the one
// assembly that joins blocks into the comparison of the whole run: what lets vigap-posterior-2d
// spread its datapoints over processes (distributed/) and resume from a journal with the
// single-process answer. compute_posterior_2d_comparison itself is the assembly of one block, so
// one process and any split go through the same code.
//
// Every figure of the comparison but a few sums is a per-datapoint value (each datapoint's draws
// come from its own streams keyed by its dataset index, and its grid, quadrature and HMC chains
// are its own), so a block keeps its datapoints' Posterior2dDatapoint whole (every field, the
// grids' log densities and every HMC draw: the JSON and the picture thin them differently) and
// the assembly concatenates them in run order.
// Merge rules for what is not a per-datapoint value: the HMC and q* gradient evaluations, the
// HMC divergences and the datapoints whose quadrature did not converge are summed over blocks
// (the per-datapoint gradient evaluations are the sums divided by the run's datapoints, as for one
// batch: both counts are sums of per-datapoint counts); the HMC mean acceptance rate is the mean
// of the concatenated per-chain acceptance rates; mean KL(q‖p) and KL(q*‖p) are the means of the
// concatenated per-datapoint KLs; the model, the HMC shape and json_draws must agree; timings are
// summed.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analyses/posterior_2d.hpp"

namespace vigap {

/// The comparison's per-datapoint part over the run's datapoints [first, first + size()) (run
/// positions: columns of the run's X, the order of vigap-posterior-2d's --datapoints).
struct Posterior2dBlock {
  Index first = 0;    ///< run position of the block's first datapoint
  std::string model;  ///< the model's describe()
  Index hmc_chains = 0, hmc_draws_per_chain = 0;
  Index json_draws = 0;  ///< HMC draws per datapoint results_json keeps
  std::vector<Posterior2dDatapoint> datapoints;  ///< every field, in run order
  /// Per chain, datapoint b's chains at b·hmc_chains ... (b+1)·hmc_chains - 1: the mean
  /// acceptance statistic during sampling.
  VectorD hmc_acceptance_rate;
  Index hmc_gradient_evaluations = 0;     ///< over the block's datapoints
  Index hmc_divergences = 0;              ///< over the block's datapoints
  Index q_star_gradient_evaluations = 0;  ///< over the block's datapoints
  Index exact_unconverged_datapoints = 0;
  double exact_posterior_seconds = 0.0, local_optimization_seconds = 0.0, kl_quadrature_seconds = 0.0,
         hmc_seconds = 0.0, grid_densities_seconds = 0.0;

  Index size() const { return static_cast<Index>(datapoints.size()); }
  /// Every field, doubles exactly (core/io/exact_json; matrices as {"rows", "cols", "values"}
  /// column by column): a journal record or a message.
  nlohmann::ordered_json to_json() const;
};

/// The block Posterior2dBlock::to_json wrote. Throws std::invalid_argument naming `what` when a
/// field is missing or malformed (a matrix whose values are not rows · cols, a datapoint whose
/// grid densities are not nodes² values, acceptance rates that are not hmc_chains per datapoint).
Posterior2dBlock posterior_2d_block_from_json(const nlohmann::ordered_json& j, const std::string& what);

/// compute_posterior_2d_comparison's work on the datapoints X (D x B, the run's positions
/// first ... first + B - 1; `encoder_q` their encoder's q, `streams` their streams keyed by their
/// dataset indices), without its aggregates. Formulas, randomness and exceptions as
/// compute_posterior_2d_comparison's; also throws std::invalid_argument for first < 0.
Posterior2dBlock compute_posterior_2d_block(const GenerativeModel& model, const DiagonalGaussian& encoder_q,
                                            const MatrixF& X, const Posterior2dOptions& options,
                                            const RandomStreams& streams, Index first,
                                            const ProgressReporter& progress = quiet_progress());

/// The comparison of the blocks' concatenated datapoints (blocks in run order, each starting
/// where the previous one ends): datapoints concatenated, the merge rules above applied:
///   hmc_gradient_evaluations_per_datapoint = ⌊Σ_blocks hmc_gradient_evaluations / B⌋ (B the
///   datapoints of every block), q*'s alike, hmc_divergences and exact_unconverged_datapoints
///   summed, hmc_mean_acceptance_rate = mean of the concatenated per-chain rates,
///   mean_kl_q = (1/B) Σ_b kl_q_b and mean_kl_q_star alike; timings summed.
/// Throws std::invalid_argument for no blocks, an empty block, blocks that are not consecutive,
/// or blocks that disagree on the model, the HMC shape or json_draws.
Posterior2dComparison assemble_posterior_2d(const std::vector<Posterior2dBlock>& blocks);

}  // namespace vigap
