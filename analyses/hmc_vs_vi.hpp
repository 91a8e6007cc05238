#pragma once
// HMC against variational inference at equal budgets of decoder evaluations per datapoint, measured
// against the exact posterior p(z|x) and the exact log p(x) (both by quadrature) of a model with a
// 2-D latent space, as a library function.
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/models/generative_model.hpp"
#include "core/progress_reporter.hpp"
#include "core/random_streams.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/local_flow_optimization.hpp"
#include "core/variational/local_gaussian_optimization.hpp"
#include "estimators/annealed_importance_sampling.hpp"
#include "estimators/estimate.hpp"
#include "samplers/hmc_sampler.hpp"

namespace vigap {

/// Where HMC's chains start.
enum class HmcStart {
  encoder,  ///< one draw of the amortized q per chain (the encoder's, through its flow when it has one; the default)
  prior,    ///< one draw of the prior N(0, I) per chain
};
/// "encoder", "prior"; parse throws std::invalid_argument naming `option`.
HmcStart parse_hmc_start(const std::string& text, const std::string& option);
std::string to_string(HmcStart start);

/// Settings of compute_hmc_vs_vi. Every method's per-budget settings are derived from these by the
/// rules of analyses/decoder_evaluation_budget.hpp.
struct HmcVsViOptions {
  /// Decoder evaluations per datapoint, positive and increasing: one row of every method per budget.
  std::vector<Index> budgets{100, 300, 1000, 3000, 10000, 30000, 100000};
  /// HMC: chains (>= 2, for the moments and R-hat), leapfrog steps, adaptation; warmup and draws
  /// are set per budget (its initial_latents by hmc_init).
  HmcOptions hmc;
  double warmup_fraction = 0.5;  ///< share of HMC's iterations spent on warm-up (discarded), in [0, 1)
  HmcStart hmc_init = HmcStart::encoder;
  /// q* (diagonal and full-covariance rows; `family` is set per row): 10 samples per step, checks of
  /// at most 100 samples (min(check_samples, max(2, budget / 20)) per budget), no patience (the
  /// budget is the stopping rule); max_steps is set per budget.
  LocalOptimizationOptions gaussian = [] {
    LocalOptimizationOptions o;
    o.samples_per_step = 10;
    o.check_samples = 100;
    o.patience = 1000000000;
    return o;
  }();
  /// The local flow (from the encoder's q with identity flows): 10 samples per step, Adam at 3e-3,
  /// no patience; max_steps is set per budget.
  LocalFlowOptions flow = [] {
    LocalFlowOptions o;
    o.samples = 10;
    o.learning_rate = 3e-3;
    o.patience = 1000000000;
    return o;
  }();
  /// AIS from the prior and from the amortized q: 8 chains; the annealing steps are set per budget.
  AisOptions ais = [] {
    AisOptions o;
    o.chains = 8;
    return o;
  }();
  Index grid_nodes = 101;        ///< nodes per axis of the total-variation grid (>= 11)
  double grid_half_width = 5.0;  ///< its half-width in exact posterior standard deviations per axis (>= 2)
  Index cells_per_bin = 5;       ///< grid cells per histogram bin side for the total variation (>= 1)
  Index vi_draws = 20000;        ///< draws of each variational q for its moments (no decoder evaluations; >= 2)

