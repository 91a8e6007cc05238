#pragma once
// The gap table over a block of consecutive datapoints, and the one assembly that joins blocks
// into the table of their whole range: what lets vigap-gap-table spread its datapoints over
// processes (distributed/) and resume from a journal, with the single-process answer.
//
// Every figure of the table is a function of per-datapoint values (per-datapoint random streams
// and fixed column blocks make each datapoint's values the same bits in any block), so a block
// keeps those values and the assembly recomputes every aggregate from their concatenation.
// Merge rules for what is not a mean over datapoints: counts are summed, maxima maximized, lists
// of datapoints concatenated, "steps" of a q* fit is the maximum over blocks, "converged" holds
// when it holds in every block, descriptions and settings must agree. One figure depends on the
// blocks by nature: the flow q*'s decoder and gradient evaluations (a local flow evaluates every
// datapoint of its batch at every step until the batch's last one stops), which count the work done.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analyses/gap_table.hpp"
#include "core/progress_reporter.hpp"
#include "core/variational/start_or_best_selection.hpp"

namespace vigap {

/// One q* family's row over a block: what the row's figures are recomputed from.
struct GapTableRowBlock {
  PosteriorFamily family = PosteriorFamily::ffg;
  std::string approximation;        ///< q*'s describe()
  std::string started_from;         ///< "q*_FFG" or the start's describe()
  Estimate elbo;                    ///< L[q*_F] per datapoint
  Index steps = 0;                  ///< the block's fit: steps of its batch
  bool converged = false;           ///< every datapoint of the block stopped by rule
  Index gradient_evaluations = 0;
  std::vector<Index> decoder_evaluations;  ///< per datapoint
  std::vector<bool> stopped_by_rule;       ///< per datapoint
  VectorD check_standard_error;            ///< per datapoint: the check its stopping decision was made on
  StartOrBestSelection selection;
  double optimization_seconds = 0.0, elbo_seconds = 0.0;
};

/// The gap table's per-datapoint part over datapoints [first_datapoint, first_datapoint + size()).
struct GapTableBlock {
  Index first_datapoint = 0;
  std::string model, amortized_name, amortized_approximation;
  bool log_px_by_quadrature = false, exact_elbos = false;
  QStarStart init = QStarStart::encoder;
  Index eval_samples = 0;
  Estimate log_px;  ///< its settings without the AIS means (from the vectors below)
  VectorD ais_acceptance_rate, ais_effective_sample_size;  ///< per datapoint (AIS only)
  Index quadrature_coarse_nodes = 0, quadrature_refinement_nodes = 0;  ///< quadrature only
  Estimate amortized_elbo;
  std::vector<GapTableRowBlock> rows;
  double log_px_seconds = 0.0, amortized_elbo_seconds = 0.0, seconds = 0.0;

  Index size() const { return log_px.per_datapoint.size(); }
  /// Every field, per-datapoint values exactly (core/io/exact_json): a journal record or a message.
  nlohmann::ordered_json to_json() const;
};

/// The block GapTableBlock::to_json wrote. Throws std::invalid_argument naming `what` when a field
/// is missing or malformed.
GapTableBlock gap_table_block_from_json(const nlohmann::ordered_json& j, const std::string& what);

/// compute_gap_table's work on the datapoints X (a block of the dataset starting at
/// first_datapoint; `streams` are those datapoints' streams), without its aggregates. `progress`
/// as compute_gap_table's.
GapTableBlock compute_gap_table_block(const GenerativeModel& model, const PosteriorApproximation& amortized,
                                      const std::string& amortized_name, const DiagonalGaussian& encoder_q,
                                      const MatrixF& X, const GapTableOptions& options, const RandomStreams& streams,
                                      Index first_datapoint, const ProgressReporter& progress = quiet_progress());

/// The table of the blocks' concatenated datapoints (blocks in dataset order, each starting where
/// the previous ends): per-datapoint values concatenated, then every estimate summarized, the gaps
/// decomposed per datapoint (decompose_gaps) and the merge rules above applied; timings summed.
/// Throws std::invalid_argument for no blocks, blocks that are not consecutive, or blocks that
/// disagree on a description or setting.
GapTable assemble_gap_table(const std::vector<GapTableBlock>& blocks);

}  // namespace vigap
