#include "estimators/iwae_bound.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "core/math/mean_and_standard_error.hpp"

namespace vigap {

void IwaeBoundOptions::validate() const {
  if (samples < 1)
    throw std::invalid_argument("IwaeBoundOptions: samples (K) must be >= 1, found " + std::to_string(samples));
  if (replicates < 1)
    throw std::invalid_argument("IwaeBoundOptions: replicates (R) must be >= 1, found " + std::to_string(replicates));
  if (max_latent_columns_per_call < 1)
    throw std::invalid_argument("IwaeBoundOptions: max_latent_columns_per_call must be >= 1, found " +
                                std::to_string(max_latent_columns_per_call));
}

namespace {

Estimate estimate_iwae_bound_with_generators(const GenerativeModel& model, const PosteriorApproximation& approximation,
                             const MatrixF& X, const IwaeBoundOptions& options, BatchRng& rng,
                             const ProgressReporter& progress) {
  options.validate();
  const auto start = std::chrono::steady_clock::now();
  const Index B = X.cols();
  const Index K = options.samples;
  const Index R = options.replicates;

  LogWeightAccumulator accumulator(std::max<Index>(B, 1));
  MatrixD replicate_values(B, R);  // IWAE_K of replicate r for datapoint b
  Index replicate = 0;
  sweep_log_weights(model, approximation, X, K * R, options.max_latent_columns_per_call, rng,
                    [&](const LogWeightChunk& chunk) {
                      // Split the chunk's rows at replicate boundaries.
                      Index row = 0;
                      while (row < chunk.log_weight.rows()) {
                        const Index room = K - accumulator.count();
                        const Index take = std::min(room, chunk.log_weight.rows() - row);
                        accumulator.add(chunk.log_weight.middleRows(row, take));
                        row += take;
                        if (accumulator.count() == K) {
                          replicate_values.col(replicate++) = accumulator.log_mean_weight();
                          if (R == 1) return;  // keep the accumulator for the delta-method error
                          accumulator.reset();
                        }
                      }
                    }, progress);

  Estimate e;
  e.estimator = "iwae";
  e.bias_direction = BiasDirection::lower_bound;
  e.bias_note = "on log p(x); increases with K";
  if (R == 1) {
    e.per_datapoint = replicate_values.col(0);
    e.per_datapoint_standard_error = accumulator.log_mean_weight_standard_error();
  } else {
    e.per_datapoint.resize(B);
    e.per_datapoint_standard_error.resize(B);
    for (Index b = 0; b < B; ++b) {
      const MeanAndStandardError stats = mean_and_standard_error(replicate_values.row(b));
      e.per_datapoint(b) = stats.mean;
      e.per_datapoint_standard_error(b) = stats.standard_error;
    }
  }
  e.samples_per_datapoint = K * R;
  e.settings["samples"] = K;
  e.settings["replicates"] = R;
  e.settings["standard_error"] = R == 1 ? "delta method over the K weights" : "spread of the R replicates";
  e.settings["max_latent_columns_per_call"] = options.max_latent_columns_per_call;
  e.settings["model"] = model.describe();
  e.settings["approximation"] = approximation.describe();
  e.summarize();
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return e;
}

}  // namespace

Estimate estimate_iwae_bound(const GenerativeModel& model, const PosteriorApproximation& approximation,
                             const MatrixF& X, const IwaeBoundOptions& options, Rng& rng,
                             const ProgressReporter& progress) {
  BatchRng one(std::vector<Rng>{rng});
  Estimate result = estimate_iwae_bound_with_generators(model, approximation, X, options, one, progress);
  rng = one[0];
  return result;
}

Estimate estimate_iwae_bound(const GenerativeModel& model, const PosteriorApproximation& approximation,
                             const MatrixF& X, const IwaeBoundOptions& options, const RandomStreams& streams,
                             const ProgressReporter& progress) {
  streams.check_size(X.cols(), "estimate_iwae_bound");
  BatchRng rng = streams.generators(StreamPurpose::iwae);
  return estimate_iwae_bound_with_generators(model, approximation, X, options, rng, progress);
}

}  // namespace vigap