  /// Throws std::invalid_argument naming the option (--budgets, --hmc-chains, --grid-nodes, ...,
  /// warmup_fraction) before any work.
  void validate() const;
  /// Every setting that shapes the results, for the JSON `configuration` ("budgets", "cost_measure",
  /// "hmc", "q_star", "local_flow", "ais", "importance_sampling", "distances").
  nlohmann::ordered_json to_json() const;
};

/// What a row's decoder evaluations and `details` / `settings` are recomputed from when blocks of
/// datapoints are joined (analyses/hmc_vs_vi_block.hpp): integer totals, per-datapoint (per-chain)
/// arrays, and maxima, never a mean.
struct HmcVsViRowTallies {
  Index datapoints = 0;                ///< datapoints of the row
  Index decoder_evaluations_total = 0; ///< Σ over datapoints (decoder_evaluations = total / datapoints)
  VectorD acceptance_rate;             ///< HMC: per chain (B·C, datapoint-major); AIS: per datapoint
  VectorD effective_sample_size;       ///< HMC: min bulk ESS per datapoint; importance sampling: ESS per datapoint
  Index divergences = 0;               ///< HMC: summed
  double max_r_hat = std::numeric_limits<double>::quiet_NaN();  ///< HMC: max of maxima (NaN: none finite)
  Index steps = 0;                     ///< q*, local flow: max over datapoints of their steps
  Index stopped_by_patience = 0;       ///< q*: summed
  bool all_stopped_by_patience = true; ///< local flow: and-ed
  double max_check_standard_error = 0.0;  ///< q*: max of maxima
};

/// Distances of one method at one budget from the exact posterior, one value per datapoint.
struct HmcVsViPosteriorRow {
  std::optional<Index> budget;       ///< none: the amortized q (no budget)
  bool feasible = true;              ///< false: the budget buys nothing of this method
  double decoder_evaluations = 0.0;  ///< mean per datapoint actually spent
  VectorD total_variation;           ///< binned TV to p(z|x)
  VectorD mean_error;                ///< ‖L⁻¹(m - E[z|x])‖, L Lᵀ = Cov[z|x]
  VectorD covariance_error;          ///< ‖L⁻¹ C L⁻ᵀ - I‖_F
  std::optional<Estimate> kl_divergence;  ///< variational families: exact KL(q‖p(z|x)) by quadrature
  /// HMC: the same statistics for as many independent exact draws as HMC kept (the floor any
  /// sampler with that many draws would show).
  VectorD iid_total_variation, iid_mean_error, iid_covariance_error;
  nlohmann::ordered_json details = nlohmann::ordered_json::object();  ///< steps, draws, R-hat, ESS, ...
  HmcVsViRowTallies tallies;  ///< what decoder_evaluations and the merged entries of details come from

  /// {"budget", "feasible", "decoder_evaluations_per_datapoint", "total_variation", ...}; each
  /// statistic as {"mean", "standard_error" (over datapoints), ["per_datapoint"]}.
  nlohmann::ordered_json to_json(bool per_datapoint = true) const;
};

/// A log p(x) estimator at one budget: its error against quadrature per datapoint.
struct HmcVsViLogMarginalRow {
  Index budget = 0;
  bool feasible = true;
  double decoder_evaluations = 0.0;
  Estimate error;  ///< per_datapoint: log p̂(x_b) - log p(x_b), with the estimator's standard errors
  double mean_absolute_error = 0.0;  ///< mean over datapoints of |log p̂(x_b) - log p(x_b)|
  nlohmann::ordered_json settings;
  HmcVsViRowTallies tallies;  ///< what decoder_evaluations and the merged entries of settings come from

  nlohmann::ordered_json to_json(bool per_datapoint = true) const;
};

/// The study: the truth, then one row per budget of every method.
struct HmcVsVi {
  std::vector<Index> budgets;
  std::string amortized_approximation;  ///< the amortized q's describe(): its row, HMC's start, AIS from q, IS's proposal
  std::string encoder_gaussian;         ///< the encoder's Gaussian's describe(): where q* and the local flow start
  HmcStart hmc_init = HmcStart::encoder;
  Estimate exact_log_px;               ///< log p(x) by quadrature
  Index exact_unconverged = 0;         ///< datapoints whose quadrature did not converge
  /// The quadrature's coarse nodes per datapoint and refinement nodes over all datapoints: joined
  /// over blocks into exact_log_px.samples_per_datapoint, the same for any split of the datapoints.
  Index exact_coarse_nodes = 0, exact_refinement_nodes = 0;
  HmcVsViPosteriorRow amortized;       ///< the amortized q, 0 decoder evaluations
  std::vector<HmcVsViPosteriorRow> hmc, q_star_diagonal, q_star_full_covariance, local_flow;  ///< one per budget
  std::vector<HmcVsViLogMarginalRow> ais_from_prior, ais_from_encoder_q, importance_sampling_from_encoder_q;
  double exact_seconds = 0.0, amortized_seconds = 0.0, hmc_seconds = 0.0, q_star_diagonal_seconds = 0.0,
         q_star_full_covariance_seconds = 0.0, local_flow_seconds = 0.0, ais_prior_seconds = 0.0,
         ais_encoder_seconds = 0.0, importance_sampling_seconds = 0.0, seconds = 0.0;

