#pragma once
// The estimator-variance study as a library function: is a single-sample ELBO estimate good
// enough? The variance of the ELBO estimate and of its encoder/decoder gradients against the
// sample count S, and the gradient signal-to-noise ratio of IWAE-K against K (Rainforth et al.
// 2018; sticking the landing, Roeder et al. 2017; DReG, Tucker et al. 2018).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/models/trainable_decoder.hpp"
#include "core/progress_reporter.hpp"
#include "core/random_streams.hpp"
#include "core/training/vae_objective.hpp"
#include "core/variational/trainable_encoder.hpp"
#include "estimators/gradient_variance.hpp"

namespace vigap {

/// Settings of compute_estimator_variance_study.
struct EstimatorVarianceStudyOptions {
  /// The ELBO sample counts S of the first sweep: increasing, >= 1, at least one.
  std::vector<Index> elbo_samples{1, 2, 5, 10, 50, 100};
  /// The IWAE sample counts K of the second sweep: increasing, >= 1; empty skips the sweep.
  std::vector<Index> iwae_samples{1, 5, 10, 50, 100, 1000};
  /// Datapoints of the IWAE sweep: the first ones of the ELBO sweep's (0: all of them; K = 1000
  /// costs as much as the whole ELBO sweep per datapoint). >= 0.
  Index iwae_datapoints = 25;
  /// R, independent replicates of each estimate per datapoint (>= 4).
  Index replicates = 100;

  /// Throws std::invalid_argument naming the option (--samples, --iwae-samples,
  /// --iwae-num-datapoints, --replicates).
  void validate() const;
  /// Datapoints of the IWAE sweep out of num_datapoints: min(iwae_datapoints, num_datapoints), or all.
  Index iwae_count(Index num_datapoints) const;
  /// The SNR a parameter with zero mean gradient reads: E|mean| / sd = sqrt(2 / (π R)).
  double snr_noise_floor() const;
  /// Every setting that shapes the results, and how to read them, for the JSON `configuration`.
  nlohmann::ordered_json to_json(Index num_datapoints) const;
};

/// One estimator of the study: its key in the JSON, label, objective and which gradients it measures.
struct EstimatorVariant {
  std::string key, label;
  TrainingObjective objective;
  KlEstimator kl;
  EncoderGradient gradient;
  bool decoder;  ///< whether its decoder gradient is measured (reported once per sweep)
};

/// The ELBO sweep's estimators: analytic KL, Monte Carlo KL (both reparameterized) and STL.
const std::vector<EstimatorVariant>& elbo_variance_variants();
/// The IWAE sweep's estimators: reparameterized, STL (biased), DReG.
const std::vector<EstimatorVariant>& iwae_variance_variants();

/// One sweep over sample counts: results[i][v] for count i and variant v.
struct EstimatorVarianceSweep {
  std::string letter;  ///< "S" or "K"
  std::vector<Index> counts;
  std::vector<EstimatorVariant> variants;
  std::vector<std::vector<GradientVarianceResult>> results;
  double seconds = 0.0;

  /// [{letter: count, variant key: to_json(result) + "label"}, ...] over the counts.
  nlohmann::ordered_json to_json(bool per_datapoint) const;
  /// {"<variant key>_<letter><count>_seconds": ...}.
  nlohmann::ordered_json timings_json() const;
  /// Over the counts: variant v's `field` of its encoder (or decoder) gradient statistics, the
  /// value or (error) its dataset standard error.
  std::vector<double> gradient_values(size_t variant, const Estimate GradientStatistics::*field, bool decoder,
                                      bool error) const;
  /// Over the counts: variant v's variance of the objective estimate, value or dataset standard error.
  std::vector<double> objective_variances(size_t variant, bool error) const;
};

/// A least-squares log-log slope of the study (descriptive, no standard error).
struct LogLogSlope {
  std::string name;  ///< "elbo_variance_analytic_kl_vs_S", ...
  double value;      ///< NaN with fewer than two positive finite points (written null)
};

/// The study's results.
struct EstimatorVarianceStudy {
  std::string model;  ///< the decoder's describe()
  Index num_datapoints = 0, iwae_datapoints = 0, replicates = 0;
  Index encoder_parameters = 0, decoder_parameters = 0;
  double snr_noise_floor = 0.0;
  EstimatorVarianceSweep elbo, iwae;  ///< iwae has no counts when its sweep was skipped
  std::vector<LogLogSlope> log_log_slopes;
  double seconds = 0.0;

  /// {"elbo_vs_samples", "iwae_vs_samples" (when it ran), "log_log_slopes"}: the JSON `results`.
  nlohmann::ordered_json results_json(bool per_datapoint) const;
  /// {"elbo_sweep_seconds", "iwae_sweep_seconds", "total_seconds", "elbo_sweep": {...}, "iwae_sweep": {...}}.
  nlohmann::ordered_json timings_json() const;
  /// The tables (mean over datapoints ± dataset standard error) and the slopes, as Markdown.
  std::string to_markdown() const;
};

/// Least-squares slope b of log y_i = a + b log x_i over the points with y_i > 0 finite
/// (NaN with fewer than two of them).
double log_log_slope(const std::vector<Index>& xs, const std::vector<double>& ys);

/// For the datapoints X (columns) of a VAE with a Gaussian encoder, with R replicates per
/// datapoint (estimate_gradient_variance):
///   vs S: Var[ELBO estimate] s² (unbiased) for the analytic and the Monte Carlo KL, and
///     tr Cov[ĝ] (unbiased) and the mean SNR (1/P) Σ_i |E ĝ_i| / sd(ĝ_i) (biased upward near 0:
///     the noise floor sqrt(2/(πR))) of the encoder gradient (reparameterized with either KL form,
///     and STL) and of the decoder gradient (the same for all three, reported once);
///   vs K, on the first iwae_count datapoints: the same for IWAE-K with the reparameterized, STL
///     (a biased gradient) and DReG encoder gradients; IWAE_K itself is a lower bound on log p(x);
///   and the log-log slopes (least squares) of the main curves: 1/S gives -1, Rainforth et al.
///     predict -1/2 for the encoder SNR against K and +1/2 for the decoder's.
/// Every value is the mean over datapoints of per-datapoint statistics, with the dataset standard
/// error (spread / sqrt(N)) and the replicates' Monte Carlo error. Randomness: substream
/// (sweep << 32 | count) of `streams` (one stream per datapoint; sweep 0 for S, 1 for K), the same
/// for every variant of one count (common random numbers), so a count's results depend neither on
/// the other counts, the other datapoints nor the thread count. Throws std::invalid_argument on
/// bad options or shapes. `progress` gets a status line per count and variant. It is the assembly
/// of one block (analyses/estimator_variance_block.hpp): a run split into blocks gives the same bits.
EstimatorVarianceStudy compute_estimator_variance_study(const TrainableEncoder& encoder, const TrainableDecoder& decoder,
                                                        const MatrixF& X, const EstimatorVarianceStudyOptions& options,
                                                        const RandomStreams& streams,
                                                        const ProgressReporter& progress = quiet_progress());

}  // namespace vigap
