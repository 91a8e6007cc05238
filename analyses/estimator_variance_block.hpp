#pragma once
// The estimator-variance study over a block of consecutive datapoints, and the one assembly that
// joins blocks into the study of their whole range: what lets vigap-estimator-variance spread its
// datapoints over processes (distributed/) and resume from a journal with the single-process
// answer. compute_estimator_variance_study itself is the assembly of one block, so one process and
// any split go through the same code.
//
// Every figure of the study is a mean over datapoints of per-datapoint statistics (each an
// Estimate of estimate_gradient_variance, summarized from its per-datapoint values and Monte Carlo
// errors alone: no quantity is pooled across datapoints), drawn from per-datapoint streams keyed
// (seed, dataset index, sweep, count), so a block keeps, for every (sweep, count, variant), the
// per-datapoint values of each estimate exactly, and the assembly concatenates them in dataset
// order and recomputes every mean and standard error (Estimate::summarize) and, from those, the
// log-log slopes. The IWAE sweep runs on the run's first iwae_count datapoints only: a block holds
// the IWAE values of its datapoints among those (a prefix of the block; none past them).
// Merge rules for what is not a per-datapoint value: seconds are summed; descriptions, sample
// counts, variants, replicates, parameter counts, the SNR noise floor and each result's settings
// must agree (they do not depend on the datapoints).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analyses/estimator_variance_study.hpp"

namespace vigap {

/// One sweep over a block: results[i][v] for count i and variant v over the block's datapoints of
/// the sweep (no results when it has none, or the sweep has no counts).
struct EstimatorVarianceSweepBlock {
  std::string letter;  ///< "S" or "K"
  std::vector<Index> counts;
  std::vector<std::vector<GradientVarianceResult>> results;
  Index datapoints = 0;  ///< the block's datapoints in this sweep
  double seconds = 0.0;
};

/// The study's per-datapoint part over datapoints [first_datapoint, first_datapoint + num_datapoints).
struct EstimatorVarianceBlock {
  Index first_datapoint = 0, num_datapoints = 0;
  std::string model;
  Index replicates = 0, encoder_parameters = 0, decoder_parameters = 0;
  double snr_noise_floor = 0.0;
  EstimatorVarianceSweepBlock elbo, iwae;
  double seconds = 0.0;

  /// Every field, per-datapoint values exactly (core/io/exact_json): a journal record or a message.
  nlohmann::ordered_json to_json() const;
};

/// The block EstimatorVarianceBlock::to_json wrote. Throws std::invalid_argument naming `what`
/// when a field is missing or malformed (variants other than the study's included).
EstimatorVarianceBlock estimator_variance_block_from_json(const nlohmann::ordered_json& j, const std::string& what);

/// The datapoints of block [first, first + count) in the IWAE sweep of a run whose sweep covers
/// its first iwae_count datapoints from run_first: clamp(run_first + iwae_count - first, 0, count).
Index iwae_datapoints_of_block(Index run_first, Index iwae_count, Index first, Index count);

/// compute_estimator_variance_study's work on the datapoints X (a block of the dataset starting at
/// first_datapoint; `streams` are those datapoints' streams), without its aggregates: the ELBO
/// sweep on every datapoint, the IWAE sweep on the first iwae_datapoints of them (0 <= it <=
/// X.cols(); iwae_datapoints_of_block). options.iwae_datapoints is not used here. Throws
/// std::invalid_argument on bad options or shapes. `progress` as the study's.
EstimatorVarianceBlock compute_estimator_variance_block(const TrainableEncoder& encoder, const TrainableDecoder& decoder,
                                                        const MatrixF& X, const EstimatorVarianceStudyOptions& options,
                                                        const RandomStreams& streams, Index first_datapoint,
                                                        Index iwae_datapoints,
                                                        const ProgressReporter& progress = quiet_progress());

/// The study of the blocks' concatenated datapoints (blocks in dataset order, each starting where
/// the previous ends): for every (sweep, count, variant) each estimate's per-datapoint values
/// concatenated (concatenate_estimates: means and standard errors recomputed), the IWAE sweep over
/// the blocks that hold IWAE datapoints; then the log-log slopes of the joined curves; seconds
/// summed. Throws std::invalid_argument for no blocks, blocks that are not consecutive, that
/// disagree on a description or setting, or whose IWAE datapoints are not a prefix of the range.
EstimatorVarianceStudy assemble_estimator_variance_study(const std::vector<EstimatorVarianceBlock>& blocks);

}  // namespace vigap
