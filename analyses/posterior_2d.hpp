#pragma once
// The 2-D posterior comparison as a library function: for a few datapoints of a model with a 2-D
// latent space, the exact posterior p(z|x) (quadrature), the encoder's q(z|x), the locally
// optimized full-covariance Gaussian q*(z|x) and HMC draws, on one grid per datapoint, with
// KL(q‖p), KL(q*‖p) and how far the HMC draws are from p (moments, total variation, MMD).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/models/generative_model.hpp"
#include "core/progress_reporter.hpp"
#include "core/random_streams.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/local_gaussian_optimization.hpp"
#include "estimators/exact_posterior.hpp"
#include "samplers/hmc_sampler.hpp"

namespace vigap {

/// Settings of compute_posterior_2d_comparison. The messages of validate() name the options of
/// vigap-posterior-2d.
struct Posterior2dOptions {
  /// Grid nodes per axis (odd, >= 11; --grid-nodes): the grid is centred on E[z|x].
  Index grid_nodes = 101;
  /// Grid half-width per axis in exact posterior standard deviations (>= 1; --grid-half-width),
  /// widened so that the 2.5-σ extent of q and q* is inside too (at most 3x this).
  double grid_half_width = 5.0;
  /// HMC: 4 chains of 500 warm-up iterations and 500 draws (the sampler's other defaults).
  HmcOptions hmc = default_hmc();
  /// q*: a full-covariance Gaussian (the only family the comparison draws) started from the encoder's q.
  LocalOptimizationOptions local = default_local();
  /// log p(x), E[z|x], Cov[z|x] and the exact draws (the quadrature's defaults).
  ExactPosteriorOptions exact;
  /// Exact-posterior draws per datapoint the MMD compares with (>= 2; --mmd-samples).
  Index mmd_samples = 2000;
  /// Grid cells per histogram bin side of the total variation (>= 1; --tv-cells-per-bin).
  Index tv_cells_per_bin = 5;
  /// HMC draws per datapoint kept in results_json (thinned evenly; >= 0; --json-draws).
  Index json_draws = 1000;

  static HmcOptions default_hmc();
  static LocalOptimizationOptions default_local();
  /// Throws std::invalid_argument naming the option (as vigap-posterior-2d spells it).
  void validate() const;
  /// {"grid", "hmc", "local_optimization", "total_variation_cells_per_bin", "mmd"}: the JSON
  /// `configuration` entries of the comparison.
  nlohmann::ordered_json to_json() const;
};

/// One datapoint: its grid, the densities on it, q's, q*'s and the HMC draws' comparison with p(z|x).
struct Posterior2dDatapoint {
  Index datapoint = 0;  ///< its index in the dataset (the streams' dataset index)
  /// The grid: nodes z1 (i) and z2 (j); node (i, j) is entry i + n·j of the log densities.
  VectorD z1, z2;
  double cell_area = 0.0;
  double exact_mass_on_grid = 0.0;  ///< Σ_g p(z_g|x) · cell area (≈ 1)
  VectorD log_exact, log_q, log_q_star;  ///< log p(z_g|x), log q(z_g|x), log q*(z_g|x)
  double log_marginal_likelihood = 0.0, log_marginal_likelihood_error = 0.0;
  VectorD posterior_mean;
  MatrixD posterior_covariance;
  VectorD q_mean, q_star_mean;
  MatrixD q_covariance, q_star_covariance;
  Index q_star_steps = 0;
  bool q_star_stopped_by_rule = false;
  /// KL(q‖p(z|x)) and KL(q*‖p(z|x)) by quadrature, with the quadrature's error estimates.
  double kl_q = 0.0, kl_q_error = 0.0, kl_q_star = 0.0, kl_q_star_error = 0.0;
  MatrixD hmc_draws;  ///< 2 x (chains · draws), every draw
  VectorD hmc_mean, hmc_mean_error;  ///< the draws' mean and its difference from E[z|x]
  MatrixD hmc_covariance;            ///< the draws' sample covariance
  double mean_error_in_posterior_sd = 0.0;           ///< ‖L⁻¹ (mean - E[z|x])‖, L Lᵀ = Cov[z|x]
  double covariance_relative_frobenius_error = 0.0;  ///< ‖Cov_hmc - Cov[z|x]‖_F / ‖Cov[z|x]‖_F
  /// Binned total variation and unbiased MMD² of the HMC draws, and of as many iid exact draws
  /// (the measures' own noise floor at that sample size).
  double total_variation = 0.0, total_variation_iid = 0.0, mmd_squared = 0.0, mmd_squared_iid = 0.0;
  VectorD r_hat, bulk_ess;  ///< per coordinate

