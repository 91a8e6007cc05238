#pragma once
// Exact log p(x) (and the posterior's mean and covariance) by quadrature over a latent space
// of dimension d <= 3.
#include <vector>

#include "core/models/generative_model.hpp"
#include "estimators/adaptive_quadrature.hpp"
#include "estimators/estimate.hpp"

namespace vigap {

/// log p(x_b) and the first two moments of p(z|x_b), per datapoint, by quadrature.
struct ExactMarginalLikelihood {
  /// estimator "quadrature", bias_direction "exact"; per_datapoint_standard_error holds the
  /// quadrature's own error estimate (nats), not a Monte Carlo standard error.
  Estimate log_marginal_likelihood;
  MatrixD posterior_mean;                     ///< d x B: E[z | x_b]
  std::vector<MatrixD> posterior_covariance;  ///< B: Cov[z | x_b]
  std::vector<Index> refined_passes;          ///< B: per-datapoint passes after the coarse one
  Index unconverged = 0;  ///< datapoints whose error estimate exceeds the tolerance
  Index stalled = 0;      ///< of those, datapoints whose passes stopped improving (rounding floor or budget)
  /// The unconverged datapoints with their values, estimates and why refinement stopped (also
  /// in log_marginal_likelihood.settings["datapoints_over_tolerance"]).
  std::vector<OverTolerance> over_tolerance;
  /// The nodes behind samples_per_datapoint = coarse_nodes + ceil(refinement_nodes / B): the coarse
  /// grid's (shared by every datapoint) and the refined passes' (summed over datapoints), so that
  /// blocks of datapoints can be joined into the figure of one batch.
  Index coarse_nodes = 0;
  Index refinement_nodes = 0;
};

/// log p(x_b) = log ∫ p(z) p(x_b|z) dz, computed, for every column x_b of X (D x B), as
///   log Σ_g w_g p(z_g) p(x_b|z_g)
/// (see adaptive_quadrature.hpp): first a coarse tensor-trapezoid grid on the prior box
/// [-a, a]^d shared by all datapoints, so that log p(x_b|z_g) for a chunk of datapoints and a
/// block of nodes is ONE GenerativeModel::log_likelihood_all_pairs call (the decoder runs once
/// per node, then one matrix product against the data); then, for each datapoint whose error
/// estimate exceeds options.tolerance, passes of a per-datapoint grid whitened by the previous
/// pass's posterior mean and covariance, all such datapoints in one batched
/// GenerativeModel::log_joint call per max_latent_columns_per_call columns.
/// Bias direction: exact (deterministic; error bounded by the reported error estimate).
/// Memory: datapoint_chunk_size x grid_block_size doubles plus the model's activations for
/// max(grid_block_size, max_latent_columns_per_call) latent columns.
/// Throws std::invalid_argument for latent_dim() > 3, a data dimension other than the model's, or no data.
ExactMarginalLikelihood exact_marginal_likelihood(const GenerativeModel& model, const MatrixF& X,
                                                  const QuadratureOptions& options = {});

/// Checks shared by the quadrature estimators: options.validate(model.latent_dim()), X has
/// model.data_dim() rows and at least one column. `caller` names the function in messages.
void check_quadrature_inputs(const GenerativeModel& model, const MatrixF& X, const QuadratureOptions& options,
                             const char* caller);

}  // namespace vigap
