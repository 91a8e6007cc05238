#pragma once
// The evidence lower bound ELBO(q) = E_q[log p(x, z) - log q(z|x)], estimated by sampling.
#include <string>

#include "core/models/generative_model.hpp"
#include "core/progress_reporter.hpp"
#include "core/random.hpp"
#include "core/variational/posterior_approximation.hpp"
#include "estimators/estimate.hpp"
#include "estimators/importance_weights.hpp"

namespace vigap {

/// How the ELBO's KL part is estimated.
enum class ElboKlForm {
  /// analytic when q has a closed-form KL to N(0, I)
  /// (PosteriorApproximation::has_closed_form_kl_to_standard_normal: a DiagonalGaussian), Monte Carlo otherwise.
  automatic,
  /// (1/S) Σ_s [log p(x, z_s) - log q(z_s|x)]: any q with a density.
  monte_carlo,
  /// (1/S) Σ_s log p(x|z_s) - KL(q ‖ N(0, I)): q with a closed-form KL only; lower variance.
  analytic,
};

/// Parses "automatic", "monte-carlo" (or "monte_carlo") and "analytic".
ElboKlForm parse_elbo_kl_form(const std::string& name);
std::string to_string(ElboKlForm form);

/// Settings of estimate_elbo.
struct ElboOptions {
  /// S, samples per datapoint (>= 1; >= 2 for a standard error).
  Index samples = 100;
  /// Monte Carlo or analytic KL term; automatic picks analytic for a q with a closed-form KL.
  ElboKlForm kl_form = ElboKlForm::automatic;
  /// Memory bound: latent columns (datapoints x samples) per model call (>= 1).
  Index max_latent_columns_per_call = kDefaultMaxLatentColumnsPerCall;
  /// Throws std::invalid_argument naming the option when a value is out of range.
  void validate() const;
};

/// ELBO(q) per datapoint with S samples z_s ~ q(z|x_b), drawn as in sweep_log_weights:
///   Monte Carlo form: (1/S) Σ_s [log p(x_b, z_s) - log q(z_s|x_b)]
///   analytic form:    (1/S) Σ_s log p(x_b|z_s) - KL(q(z|x_b) ‖ N(0, I))   (q.kl_to_standard_normal())
/// Per-datapoint Monte Carlo standard error: sd_s(term) / sqrt(S) (NaN when S = 1).
/// Bias direction: lower bound on log p(x) (unbiased for the ELBO). The same seed gives the
/// same draws as estimate_iwae_bound with K = S, so then ELBO <= IWAE_S per datapoint exactly.
/// Throws std::invalid_argument for invalid options, a q without density, an analytic form for
/// a q without a closed-form KL, or mismatched shapes.
/// Randomness: datapoint b's samples come from streams' StreamPurpose::elbo generator of b.
/// `progress` gets the sweep's status line.
Estimate estimate_elbo(const GenerativeModel& model, const PosteriorApproximation& approximation, const MatrixF& X,
                       const ElboOptions& options, const RandomStreams& streams, const ProgressReporter& progress = quiet_progress());

/// As above with the single stream rng (the draws of earlier versions: they depend on the batch).
Estimate estimate_elbo(const GenerativeModel& model, const PosteriorApproximation& approximation, const MatrixF& X,
                       const ElboOptions& options, Rng& rng, const ProgressReporter& progress = quiet_progress());

}  // namespace vigap
