#include "estimators/bidirectional_monte_carlo.hpp"

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>

namespace vigap {

namespace {

using ForwardRun = std::function<AnnealedImportanceSamplingResult(const MatrixF&)>;
using ReverseRun = std::function<AnnealedImportanceSamplingResult(const MatrixF&, const MatrixD&)>;

BidirectionalMonteCarloResult bidirectional_monte_carlo(const GenerativeModel& model, const ModelSample& simulated,
                                                        const AisOptions& options, const ForwardRun& forward,
                                                        const ReverseRun& reverse) {
  options.validate();
  if (simulated.latents.cols() != simulated.data.cols() || simulated.latents.rows() != model.latent_dim() ||
      simulated.data.rows() != model.data_dim())
    throw std::invalid_argument("bidirectional_monte_carlo: expected latents " + std::to_string(model.latent_dim()) +
                                " x N and data " + std::to_string(model.data_dim()) + " x N, found " +
                                std::to_string(simulated.latents.rows()) + " x " +
                                std::to_string(simulated.latents.cols()) + " and " +
                                std::to_string(simulated.data.rows()) + " x " + std::to_string(simulated.data.cols()));
  const auto start = std::chrono::steady_clock::now();
  BidirectionalMonteCarloResult result;
  result.simulated = simulated;
  result.forward = forward(simulated.data);
  result.reverse = reverse(simulated.data, simulated.latents);
  result.gap = result.reverse.estimate.per_datapoint - result.forward.estimate.per_datapoint;
  result.mean_gap = result.gap.mean();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

BidirectionalMonteCarloResult bidirectional_monte_carlo(const GenerativeModel& model, const ModelSample& simulated,
                                                        const AisOptions& options, Rng& rng,
                                                        const ProgressReporter& progress) {
  // One stream for both directions, in order (the draws of earlier versions).
  BidirectionalMonteCarloResult result = bidirectional_monte_carlo(
      model, simulated, options, [&](const MatrixF& X) { return annealed_importance_sampling(model, X, options, rng, progress); },
      [&](const MatrixF& X, const MatrixD& Z) { return reverse_annealed_importance_sampling(model, X, Z, options, rng, progress); });
  return result;
}

BidirectionalMonteCarloResult bidirectional_monte_carlo(const GenerativeModel& model, const ModelSample& simulated,
                                                        const AisOptions& options, const RandomStreams& streams,
                                                        const ProgressReporter& progress) {
  return bidirectional_monte_carlo(
      model, simulated, options,
      [&](const MatrixF& X) { return annealed_importance_sampling(model, X, options, streams, progress); },
      [&](const MatrixF& X, const MatrixD& Z) { return reverse_annealed_importance_sampling(model, X, Z, options, streams, progress); });
}

BidirectionalMonteCarloResult bidirectional_monte_carlo(const GenerativeModel& model, Index num_datapoints,
                                                        const AisOptions& options, Rng& rng,
                                                        const ProgressReporter& progress) {
  options.validate();
  if (num_datapoints < 1)
    throw std::invalid_argument("bidirectional_monte_carlo: num_datapoints must be >= 1, found " +
                                std::to_string(num_datapoints));
  const ModelSample simulated = model.sample(num_datapoints, rng);
  return bidirectional_monte_carlo(model, simulated, options, rng, progress);
}

BidirectionalMonteCarloResult bidirectional_monte_carlo(const GenerativeModel& model, const AisOptions& options,
                                                        const RandomStreams& streams, const ProgressReporter& progress) {
  options.validate();
  const Index N = streams.size();
  if (N < 1) throw std::invalid_argument("bidirectional_monte_carlo: no datapoints (the streams cover none)");
  BatchRng generators = streams.generators(StreamPurpose::bdmc_simulation);
  ModelSample simulated;
  simulated.latents.resize(model.latent_dim(), N);
  simulated.data.resize(model.data_dim(), N);
  for (Index b = 0; b < N; ++b) {
    const ModelSample one = model.sample(1, generators[b]);
    simulated.latents.col(b) = one.latents.col(0);
    simulated.data.col(b) = one.data.col(0);
  }
  return bidirectional_monte_carlo(model, simulated, options, streams, progress);
}

}  // namespace vigap
