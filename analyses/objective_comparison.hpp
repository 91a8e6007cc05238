#pragma once
// The objective comparison as a library function: does training by the ELBO hold the generative
// model back? One decoder family trained by the ELBO, IWAE-K and the exact marginal likelihood,
// each model then measured exactly (quadrature, latent dimension <= 3): log p(x), its amortized
// q's ELBO and KL, and the gaps of Cremer, Li & Duvenaud (2018).
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/io/vae_checkpoint.hpp"
#include "core/progress_reporter.hpp"
#include "core/random.hpp"
#include "core/random_streams.hpp"
#include "core/training/exact_marginal_likelihood_objective.hpp"
#include "core/training/vae_trainer.hpp"
#include "core/variational/local_gaussian_optimization.hpp"
#include "core/variational/posterior_family.hpp"
#include "estimators/adaptive_quadrature.hpp"
#include "estimators/estimate.hpp"

namespace vigap {

/// One training objective of the comparison.
struct ComparedObjective {
  enum class Kind { elbo, iwae, exact };
  Kind kind = Kind::elbo;
  Index samples = 1;  ///< K of IWAE, 1 otherwise
  std::string name;   ///< "elbo", "iwae-5", "exact"
  std::string label;  ///< for tables and pictures: "ELBO", "IWAE-5", "exact log p(x)"
};

/// "elbo,iwae-5,iwae-50,exact" -> the objectives in the given order: elbo (one sample, analytic
/// KL), iwae-K (K >= 2), exact. Throws std::invalid_argument naming `option` for an unknown or
/// malformed objective, a duplicate or an empty list.
std::vector<ComparedObjective> parse_compared_objectives(const std::string& text, const std::string& option);

/// Whether one of `objectives` is the exact marginal likelihood.
bool has_exact_objective(const std::vector<ComparedObjective>& objectives);

/// Settings of compute_objective_comparison.
struct ObjectiveComparisonOptions {
  /// Training, the same for every objective (its `objective` is set per model, and
  /// freeze_decoder for the exact model's encoder fit). Defaults: VaeTrainerOptions' (10 epochs,
  /// batch 100, Adam 1e-3 constant, dynamic binarization); vigap-objective-comparison trains 5.
  VaeTrainerOptions trainer;
  /// The exact objective's grid (half-width 8, 128 cells per dimension, random shift).
  ExactMarginalLikelihoodObjectiveOptions grid;
  /// The q* fits (their `family` is set per row): 10 samples per step, at most 1000 steps,
  /// checks every 50, patience 4; two fits per datapoint, started from the encoder's q and from the
  /// diagonal of the exact posterior's moments, of which the higher ELBO is kept.
  LocalOptimizationOptions qstar = default_qstar();
  /// The q* rows, of supported_qstar_families() (default both).
  std::vector<PosteriorFamily> qstar_families = supported_qstar_families();
  /// The first this many test points get q* and the gap decomposition (0: no q*). >= 0.
  Index qstar_points = 50;
  /// The trajectory: after every training epoch (of the decoder, for the exact model), on the first
  /// this many test points, exact log p(x), KL(q*_ffg ‖ p(z|x)) and, for a jointly trained model,
  /// KL(q ‖ p(z|x)) of its encoder (ObjectiveComparisonEpoch). >= 0; 0 (default): not measured.
  Index trajectory_points = 0;
  /// The adaptive quadrature that measures every model (tolerance 1e-4 nats: the differences of
  /// interest are >= 0.01).
  QuadratureOptions quadrature = default_quadrature();

  /// Throws std::invalid_argument naming the option (--qstar-points, --qstar-families, and those
  /// of the trainer, the grid when an objective is exact, q* and the quadrature for latent_dim).
  void validate(Index latent_dim, const std::vector<ComparedObjective>& objectives) const;
  /// The training and measurement settings, for the JSON `configuration`: epochs, batch_size,
  /// optimizer, elbo_training, exact_training_grid, exact_model_encoder, qstar_families, qstar,
  /// quadrature.
  nlohmann::ordered_json to_json(Index latent_dim) const;

  static LocalOptimizationOptions default_qstar();
  /// The families the comparison fits (its q* options are the Gaussian ones): ffg, full.
  static std::vector<PosteriorFamily> supported_qstar_families();
  static QuadratureOptions default_quadrature();
};

/// One q* family's row for one model (on the q* subset of the test points).
struct ObjectiveComparisonQStar {
  PosteriorFamily family = PosteriorFamily::ffg;
  Estimate elbo, approximation_gap, amortization_gap;
  Index steps = 0, datapoints_stopped_by_rule = 0;  ///< over both starts
  Index datapoints_from_exact_moments = 0;  ///< datapoints whose kept fit started from the exact moments
  Index decoder_evaluations = 0;  ///< both fits', over the subset, start-or-best selection included
  double seconds = 0.0;
};

/// One point of a model's trajectory: after epoch `epoch`, on the first trajectory_points test
/// points, all by quadrature (exact to its tolerance), each the mean over those points with its
/// standard error across them:
///   log p(x);
///   KL(q*_ffg ‖ p(z|x)) = log p(x) - L[q*_ffg], q*_ffg fitted per datapoint (the comparison's q*
///   settings) from the diagonal of the exact posterior's moments, the same start for every objective;
///   KL(q ‖ p(z|x)) of the encoder when it trains with the decoder (has_amortized_kl).
/// The same random streams every epoch (common random numbers), so the curve moves with the model.
struct ObjectiveComparisonEpoch {
  int epoch = 0;
  Estimate log_px, qstar_kl, amortized_kl;
  bool has_amortized_kl = false;
};

/// Everything measured for one trained model.
struct ObjectiveComparisonModel {
  ObjectiveComparisonModel(ComparedObjective objective, Vae vae) : objective(std::move(objective)), vae(std::move(vae)) {}

