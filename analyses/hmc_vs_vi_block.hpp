#pragma once
// The HMC-vs-VI study over a block of consecutive datapoints, and the one assembly that joins
// blocks into the study of their whole range: what lets vigap-hmc-vs-vi spread its datapoints over
// processes (distributed/) and resume from a journal with the single-process answer. The binary's
// single-process path is the assembly of one block, so one process and any split go through the
// same code.
//
// Every figure of the study is a function of per-datapoint values: each datapoint's draws come from
// its own streams keyed (seed, dataset index) and every method runs datapoint by datapoint within a
// batch, so a datapoint's values are the same bits in any block. A block keeps the study of its
// datapoints (per-datapoint arrays exactly, core/io/exact_json) and the assembly recomputes every
// aggregate from their concatenation in dataset order.
// Merge rules:
//   per-datapoint arrays (TV, mean and covariance errors, their iid-draw floors, the Estimates'
//     values and standard errors) concatenated; Estimate summaries (exact log p(x), KL, log p(x)
//     errors) recomputed by concatenate_estimates; mean_absolute_error = mean |error| of the joined
//     errors;
//   decoder_evaluations_per_datapoint = Σ decoder evaluations / Σ datapoints (integer sums);
//   exact_unconverged_datapoints, HMC's divergences, q*'s stopped_by_patience summed;
//   HMC's max_r_hat and q*'s max_check_standard_error: max of the blocks' maxima;
//   the local flow's steps and q*'s steps: max of maxima; all_stopped_by_patience: and-ed;
//   HMC's mean_acceptance_rate the mean of the joined per-chain rates, its
//     min_bulk_effective_sample_size_per_datapoint the joined array; AIS's mean_acceptance_rate and
//     importance sampling's mean_effective_sample_size the means of the joined per-datapoint values;
//   every other entry of `details` / `settings` (warm-up, draws, max_steps, annealing steps, ...)
//     depends on the budget only and must agree between blocks; seconds summed.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analyses/hmc_vs_vi.hpp"
#include "core/variational/amortized_approximation.hpp"

namespace vigap {

/// The study of the datapoints [first_datapoint, first_datapoint + num_datapoints).
struct HmcVsViBlock {
  Index first_datapoint = 0;  ///< dataset index of the block's first datapoint
  Index num_datapoints = 0;
  HmcVsVi study;  ///< compute_hmc_vs_vi over the block's datapoints (with the row tallies)

  /// Every field, per-datapoint values exactly (core/io/exact_json): a journal record or a message.
  nlohmann::ordered_json to_json() const;
};

/// The block HmcVsViBlock::to_json wrote. Throws std::invalid_argument naming `what` when a field
/// is missing or malformed.
HmcVsViBlock hmc_vs_vi_block_from_json(const nlohmann::ordered_json& j, const std::string& what);

/// compute_hmc_vs_vi on the datapoints X, a block of the dataset starting at first_datapoint
/// (`amortized_q`, `encoder_q` and `streams` cover exactly its columns). Throws as compute_hmc_vs_vi.
HmcVsViBlock compute_hmc_vs_vi_block(const GenerativeModel& model, const PosteriorApproximation& amortized_q,
                                     const DiagonalGaussian& encoder_q, const MatrixF& X,
                                     const HmcVsViOptions& options, const RandomStreams& streams,
                                     Index first_datapoint, const ProgressReporter& progress = quiet_progress());

/// Block [first, first + count) of a run over the datapoints run_data (its column 0 is dataset
/// index run_first): the amortized q and the encoder's Gaussian of those columns, streams keyed
/// (seed, dataset index). Throws std::invalid_argument for a range outside the run's datapoints.
HmcVsViBlock compute_hmc_vs_vi_block(const GenerativeModel& model, const AmortizedApproximation& amortized,
                                     const MatrixF& run_data, Index run_first, const HmcVsViOptions& options,
                                     std::uint64_t seed, Index first, Index count,
                                     const ProgressReporter& progress = quiet_progress());

/// The study of the blocks' concatenated datapoints (blocks in dataset order, each starting where
/// the previous one ends), by the merge rules above. Throws std::invalid_argument for no blocks,
/// blocks that are not consecutive, or blocks that disagree (budgets, starts, rows, entries of
/// `details` / `settings` without a merge rule).
HmcVsVi assemble_hmc_vs_vi(const std::vector<HmcVsViBlock>& blocks);

}  // namespace vigap