  /// {"exact_log_marginal_likelihood", "exact_unconverged_datapoints", "posterior": {"amortized_q",
  /// "hmc", "q_star_diagonal", "q_star_full_covariance", "local_flow"}, "log_marginal_likelihood":
  /// {"ais_from_prior", "ais_from_encoder_q", "importance_sampling_from_encoder_q"}}: the JSON
  /// `results` (timings apart; per_datapoint adds every datapoint's values).
  nlohmann::ordered_json results_json(bool per_datapoint = true) const;
  /// {"exact_seconds", "amortized_seconds", "hmc_seconds", ..., "total_seconds"}.
  nlohmann::ordered_json timings_json() const;
  /// What each method starts from, named by its describe(): {"amortized_q", "hmc", "q_star_diagonal",
  /// "q_star_full_covariance", "local_flow", "ais_from_prior", "ais_from_encoder_q",
  /// "importance_sampling_from_encoder_q"} (for the JSON `configuration`).
  nlohmann::ordered_json starts_json() const;
  /// The exact log p(x) line, then Markdown tables with a row per budget (each cell the mean over
  /// datapoints ± its standard error across them): total variation, mean error, exact KL, and the
  /// log p(x) errors.
  std::string to_markdown() const;
};

/// For the datapoints X (columns) of a model with latent dimension 2 and the encoder's q(z|x):
///   the truth by quadrature: log p(x), E[z|x], Cov[z|x] and the cell masses P_g of p(z|x) on a
///     grid of grid_nodes² nodes, E[z|x] ± grid_half_width posterior sd per axis;
///   for each budget N (decoder evaluations per datapoint) and each method, run with the settings
///     N buys (n/a when it buys nothing), per datapoint:
///     - binned TV = ½ Σ_bins |A_bin - P_bin| (+ the outside bin): A the approximation's cell masses
///       (density x cell area) for q, q*_diagonal, q*_full, the local flow and the amortized q; the
///       histogram of its draws for HMC (and, for comparison, of as many independent exact draws);
///     - mean error ‖L⁻¹(m - E[z|x])‖ and covariance error ‖L⁻¹ C L⁻ᵀ - I‖_F (L Lᵀ = Cov[z|x]), with
///       m, C from vi_draws draws of q (free) or from HMC's draws;
///     - KL(q‖p(z|x)) by quadrature for the variational families;
///     - log p̂(x) - log p(x) of AIS from the prior, AIS from q, and importance sampling from q.
/// Bias: log p(x), E[z|x], Cov[z|x] and the KLs are exact up to the quadrature tolerance; the binned
/// TV of densities is a lower bound on their TV (binning merges differences); the TV and moment
/// errors from draws are biased upward by the draws' noise (compare HMC with the iid exact draws of
/// the same number); AIS and importance sampling are stochastic lower bounds, so their errors are
/// biased low (E[log p̂(x)] <= log p(x)), and mean |error| is biased upward by their noise.
/// Randomness: datapoint b's draws come from `streams` (one per datapoint): the method of each budget
/// row uses substream 16 · budget + k (k = 1 HMC, 2 q*_diagonal, 3 q*_full, 4 local flow, 5 AIS from
/// the prior, 6 AIS from q, 7 importance sampling), the amortized q substream 0 and the iid exact
/// draws purpose exact_posterior_sampling of the streams' own substream, so a datapoint's row does
/// not depend on the other datapoints, budgets or methods, nor on the thread count (HMC's divergences
/// and max R-hat in `details` are totals over the datapoints). Throws std::invalid_argument on
/// inconsistent shapes or options (options.validate()) or a latent dimension other than 2.
/// `progress` gets one status line per budget and method (the methods' own runs stay quiet, so
/// that line stays readable).
HmcVsVi compute_hmc_vs_vi(const GenerativeModel& model, const DiagonalGaussian& encoder_q, const MatrixF& X,
                          const HmcVsViOptions& options, const RandomStreams& streams,
                          const ProgressReporter& progress = quiet_progress());

/// As above with an amortized q that need not be Gaussian (the encoder pushed through a flow):
/// `amortized_q` is measured in the amortized row, gives HMC's starting draws (HmcStart::encoder),
/// is AIS from q's initial distribution (through its ∇_z log q, log_density_with_gradient) and
/// importance sampling's proposal; `encoder_q`, the encoder's Gaussian before the flow
/// (amortized_q itself without one), is where q* (a Gaussian family) and the local flow start.
/// Both cover the columns of X.
HmcVsVi compute_hmc_vs_vi(const GenerativeModel& model, const PosteriorApproximation& amortized_q,
                          const DiagonalGaussian& encoder_q, const MatrixF& X, const HmcVsViOptions& options,
                          const RandomStreams& streams, const ProgressReporter& progress = quiet_progress());

}  // namespace vigap
