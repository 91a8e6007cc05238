#include "estimators/importance_sampling.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace vigap {

void ImportanceSamplingOptions::validate() const {
  if (samples < 1)
    throw std::invalid_argument("ImportanceSamplingOptions: samples (K) must be >= 1, found " +
                                std::to_string(samples));
  if (max_latent_columns_per_call < 1)
    throw std::invalid_argument("ImportanceSamplingOptions: max_latent_columns_per_call must be >= 1, found " +
                                std::to_string(max_latent_columns_per_call));
}

namespace {

ImportanceSamplingResult estimate_log_marginal_likelihood_by_importance_sampling_with_generators(
    const GenerativeModel& model, const PosteriorApproximation& proposal, const MatrixF& X,
    const ImportanceSamplingOptions& options, BatchRng& rng, const ProgressReporter& progress) {
  options.validate();
  const auto start = std::chrono::steady_clock::now();
  LogWeightAccumulator accumulator(std::max<Index>(X.cols(), 1));  // sweep_log_weights reports B = 0
  sweep_log_weights(model, proposal, X, options.samples, options.max_latent_columns_per_call, rng,
                    [&](const LogWeightChunk& chunk) { accumulator.add(chunk.log_weight); }, progress);

  ImportanceSamplingResult result;
  Estimate& e = result.log_marginal_likelihood;
  e.estimator = "importance_sampling";
  e.bias_direction = BiasDirection::stochastic_lower_bound;
  e.bias_note = "E[p̂] = p(x)";
  e.per_datapoint = accumulator.log_mean_weight();
  e.per_datapoint_standard_error = accumulator.log_mean_weight_standard_error();
  e.samples_per_datapoint = options.samples;
  e.settings["samples"] = options.samples;
  e.settings["standard_error"] = "delta method over the K weights";
  e.settings["max_latent_columns_per_call"] = options.max_latent_columns_per_call;
  e.settings["model"] = model.describe();
  e.settings["proposal"] = proposal.describe();
  e.summarize();
  result.effective_sample_size = accumulator.effective_sample_size();
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

ImportanceSamplingResult estimate_log_marginal_likelihood_by_importance_sampling(
    const GenerativeModel& model, const PosteriorApproximation& proposal, const MatrixF& X,
    const ImportanceSamplingOptions& options, Rng& rng, const ProgressReporter& progress) {
  BatchRng one(std::vector<Rng>{rng});
  ImportanceSamplingResult result = estimate_log_marginal_likelihood_by_importance_sampling_with_generators(model, proposal, X, options, one, progress);
  rng = one[0];
  return result;
}

ImportanceSamplingResult estimate_log_marginal_likelihood_by_importance_sampling(
    const GenerativeModel& model, const PosteriorApproximation& proposal, const MatrixF& X,
    const ImportanceSamplingOptions& options, const RandomStreams& streams, const ProgressReporter& progress) {
  streams.check_size(X.cols(), "estimate_log_marginal_likelihood_by_importance_sampling");
  BatchRng rng = streams.generators(StreamPurpose::importance_sampling);
  return estimate_log_marginal_likelihood_by_importance_sampling_with_generators(model, proposal, X, options, rng, progress);
}

}  // namespace vigap
