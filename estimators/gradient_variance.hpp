#pragma once
// The variance of a VAE objective's Monte Carlo estimate and of its gradient estimators (encoder
// and decoder parameters separately), and the gradient signal-to-noise ratio of Rainforth et al.
// (2018), "Tighter variational bounds are not necessarily better".
#include <nlohmann/json.hpp>

#include "core/models/trainable_decoder.hpp"
#include "core/random.hpp"
#include "core/random_streams.hpp"
#include "core/training/vae_objective.hpp"
#include "core/variational/trainable_encoder.hpp"
#include "estimators/estimate.hpp"

namespace vigap {

/// Settings of estimate_gradient_variance.
struct GradientVarianceOptions {
  /// The estimator under study: ELBO (S samples, analytic or Monte Carlo KL) or IWAE (K samples),
  /// and the encoder-gradient estimator (reparameterized, sticking the landing, doubly
  /// reparameterized). kl_weight should stay 1 (the true bound). Default: single-sample ELBO,
  /// analytic KL, reparameterized gradient.
  VaeObjectiveOptions objective;
  /// R, independent replicates of the estimate per datapoint (>= 4: variances, their errors).
  Index replicates = 100;
  /// Whether to compute the statistics of the encoder gradient ∂f/∂φ (default yes).
  bool encoder_gradient = true;
  /// Whether to compute the statistics of the decoder gradient ∂f/∂θ (default yes).
  bool decoder_gradient = true;
  /// Throws std::invalid_argument naming the option when a value is out of range.
  void validate() const;
};

/// Statistics, over R replicates per datapoint, of one gradient estimator ĝ ∈ R^P (the gradient of
/// the single-datapoint objective f_b with respect to one network's parameters), each an Estimate
/// whose per_datapoint values are averaged over datapoints:
///   total_variance  tr Cov[ĝ] = Σ_i s_i², s_i² the unbiased sample variance of coordinate i
///                   (unbiased). Per-datapoint Monte Carlo error from the paired estimator
///                   (1/m) Σ_j ½‖ĝ_{2j} - ĝ_{2j+1}‖² (m = ⌊R/2⌋), which uses half the information:
///                   conservative, by about √2 for Gaussian gradients.
///   mean_snr        (1/P') Σ_i |ḡ_i| / s_i, over the P' coordinates with s_i > 0: Rainforth et
///                   al.'s SNR |E ĝ_i| / sd(ĝ_i) averaged over parameters. Biased upward near 0:
///                   a coordinate with E ĝ_i = 0 reads about sqrt(2/π)/sqrt(R) (the noise floor).
///   median_snr      the median over those coordinates of |ḡ_i| / s_i (same floor).
///   mean_squared_norm  ‖ḡ‖² - tr Cov/R, an unbiased estimate of ‖E ĝ‖².
/// The SNR summaries carry no per-datapoint Monte Carlo error (NaN, written null); their
/// dataset_standard_error (spread over datapoints / sqrt(B)) contains it.
struct GradientStatistics {
  bool computed = false;
  Index num_parameters = 0;
  Estimate total_variance, mean_snr, median_snr, mean_squared_norm;
};

/// What estimate_gradient_variance returns.
struct GradientVarianceResult {
  /// The objective estimate f̂_b itself: its mean over replicates (an ELBO or IWAE_K value, lower
  /// bound on log p(x); error sqrt(s²/R)) and its variance s² over replicates (unbiased; error
  /// sqrt((m₄ - s⁴ (R-3)/(R-1)) / R), m₄ the fourth central sample moment).
  Estimate objective_mean, objective_variance;
  GradientStatistics encoder, decoder;
  /// The settings that produced it (objective, samples, kl, encoder gradient, replicates).
  nlohmann::ordered_json settings;
  double seconds = 0.0;
};

/// For each datapoint x_b (column of X), draws R independent noise matrices ε_r (d x S) and
/// evaluates the single-datapoint objective f̂_b(ε_r) of vae_objective with its gradients
/// ĝ_r = ∂f̂_b/∂φ (encoder, by options.objective.encoder_gradient) and ∂f̂_b/∂θ (decoder), then
/// summarizes them as GradientStatistics. Datapoint b uses streams' StreamPurpose::gradient_variance
/// generator of b, so results depend neither on the number of threads nor on the other datapoints
/// of X, and calls with the same streams see the same noise (common random numbers). Runs
/// datapoints in parallel (OpenMP).
/// Throws std::invalid_argument for invalid options or mismatched shapes.
GradientVarianceResult estimate_gradient_variance(const TrainableEncoder& encoder, const TrainableDecoder& decoder,
                                                  const MatrixF& X, const GradientVarianceOptions& options,
                                                  const RandomStreams& streams);

/// As above with the single stream rng (the draws of earlier versions: they depend on the batch).
GradientVarianceResult estimate_gradient_variance(const TrainableEncoder& encoder, const TrainableDecoder& decoder,
                                                  const MatrixF& X, const GradientVarianceOptions& options, Rng& rng);

/// {"settings", "objective_mean", "objective_variance", "encoder": {"num_parameters", "total_variance",
///  "mean_snr", "median_snr", "mean_squared_norm"}, "decoder": {...}} (a gradient not computed is
/// omitted); seconds are left to the caller's "timings".
nlohmann::ordered_json to_json(const GradientVarianceResult& result, bool include_per_datapoint);

}  // namespace vigap
