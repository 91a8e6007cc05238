#pragma once
// An Estimate over consecutive blocks of datapoints, joined into the Estimate of the whole range
// exactly as if the range had been one batch: the per-datapoint values are concatenated in
// dataset order and every aggregate is recomputed from them (Estimate::summarize), so with
// per-datapoint random streams the joined Estimate has the same bits as a single run's.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "estimators/estimate.hpp"

namespace vigap {

/// Every field of `e` (per-datapoint values exactly, NaN and ±inf included: core/io/exact_json),
/// for sending a block's estimate between processes or keeping it in a resume journal.
nlohmann::ordered_json estimate_block_to_json(const Estimate& e);
/// The Estimate estimate_block_to_json wrote. Throws std::invalid_argument naming `what` when a
/// field is missing or of the wrong type.
Estimate estimate_block_from_json(const nlohmann::ordered_json& j, const std::string& what);

/// The estimate of the concatenated blocks (in the order given):
///   per_datapoint = [block 0's, block 1's, ...], likewise the standard errors; summarize();
///   seconds = Σ seconds; samples_per_datapoint, estimator, bias direction and note must agree;
///   settings merged key by key (merge_block_settings).
/// Throws std::invalid_argument for no blocks or blocks that disagree where they must agree.
Estimate concatenate_estimates(const std::vector<const Estimate*>& blocks);

/// The settings of the concatenated blocks, key by key in the first block's order:
///   counts summed: unconverged_datapoints, stalled_datapoints, refined_passes_total, gradient_evaluations;
///   maxima: every key starting with "max_" (the maximum of the blocks' maxima);
///   lists of datapoints concatenated: datapoints_over_tolerance (their indices are the dataset's);
///   objects merged recursively; every other key must be equal in every block.
/// Throws std::invalid_argument naming the key when blocks differ in a key without a merge rule
/// (a setting that would make the joined result depend on the split).
nlohmann::ordered_json merge_block_settings(const std::vector<const nlohmann::ordered_json*>& blocks);

}  // namespace vigap
