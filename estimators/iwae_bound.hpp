#pragma once
// The importance-weighted bound IWAE_K = E[log (1/K) Σ_k p(x, z_k) / q(z_k|x)] (Burda et al. 2015).
#include "core/models/generative_model.hpp"
#include "core/progress_reporter.hpp"
#include "core/random.hpp"
#include "core/variational/posterior_approximation.hpp"
#include "estimators/estimate.hpp"
#include "estimators/importance_weights.hpp"

namespace vigap {

/// Settings of estimate_iwae_bound.
struct IwaeBoundOptions {
  /// K, importance samples per replicate (>= 1; any size: memory stays bounded by chunking).
  Index samples = 5000;
  /// R, independent replicates per datapoint (>= 1). R = 1: the standard error is the delta
  /// method over the K weights; R >= 2: the spread of the R replicate values.
  Index replicates = 1;
  /// Memory bound: latent columns (datapoints x samples) per model call (>= 1).
  Index max_latent_columns_per_call = kDefaultMaxLatentColumnsPerCall;
  /// Throws std::invalid_argument naming the option when a value is out of range.
  void validate() const;
};

/// IWAE_K per datapoint: the mean over R replicates r of log (1/K) Σ_k w_{r,k},
/// w = p(x_b, z) / q(z|x_b), z ~ q(z|x_b); the R·K draws come from one sweep_log_weights
/// stream (replicate r = samples rK ... rK+K-1), so the result does not depend on
/// max_latent_columns_per_call. Log-sum-exp runs in double across chunks.
///
/// Per-datapoint Monte Carlo standard error:
///   R >= 2: sd_r / sqrt(R) over the replicate values (honest even for heavy-tailed weights);
///   R = 1:  the delta method, se(mean w) / mean w = sqrt((K Σw²/(Σw)² - 1) / (K - 1)), from the
///           running log Σw and log Σw² (no weights stored, so any K streams in O(B) memory;
///           the jackknife over the K weights agrees with it to first order but needs all K
///           weights kept). Like any weight-based error it underestimates when the weights are
///           heavy-tailed (small ESS); use R >= 2 then. NaN when K = 1.
/// The standard error is the estimator's noise; its bias (log p(x) - IWAE_K, O(1/K)) is not in it.
/// Bias direction: lower bound on log p(x); increases with K (ELBO = IWAE_1 <= IWAE_K <= IWAE_2K).
/// Randomness: datapoint b's samples come from streams' StreamPurpose::iwae generator of b.
/// `progress` gets the sweep's status line.
Estimate estimate_iwae_bound(const GenerativeModel& model, const PosteriorApproximation& approximation,
                             const MatrixF& X, const IwaeBoundOptions& options, const RandomStreams& streams, const ProgressReporter& progress = quiet_progress());

/// As above with the single stream rng (the draws of earlier versions: they depend on the batch).
Estimate estimate_iwae_bound(const GenerativeModel& model, const PosteriorApproximation& approximation,
                             const MatrixF& X, const IwaeBoundOptions& options, Rng& rng, const ProgressReporter& progress = quiet_progress());

}  // namespace vigap
