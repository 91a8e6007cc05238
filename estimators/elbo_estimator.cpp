#include "estimators/elbo_estimator.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace vigap {

ElboKlForm parse_elbo_kl_form(const std::string& name) {
  if (name == "automatic") return ElboKlForm::automatic;
  if (name == "monte-carlo" || name == "monte_carlo") return ElboKlForm::monte_carlo;
  if (name == "analytic") return ElboKlForm::analytic;
  throw std::invalid_argument("unknown ELBO KL form '" + name + "': expected automatic, monte-carlo or analytic");
}

std::string to_string(ElboKlForm form) {
  switch (form) {
    case ElboKlForm::automatic: return "automatic";
    case ElboKlForm::monte_carlo: return "monte-carlo";
    case ElboKlForm::analytic: return "analytic";
  }
  return "unknown";
}

void ElboOptions::validate() const {
  if (samples < 1)
    throw std::invalid_argument("ElboOptions: samples (S) must be >= 1, found " + std::to_string(samples));
  if (max_latent_columns_per_call < 1)
    throw std::invalid_argument("ElboOptions: max_latent_columns_per_call must be >= 1, found " +
                                std::to_string(max_latent_columns_per_call));
}

namespace {

Estimate estimate_elbo_with_generators(const GenerativeModel& model, const PosteriorApproximation& approximation, const MatrixF& X,
                       const ElboOptions& options, BatchRng& rng, const ProgressReporter& progress) {
  options.validate();
  const auto start = std::chrono::steady_clock::now();
  const bool closed_form = approximation.has_closed_form_kl_to_standard_normal();
  if (options.kl_form == ElboKlForm::analytic && !closed_form)
    throw std::invalid_argument("estimate_elbo: kl_form analytic needs an approximation with a closed-form KL to "
                                "N(0, I) (a DiagonalGaussian), found '" + approximation.describe() + "'");
  const bool analytic = closed_form && options.kl_form != ElboKlForm::monte_carlo;

  LogWeightAccumulator accumulator(std::max<Index>(X.cols(), 1));  // sweep_log_weights reports B = 0
  sweep_log_weights(model, approximation, X, options.samples, options.max_latent_columns_per_call, rng,
                    [&](const LogWeightChunk& chunk) {
                      accumulator.add(analytic ? chunk.log_likelihood : chunk.log_weight);
                    }, progress);

  Estimate e;
  e.estimator = "elbo";
  e.bias_direction = BiasDirection::lower_bound;
  e.bias_note = "on log p(x); unbiased for the ELBO";
  e.per_datapoint = accumulator.mean_log_weight();
  if (analytic) e.per_datapoint -= approximation.kl_to_standard_normal();
  e.per_datapoint_standard_error = accumulator.mean_log_weight_standard_error();
  e.samples_per_datapoint = options.samples;
  e.settings["samples"] = options.samples;
  e.settings["kl_form"] = analytic ? "analytic" : "monte-carlo";
  e.settings["max_latent_columns_per_call"] = options.max_latent_columns_per_call;
  e.settings["model"] = model.describe();
  e.settings["approximation"] = approximation.describe();
  e.summarize();
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return e;
}

}  // namespace

Estimate estimate_elbo(const GenerativeModel& model, const PosteriorApproximation& approximation, const MatrixF& X,
                       const ElboOptions& options, Rng& rng, const ProgressReporter& progress) {
  BatchRng one(std::vector<Rng>{rng});
  Estimate result = estimate_elbo_with_generators(model, approximation, X, options, one, progress);
  rng = one[0];
  return result;
}

Estimate estimate_elbo(const GenerativeModel& model, const PosteriorApproximation& approximation, const MatrixF& X,
                       const ElboOptions& options, const RandomStreams& streams,
                       const ProgressReporter& progress) {
  streams.check_size(X.cols(), "estimate_elbo");
  BatchRng rng = streams.generators(StreamPurpose::elbo);
  return estimate_elbo_with_generators(model, approximation, X, options, rng, progress);
}

}  // namespace vigap