  ComparedObjective objective;
  Vae vae;  ///< the trained model
  nlohmann::ordered_json training = nlohmann::ordered_json::object();  ///< per-epoch records
  nlohmann::ordered_json training_timings = nlohmann::ordered_json::object();
  Estimate train_log_px, test_log_px, train_elbo, test_elbo, test_kl;
  Estimate subset_kl;  ///< KL(q ‖ p(z|x)) = inference gap on the q* subset
  std::vector<ObjectiveComparisonQStar> qstar;
  std::vector<ObjectiveComparisonEpoch> trajectory;  ///< one per training epoch (trajectory_points > 0)
  double trajectory_seconds = 0.0;
  Estimate train_log_px_difference, test_log_px_difference;  ///< against the first objective (paired)
  double grid_mean_discrepancy = 0.0, grid_max_abs_discrepancy = 0.0;  ///< training grid - adaptive quadrature
  double grid_fraction_above_hundredth = 0.0;  ///< share of test points where |grid - adaptive| > 0.01 nats
  double posterior_sd_median = 0.0, posterior_sd_min = 0.0;  ///< narrowest posterior axis, test points
  double log_px_seconds = 0.0, amortized_kl_seconds = 0.0, evaluation_seconds = 0.0;
};

/// The comparison's results.
struct ObjectiveComparison {
  std::vector<ObjectiveComparisonModel> models;  ///< in the order of the objectives
  bool grid_checked = false;  ///< an objective is exact: the training grid is compared with the quadrature
  double grid_spacing = 0.0, grid_half_width = 0.0;
  Index train_points = 0, test_points = 0, qstar_points = 0, trajectory_points = 0;
  std::vector<PosteriorFamily> qstar_families;
  double seconds = 0.0;

  /// {"models": [{"objective", "training", "train_log_px", ..., "qstar_subset"}, ...]}: the JSON `results`.
  nlohmann::ordered_json results_json(bool per_datapoint) const;
  /// {"<objective>": {"training", "evaluation_seconds", "evaluation"}, ..., "total_seconds"}.
  nlohmann::ordered_json timings_json() const;
  /// The tables (mean over datapoints ± standard error across datapoints) and the per-model
  /// posterior-width and grid lines, as Markdown.
  std::string to_markdown() const;
};

/// Trains a copy of `initial` (an encoder and a Bernoulli decoder of latent dimension <= 3) by each
/// objective on the columns of `train` (gray values; validation on `validation`, which may have
/// no columns): elbo and iwae-K train encoder and decoder jointly; exact trains the decoder by the
/// grid estimate of log p(x), then fits its encoder by the ELBO with the decoder frozen. Every
/// model trains from a copy of `training_rng` (the same data order and binarization). Then per
/// model, all by adaptive quadrature (exact to its tolerance):
///   log p(x) on `train_points` and `test_points` (binarized evaluation data);
///   L[q] of the encoder's q on both, and KL(q ‖ p(z|x)) = log p(x) - L[q] on the test points;
///   on the first qstar_points test points, q*_F per datapoint (the better of the fits from the
///   encoder's q and from the exact posterior's diagonal moments, substreams 2 / 3 and 5 / 6) and
///   approximation gap log p(x) - L[q*_F] = KL(q*_F ‖ p(z|x)), amortization gap L[q*_F] - L[q],
///   inference gap log p(x) - L[q] (decompose_gaps);
///   the paired differences log p(x) - log p(x) of the first objective's model;
///   the narrowest posterior axis sqrt(λ_min(Cov[z|x])), and, when an objective is exact, the
///   unshifted training grid's log p(x) minus the quadrature's on the test points;
///   with trajectory_points > 0, the trajectory (ObjectiveComparisonEpoch) after every epoch.
/// Bias: exact throughout (quadrature; q*'s fit only affects how tight its ELBO is, never the
/// identity of the gaps). Randomness: `evaluation_streams` (one stream per datapoint, at least
/// max(train, test) points; datapoint b of either set uses stream b) with substream 0 for the
/// training points, 1 for the test points, 2 / 3 for the ffg / full q* rows and 4 for the trajectory.
/// Throws std::invalid_argument on bad options or shapes. `progress` gets one line per stage and
/// the status lines of the training and of the q* fits.
ObjectiveComparison compute_objective_comparison(const Vae& initial, const std::vector<ComparedObjective>& objectives,
                                                 const MatrixF& train, const MatrixF& validation,
                                                 const MatrixF& train_points, const MatrixF& test_points,
                                                 const ObjectiveComparisonOptions& options, const Rng& training_rng,
                                                 const RandomStreams& evaluation_streams,
                                                 const ProgressReporter& progress = quiet_progress());

}  // namespace vigap