  /// Every step-th HMC draw, step = N / count, so that at most `count` remain (0: none).
  MatrixD thinned_hmc_draws(Index count) const;
};

/// The comparison on every datapoint.
struct Posterior2dComparison {
  std::string model;  ///< the model's describe()
  std::vector<Posterior2dDatapoint> datapoints;
  Index hmc_chains = 0, hmc_draws_per_chain = 0;
  Index hmc_gradient_evaluations_per_datapoint = 0;
  Index hmc_divergences = 0;
  double hmc_mean_acceptance_rate = 0.0;
  Index q_star_gradient_evaluations_per_datapoint = 0;
  double mean_kl_q = 0.0, mean_kl_q_star = 0.0;
  Index exact_unconverged_datapoints = 0;
  Index json_draws = 0;  ///< HMC draws per datapoint results_json keeps
  double exact_posterior_seconds = 0.0, local_optimization_seconds = 0.0, kl_quadrature_seconds = 0.0,
         hmc_seconds = 0.0, grid_densities_seconds = 0.0;

  /// {"datapoints": [{"datapoint", "label", "log_marginal_likelihood", ..., "grid", "log_density",
  /// "hmc"}], "hmc_gradient_evaluations_per_datapoint", ...}: the JSON `results`. labels[b] is
  /// datapoint b's class label (empty: no "label" entries). Log densities that underflow are
  /// written as -1e300 (JSON has no infinity).
  nlohmann::ordered_json results_json(const std::vector<int>& labels = {}) const;
  /// {"exact_posterior_seconds", "local_optimization_seconds", "kl_quadrature_seconds",
  ///  "hmc_seconds", "grid_densities_seconds"}.
  nlohmann::ordered_json timings_json() const;
  /// One row per datapoint (log p(x), KL(q‖p), KL(q*‖p), grid mass, HMC TV, HMC and iid MMD²)
  /// and a line of the HMC and q* costs.
  std::string to_markdown() const;
};

/// For the datapoints X (columns, D x B) of a model with latent dimension 2:
///   p(z|x) by quadrature (ExactPosterior: log p(x), E[z|x], Cov[z|x]);
///   q*(z|x) = argmax ELBO over full-covariance Gaussians, started from `encoder_q`
///     (optimize_local_gaussian);
///   KL(q‖p) and KL(q*‖p) = ∫ q (log q - log p(x, z) + log p(x)) dz by quadrature (exact,
///     up to the reported error estimates);
///   HMC draws of p(z|x) (hmc_sample_posterior), compared with p by the mean error in posterior
///     standard deviations ‖L⁻¹(m̂ - E[z|x])‖, the relative Frobenius error of the covariance,
///     the binned total variation ½ Σ_bins |n_bin/N - P_bin| (total_variation_of_draws: biased
///     upward by sampling noise; compare with the iid exact draws' value) and the unbiased MMD²
///     with kernel exp(-‖L⁻¹(a - b)‖²/2) against mmd_samples exact draws (unbiased, 0 for exact
///     draws; the iid value shows its noise);
///   the three log densities on a grid per datapoint centred on E[z|x].
/// Bias: KLs and densities exact (quadrature); HMC's discrepancies are those of its draws.
/// Randomness: datapoint b's draws come from `streams` (one per datapoint, keyed by its dataset
/// index): q*'s fit, KL(q‖p)'s box and HMC from substream 0, KL(q*‖p)'s box from substream 1, the
/// exact draws (MMD, then the iid reference) from StreamPurpose::exact_posterior_sampling; a
/// datapoint's results do not depend on the others in X. Throws std::invalid_argument for a
/// latent dimension other than 2, inconsistent shapes or bad options. `progress` gets q*'s status
/// lines. It is assemble_posterior_2d of the one block compute_posterior_2d_block computes for X
/// (analyses/posterior_2d_block.hpp), the code any split of the datapoints into blocks goes through.
Posterior2dComparison compute_posterior_2d_comparison(const GenerativeModel& model, const DiagonalGaussian& encoder_q,
                                                      const MatrixF& X, const Posterior2dOptions& options,
                                                      const RandomStreams& streams,
                                                      const ProgressReporter& progress = quiet_progress());

}  // namespace vigap
