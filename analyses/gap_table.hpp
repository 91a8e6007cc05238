#pragma once
// The ELBO-gap table of Cremer, Li & Duvenaud (2018), "Inference suboptimality in variational
// autoencoders", as a library function.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/models/generative_model.hpp"
#include "core/progress_reporter.hpp"
#include "core/random_streams.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/local_flow_optimization.hpp"
#include "core/variational/local_gaussian_optimization.hpp"
#include "core/variational/posterior_family.hpp"
#include "estimators/adaptive_quadrature.hpp"
#include "estimators/annealed_importance_sampling.hpp"
#include "estimators/estimate.hpp"
#include "estimators/gap_decomposition.hpp"

namespace vigap {

/// How log p(x) is computed.
enum class LogMarginalMethod {
  automatic,   ///< quadrature when the latent dimension is <= 3, else AIS
  quadrature,  ///< exact (adaptive quadrature, latent dimension <= 3)
  ais,         ///< annealed importance sampling from the prior (a stochastic lower bound)
};
/// "auto", "quadrature", "ais"; parse throws std::invalid_argument naming `option`.
LogMarginalMethod parse_log_marginal_method(const std::string& text, const std::string& option);
std::string to_string(LogMarginalMethod method);

/// Where each q* fit starts.
enum class QStarStart {
  encoder,  ///< the encoder's q(z|x) (the default: q*_FFG then contains the amortized q)
  prior,    ///< N(0, I), as Cremer et al.
};
/// "encoder", "prior"; parse throws std::invalid_argument naming `option`.
QStarStart parse_qstar_start(const std::string& text, const std::string& option);
std::string to_string(QStarStart start);

/// Settings of compute_gap_table.
struct GapTableOptions {
  /// The q* rows, in registry order (ffg, full, flow); the amortized row is always there.
  std::vector<PosteriorFamily> families = local_posterior_families();
  LogMarginalMethod log_px = LogMarginalMethod::automatic;
  QStarStart init = QStarStart::encoder;
  /// Samples of each final ELBO when the latent dimension is > 3 (>= 2, for a standard error);
  /// at <= 3 the ELBOs are exact, by quadrature.
  Index eval_samples = 5000;
  AisOptions ais;                     ///< log p(x) by AIS
  QuadratureOptions quadrature;       ///< log p(x) and the ELBOs by quadrature
  LocalOptimizationOptions gaussian;  ///< q*_FFG and q*_full (its `family` is set per row)
  LocalFlowOptions flow;              ///< q*_flow

  /// Throws std::invalid_argument naming the option (every check that needs no model).
  void validate() const;
  /// validate(), and the quadrature's options for this latent dimension (it needs <= 3).
  void validate(Index latent_dim) const;
  /// Whether log p(x) is computed by quadrature for this latent dimension.
  bool uses_quadrature(Index latent_dim) const;
  /// Every setting that shapes the results, for the JSON `configuration`.
  nlohmann::ordered_json to_json(Index latent_dim) const;
};

/// One q* family's row.
struct GapTableRow {
  PosteriorFamily family = PosteriorFamily::ffg;
  std::string approximation;  ///< q*'s describe()
  Estimate elbo;              ///< L[q*_F]
  Estimate approximation_gap, amortization_gap;
  double identity_max_abs_error = 0.0;  ///< max |inference - (approximation + amortization)|
  nlohmann::ordered_json optimization;  ///< steps, stopping, start-or-best selection, check noise
  /// Per datapoint: the standard error of the check its stopping decision was made on (the
  /// stopping rule's noise; NaN where a family has none), summarized in
  /// optimization.check_standard_error_at_decision.
  VectorD check_standard_error;
  std::string optimization_summary;     ///< "1200 steps, 48/50 stopped by rule"
  double optimization_seconds = 0.0, elbo_seconds = 0.0;
};

/// The table: log p(x), the amortized row and one row per family.
struct GapTable {
  std::string model;                   ///< the model's describe()
  std::string amortized_name;          ///< "amortized FFG (encoder)", ...
  std::string amortized_approximation; ///< its describe()
  bool log_px_by_quadrature = false;
  bool exact_elbos = false;            ///< ELBOs by quadrature (latent dimension <= 3)
  QStarStart init = QStarStart::encoder;
  Index eval_samples = 0;
  Estimate log_px;
  Estimate amortized_elbo;
  Estimate inference_gap;
  std::vector<GapTableRow> rows;
  double log_px_seconds = 0.0, amortized_elbo_seconds = 0.0, seconds = 0.0;

  /// {"log_px", "amortized": {...}, "<family>": {...}, ...}: the JSON `results` (timings apart;
  /// per_datapoint adds every datapoint's values).
  nlohmann::ordered_json results_json(bool per_datapoint) const;
  /// {"log_px_seconds", "amortized_elbo_seconds", "<family>_optimization_seconds", ...}.
  nlohmann::ordered_json timings_json() const;
  /// The table as Markdown, with the log p(x) line above it and the identity checks below.
  std::string to_markdown() const;
};

/// For the datapoints X (columns) of a model with an amortized approximation:
///   log p(x) by quadrature or AIS, L[q_amortized], and for each family F the per-datapoint fit
///   q*_F (from `encoder_q` or N(0, I); q*_flow from q*_FFG when that row was fitted) and L[q*_F];
///   then per datapoint approximation gap_F = log p(x) - L[q*_F], amortization gap_F =
///   L[q*_F] - L[q_amortized], inference gap = log p(x) - L[q_amortized] (decompose_gaps).
/// Bias: exact with quadrature throughout (latent dim <= 3); with AIS log p(x) the approximation
/// and inference gaps are biased low (AIS is a stochastic lower bound), the amortization gap
/// unbiased. Randomness: datapoint b's draws come from `streams` (one per datapoint), substream 0
/// for log p(x) and the amortized row, 1 / 2 / 3 for the ffg / full / flow rows, so a row does
/// not depend on the other datapoints, the other rows or the thread count.
/// `amortized` is evaluated as given (e.g. the encoder's Gaussian through a global flow);
/// `encoder_q` is the encoder's Gaussian, the start of the q* fits. Throws std::invalid_argument
/// on inconsistent shapes or options. first_datapoint (the dataset index of column 0) numbers the
/// datapoints the quadrature reports over its tolerance (stderr and JSON). `progress` gets one
/// line per stage and the status lines of AIS, the q* fits and the ELBO estimates.
GapTable compute_gap_table(const GenerativeModel& model, const PosteriorApproximation& amortized,
                           const std::string& amortized_name, const DiagonalGaussian& encoder_q, const MatrixF& X,
                           const GapTableOptions& options, const RandomStreams& streams, Index first_datapoint = 0,
                           const ProgressReporter& progress = quiet_progress());

}  // namespace vigap
