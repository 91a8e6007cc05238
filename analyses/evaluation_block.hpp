#pragma once
// The evaluation over a block of consecutive datapoints, and the one assembly that joins blocks
// into the evaluation of their whole range: what lets vigap-evaluate spread its datapoints over
// processes (distributed/) and resume from a journal with the single-process answer.
// compute_evaluation itself is the assembly of one block, so one process and any split go
// through the same code.
//
// Every figure of the evaluation is a function of per-datapoint values (per-datapoint random
// streams and fixed column blocks make each datapoint's values the same bits in any block), so a
// block keeps those values and the assembly recomputes every aggregate from their concatenation
// in dataset order. BDMC's simulated pairs are indexed like the datapoints (pair j of a run
// starting at datapoint f is keyed f + j), so a run covers max(datapoints, pairs) indices and
// block [s, s + n) holds the datapoints and the pairs among those indices: a block past the last
// datapoint holds pairs only, one past the last pair datapoints only.
// Merge rules for what is not a per-datapoint value: counts (gradient evaluations, unconverged
// datapoints) are summed; the means of per-datapoint diagnostics (effective sample size,
// acceptance rate) are taken over the concatenated diagnostics; the quadrature's
// samples_per_datapoint is recomputed from every block's coarse and refinement nodes; the
// estimates' settings merge as concatenate_estimates says; KL(q‖p(z|x)) and BDMC's sandwich width
// are computed from the assembled rows.
#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "analyses/evaluation.hpp"
#include "core/variational/amortized_approximation.hpp"

namespace vigap {

/// One row of the evaluation over a block: what the row's figures are recomputed from.
struct EvaluationRowBlock {
  std::string key;    ///< the row's JSON key ("elbo", "iwae_5000", "ais", "bdmc_lower", ...)
  std::string label;  ///< its table label
  bool simulated = false;  ///< over the block's simulated pairs (BDMC), not its datapoints
  Estimate estimate;       ///< per-datapoint values, with the row's seconds
  /// Row extras that are the mean of a per-datapoint diagnostic over the run's datapoints:
  /// ("mean_effective_sample_size", the block's ESS per datapoint), ...
  std::vector<std::pair<std::string, VectorD>> means;
  /// Row extras that are counts, summed over blocks: ("gradient_evaluations", n), ...
  std::vector<std::pair<std::string, Index>> counts;
  /// The quadrature's log p(x) row: the coarse grid's nodes (shared by every datapoint) and the
  /// refined passes' nodes summed over the block's datapoints (samples_per_datapoint of the run
  /// is coarse + ceil(Σ refinement / datapoints)). 0 for every other row.
  Index quadrature_coarse_nodes = 0, quadrature_refinement_nodes = 0;
};

/// The evaluation's per-datapoint part over the indices [first_datapoint, first_datapoint + span()).
struct EvaluationBlock {
  Index first_datapoint = 0;  ///< dataset index of the block's first datapoint (and key of its first pair)
  Index num_datapoints = 0;   ///< datapoints of the dataset in the block
  Index num_pairs = 0;        ///< BDMC's simulated pairs in the block
  /// In the order computed (the estimators' order): the datapoint rows (none when
  /// num_datapoints = 0) and the simulated rows (none when num_pairs = 0).
  std::vector<EvaluationRowBlock> rows;

  Index span() const { return std::max(num_datapoints, num_pairs); }
  /// Every field, per-datapoint values exactly (core/io/exact_json): a journal record or a message.
  nlohmann::ordered_json to_json() const;
};

/// The block EvaluationBlock::to_json wrote. Throws std::invalid_argument naming `what` when a
/// field is missing or malformed.
EvaluationBlock evaluation_block_from_json(const nlohmann::ordered_json& j, const std::string& what);

/// BDMC's simulated pairs in a run over num_datapoints datapoints: options.bdmc_datapoints, or
/// num_datapoints when that is 0; 0 when BDMC is not among the estimators.
Index bdmc_pairs(const EvaluationOptions& options, Index num_datapoints);
/// The indices a run over num_datapoints datapoints covers: max(num_datapoints, bdmc_pairs).
Index evaluation_span(const EvaluationOptions& options, Index num_datapoints);

/// compute_evaluation's work on the datapoints X (a block of the dataset starting at
/// first_datapoint; `streams` are those datapoints' streams, `amortized` their q or null) and on
/// BDMC's simulated pairs keyed first_datapoint ... first_datapoint + num_pairs - 1 (drawn from
/// streams.run_seed()), without its aggregates. X may have no columns when num_pairs > 0.
/// Randomness as compute_evaluation's. Throws std::invalid_argument as compute_evaluation does,
/// for pairs without BDMC among the estimators, and for a block with neither datapoints nor pairs.
EvaluationBlock compute_evaluation_block(const GenerativeModel& model, const PosteriorApproximation* amortized,
                                         const MatrixF& X, const EvaluationOptions& options,
                                         const RandomStreams& streams, Index first_datapoint, Index num_pairs,
                                         const ProgressReporter& progress = quiet_progress());

/// Block [first, first + count) of a run over the datapoints run_data (its column 0 is dataset
/// index run_first) and evaluation_span indices: the datapoints among them with their amortized q
/// (amortized->posterior of their columns; null: none), streams keyed (seed, dataset index), and
/// the BDMC pairs among them. Throws std::invalid_argument for a range outside the run's span.
EvaluationBlock compute_evaluation_block(const GenerativeModel& model, const AmortizedApproximation* amortized,
                                         const MatrixF& run_data, Index run_first, const EvaluationOptions& options,
                                         std::uint64_t seed, Index first, Index count,
                                         const ProgressReporter& progress = quiet_progress());

/// The evaluation of the blocks' concatenated indices (blocks in dataset order, each starting
/// where the previous one ends): each row's per-datapoint values concatenated over the blocks that
/// hold it, then summarized, and the merge rules above applied; seconds summed. Throws
/// std::invalid_argument for no blocks, blocks that are not consecutive, rows that disagree
/// between blocks, or datapoints (pairs) after a block that ended short of its span.
Evaluation assemble_evaluation(const std::vector<EvaluationBlock>& blocks);

}  // namespace vigap
