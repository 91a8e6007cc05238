#pragma once
// The aggregate-posterior report as a library function: does the prior p(z) = N(0, I) match the
// aggregate posterior q(z) = (1/N) Σ_n q(z|x_n) of an encoder, on each split of a dataset? The
// ELBO's average KL term, the index-code mutual information, KL(q(z) ‖ p(z)), the residual of
// Hoffman & Johnson's identity, the active units, and (2-D latents) q(z) on a picture grid.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/progress_reporter.hpp"
#include "core/random.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "estimators/active_units.hpp"
#include "estimators/aggregate_posterior_decomposition.hpp"

namespace vigap {

/// How the decomposition is computed.
enum class AggregatePosteriorMethod {
  automatic,    ///< latent dimension <= 2: quadrature with a Monte Carlo check; else Monte Carlo
  quadrature,   ///< exact, latent dimension <= 2
  monte_carlo,  ///< Monte Carlo with standard errors, any dimension
};
/// "auto", "quadrature", "monte-carlo"; parse throws std::invalid_argument naming `option`.
AggregatePosteriorMethod parse_aggregate_posterior_method(const std::string& text, const std::string& option);
std::string to_string(AggregatePosteriorMethod method);

/// Settings of compute_aggregate_posterior_report. The messages of validate() name the options
/// of vigap-aggregate-posterior.
struct AggregatePosteriorReportOptions {
  AggregatePosteriorMethod method = AggregatePosteriorMethod::automatic;  ///< --method
  /// The grid of the quadrature (its defaults; --nodes-per-sd, --box-half-width, --max-grid-nodes).
  AggregateQuadratureOptions quadrature;
  /// Monte Carlo: 2 draws per outer component, 10000 outer components drawn without replacement
  /// (all when there are fewer; --mc-samples, --mc-outer-points).
  AggregateMonteCarloOptions monte_carlo = default_monte_carlo();
  /// A unit is active if Cov_x(E_q[z_j|x]) exceeds this (Burda et al. 2015: 0.01; --active-threshold).
  double active_threshold = 0.01;
  /// Nodes per axis of the 2-D picture grid (>= 11; --picture-grid-nodes).
  Index picture_grid_nodes = 121;

  static AggregateMonteCarloOptions default_monte_carlo();
  /// Throws std::invalid_argument naming the option, what was expected and what was found.
  void validate() const;
  /// Whether the quadrature / Monte Carlo rows are computed for this latent dimension.
  bool uses_quadrature(Index latent_dim) const;
  bool uses_monte_carlo() const;
  /// {"method", "quadrature", "monte_carlo", "active_threshold", "picture_grid_nodes", "prior"}:
  /// the JSON `configuration` entries of the report.
  nlohmann::ordered_json to_json() const;
};

/// One split's encoder outputs: q(z|x_n) for its N datapoints (columns), N >= 2.
struct EncodedSplit {
  std::string split;         ///< "test", "train", ...
  std::string dataset_name;  ///< the dataset's name, for the JSON
  DiagonalGaussian q;
};

/// Everything computed for one split.
struct AggregatePosteriorSplitReport {
  std::string split, dataset_name;
  Index num_datapoints = 0;
  ActiveUnits units;
  VectorD mean_kl_to_prior_per_unit;  ///< ½ (1/N) Σ_n (μ_nj² + σ_nj² - 1 - log σ_nj²), exact
  double mean_kl_to_prior = 0.0;      ///< (1/N) Σ_n KL(q(z|x_n) ‖ p(z)), exact
  double component_standard_deviation_min = 0.0, component_standard_deviation_max = 0.0;
  std::optional<AggregatePosteriorDecomposition> quadrature, monte_carlo;
  /// Latent dimension 2: log of q's mean density over each picture-grid cell, n x n (entry (i, j)
  /// at (z1[i], z2[j]); underflow clamped to log 1e-300). Empty otherwise.
  MatrixD picture_log_density;

  /// The quadrature decomposition when there is one, else the Monte Carlo one.
  const AggregatePosteriorDecomposition& decomposition() const { return quadrature ? *quadrature : *monte_carlo; }
};

/// The report over every split.
struct AggregatePosteriorReport {
  Index latent_dim = 0;
  double active_threshold = 0.0;
  std::vector<AggregatePosteriorSplitReport> splits;
  /// Latent dimension 2: the picture grid's nodes (a square box centred on 0), else empty.
  VectorD picture_z1, picture_z2;

  /// {"splits": {"<split>": {"dataset", "num_datapoints", ..., "quadrature", "monte_carlo",
  /// "picture_log_density"}}, "picture_grid"}: the JSON `results` (seconds apart).
  nlohmann::ordered_json results_json() const;
  /// {"<split>": {"quadrature_seconds", "monte_carlo_seconds"}}.
  nlohmann::ordered_json timings_json() const;
  /// The table (one row per split and method: mean KL, I[n;z], KL(q(z)‖p(z)), the identity's
  /// residual, H[q(z)], active units), a note on the errors and each split's unit activities.
  std::string to_markdown() const;
};

/// For each split's encoder outputs q(z|x_n), n = 1..N (diagonal Gaussians; p(z) = N(0, I)):
///   mean KL = (1/N) Σ_n KL(q(z|x_n) ‖ p(z))   (analytic, per unit too),
///   I[n; z] = (1/N) Σ_n E_{q(z|x_n)}[log q(z|x_n) - log q(z)]   (<= log N),
///   KL(q(z) ‖ p(z)) = E_{q(z)}[log q(z) - log p(z)],   H[q(z)],
///   residual = I + KL(q(z) ‖ p(z)) - mean KL   (0 up to the computation's error),
/// each term computed on its own (aggregate_posterior_decomposition_by_quadrature /
/// _by_monte_carlo), the active units A_j = Cov_n(μ_nj) > active_threshold, and for latent
/// dimension 2 the cell-averaged log q(z) on a square picture grid: the prior's ±3.5 box widened
/// to the 0.1% / 99.9% quantiles of every split's μ_nj ∓ 2 σ_nj.
/// Bias: quadrature rows exact (their error estimates bound the error); Monte Carlo rows
/// unbiased, with standard errors. Randomness: split s (in the given order) takes the stream
/// split_rng(rng) and its Monte Carlo row the stream split_rng of that. Throws
/// std::invalid_argument for bad options, quadrature above latent dimension 2, no splits, splits
/// of differing latent dimension or fewer than 2 datapoints. `progress` gets one status line per
/// split and stage.
AggregatePosteriorReport compute_aggregate_posterior_report(const std::vector<EncodedSplit>& splits,
                                                            const AggregatePosteriorReportOptions& options, Rng& rng,
                                                            const ProgressReporter& progress = quiet_progress());

}  // namespace vigap
