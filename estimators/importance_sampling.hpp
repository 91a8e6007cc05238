#pragma once
// Importance-sampled marginal likelihood log p̂(x) = log (1/K) Σ_k p(x, z_k) / q(z_k), z_k ~ q.
#include "core/models/generative_model.hpp"
#include "core/progress_reporter.hpp"
#include "core/random.hpp"
#include "core/variational/posterior_approximation.hpp"
#include "estimators/estimate.hpp"
#include "estimators/importance_weights.hpp"

namespace vigap {

/// Settings of estimate_log_marginal_likelihood_by_importance_sampling.
struct ImportanceSamplingOptions {
  /// K, importance samples per datapoint (>= 2 for a standard error; any size, chunked).
  Index samples = 5000;
  /// Memory bound: latent columns (datapoints x samples) per model call (>= 1).
  Index max_latent_columns_per_call = kDefaultMaxLatentColumnsPerCall;
  /// Throws std::invalid_argument naming the option when a value is out of range.
  void validate() const;
};

/// The log p(x) estimate and the quality of its weights.
struct ImportanceSamplingResult {
  /// log p̂(x_b) per datapoint, with delta-method standard errors.
  Estimate log_marginal_likelihood;
  /// (Σw)² / Σw² per datapoint, in [1, K]; small values flag an unreliable estimate (and
  /// standard error).
  VectorD effective_sample_size;
};

/// log p̂(x_b) = log (1/K) Σ_k w_k, w_k = p(x_b, z_k) / q(z_k), z_k ~ q(z | x_b) for any proposal
/// with a density (the same weights and random stream as estimate_iwae_bound with R = 1).
/// Standard error by the delta method: se(mean w) / mean w = sqrt((K / ESS - 1) / (K - 1)),
/// computed from log Σw and log Σw² (stable for any scale of w); NaN when K = 1.
/// Bias direction: stochastic lower bound (E[p̂] = p(x), so E[log p̂] <= log p(x) by Jensen; the
/// bias is about se²/2 for well-behaved weights). Throws std::invalid_argument for invalid
/// options, a proposal without density, or mismatched shapes.
/// Randomness: datapoint b's samples come from streams' StreamPurpose::importance_sampling
/// generator of b. `progress` gets the sweep's status line.
ImportanceSamplingResult estimate_log_marginal_likelihood_by_importance_sampling(
    const GenerativeModel& model, const PosteriorApproximation& proposal, const MatrixF& X,
    const ImportanceSamplingOptions& options, const RandomStreams& streams, const ProgressReporter& progress = quiet_progress());

/// As above with the single stream rng (the draws of earlier versions: they depend on the batch).
ImportanceSamplingResult estimate_log_marginal_likelihood_by_importance_sampling(
    const GenerativeModel& model, const PosteriorApproximation& proposal, const MatrixF& X,
    const ImportanceSamplingOptions& options, Rng& rng, const ProgressReporter& progress = quiet_progress());

}  // namespace vigap
