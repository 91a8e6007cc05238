#pragma once
// Bidirectional Monte Carlo (Grosse, Ghahramani, Adams 2015): sandwiching log p(x) on simulated data.
#include "core/models/generative_model.hpp"
#include "core/progress_reporter.hpp"
#include "core/random.hpp"
#include "estimators/annealed_importance_sampling.hpp"

namespace vigap {

/// Both directions on the same data.
struct BidirectionalMonteCarloResult {
  AnnealedImportanceSamplingResult forward;  ///< stochastic lower bound on log p(x)
  AnnealedImportanceSamplingResult reverse;  ///< stochastic upper bound on log p(x)
  VectorD gap;          ///< B: upper - lower per datapoint (the sandwich width; -> 0 as T grows)
  double mean_gap = 0.0;
  ModelSample simulated;  ///< the (z*, x) pairs the bounds were computed on
  double seconds = 0.0;
};

/// For data simulated from the model, (z*_b, x_b) ~ p(z) p(x|z), z*_b is an exact sample of
/// p(z|x_b). Forward AIS (prior -> posterior) gives log p̂_lower with E[p̂] = p(x), reverse AIS
/// started at z* (posterior -> prior) gives log p̂_upper with E[1/p̂] = 1/p(x), so
///   E[log p̂_lower] <= log p(x) <= E[log p̂_upper],
/// and the width log p̂_upper - log p̂_lower bounds the error of either (up to Monte Carlo noise).
/// Both runs use `options` (schedule, T, chains, leapfrog steps, step adaptation).
/// Randomness: datapoint b's forward chains use streams' StreamPurpose::ais (and ais_pilot)
/// generators of b, its reverse chains reverse_ais (and reverse_ais_pilot). Both runs report to `progress`.
BidirectionalMonteCarloResult bidirectional_monte_carlo(const GenerativeModel& model, const ModelSample& simulated,
                                                        const AisOptions& options, const RandomStreams& streams, const ProgressReporter& progress = quiet_progress());

/// As above with the single stream rng (the draws of earlier versions: they depend on the batch).
BidirectionalMonteCarloResult bidirectional_monte_carlo(const GenerativeModel& model, const ModelSample& simulated,
                                                        const AisOptions& options, Rng& rng, const ProgressReporter& progress = quiet_progress());

/// As above on streams.size() pairs: pair b is model.sample(1, ·) with streams'
/// StreamPurpose::bdmc_simulation generator of b.
BidirectionalMonteCarloResult bidirectional_monte_carlo(const GenerativeModel& model, const AisOptions& options,
                                                        const RandomStreams& streams, const ProgressReporter& progress = quiet_progress());

/// As above on num_datapoints pairs drawn with model.sample(num_datapoints, rng).
BidirectionalMonteCarloResult bidirectional_monte_carlo(const GenerativeModel& model, Index num_datapoints,
                                                        const AisOptions& options, Rng& rng, const ProgressReporter& progress = quiet_progress());

}  // namespace vigap
