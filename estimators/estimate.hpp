#pragma once
// The result every estimator returns: a value per datapoint, its Monte Carlo error, the mean.
#include <nlohmann/json.hpp>
#include <string>

#include "core/types.hpp"
#include "estimators/bias_direction.hpp"

namespace vigap {

/// An estimate of a per-datapoint quantity (log p(x), an ELBO, a KL, ...) over a batch.
///
/// value is the mean over datapoints of per_datapoint. Two standard errors are reported:
/// monte_carlo_standard_error = sqrt(Σ_b se_b²) / B is the error of `value` due to the
/// estimator's own randomness (what "agrees with the truth within its error" uses), and
/// dataset_standard_error = sd_b(per_datapoint) / sqrt(B) is the spread across datapoints
/// (what a test-set mean is quoted with).
struct Estimate {
  std::string estimator;                 ///< e.g. "iwae", "ais", "quadrature"
  BiasDirection bias_direction = BiasDirection::unbiased;  ///< for the quantity `value` is quoted for
  std::string bias_note;                 ///< what more there is to say, e.g. "E[p̂] = p(x)" (may be empty)
  double value = 0.0;
  double monte_carlo_standard_error = 0.0;
  double dataset_standard_error = 0.0;
  VectorD per_datapoint;                 ///< B values
  VectorD per_datapoint_standard_error;  ///< B Monte Carlo standard errors (0 for exact values)
  Index samples_per_datapoint = 0;       ///< samples, chains or grid nodes used per datapoint
  double seconds = 0.0;
  nlohmann::ordered_json settings = nlohmann::ordered_json::object();  ///< what produced it

  /// Fills value and both standard errors from per_datapoint and per_datapoint_standard_error.
  void summarize();
};

/// The per-datapoint difference a_b - b_b of two independent estimates over the same datapoints,
/// with Monte Carlo standard errors sqrt(se_a,b² + se_b,b²) (independent streams), summarized: its
/// dataset_standard_error is then the paired standard error of the mean difference.
/// samples_per_datapoint is the larger of the two. An estimate without per-datapoint standard errors
/// counts as exact (errors 0). Throws std::invalid_argument when they cover different numbers of
/// datapoints or an estimate's standard errors do not match its values.
/// bias_direction is the caller's statement for the difference (see bias_of_difference), with an
/// optional note.
Estimate difference_of_estimates(const Estimate& a, const Estimate& b, const std::string& estimator,
                                 BiasDirection bias_direction, const std::string& bias_note = "");

/// {"estimator", "bias_direction" (to_string), "bias_note", "value", "monte_carlo_standard_error", "dataset_standard_error",
///  "num_datapoints", "samples_per_datapoint", "settings", ["per_datapoint", "per_datapoint_standard_error"]};
/// a standard error that cannot be estimated (NaN, e.g. from one sample) is written as null;
/// seconds go to the caller's "timings" so results stay byte-identical across runs.
nlohmann::ordered_json to_json(const Estimate& estimate, bool include_per_datapoint);

}  // namespace vigap
