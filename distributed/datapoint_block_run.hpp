#pragma once
// A binary's per-datapoint work as a run of fixed-size blocks of datapoints: spread over the ranks
// of an MPI job (block_distribution.hpp) or computed in this process, each finished block recorded
// by rank 0 in a journal beside the output (core/io/result_journal.hpp) as it arrives, so that
// `--resume` after a crash computes only the blocks the journal lacks. The caller assembles the
// blocks' payloads in dataset order into its one result, whichever way they were computed.
#include <boost/program_options.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "distributed/block_distribution.hpp"

namespace vigap {

/// Datapoints [first, first + count) in blocks of block_size (the last one may be shorter).
struct DatapointBlocks {
  Index first = 0;
  Index count = 0;
  Index block_size = 10;

  Index num_blocks() const { return (count + block_size - 1) / block_size; }
  Index block_first(Index block) const { return first + block * block_size; }  ///< a dataset index
  Index block_count(Index block) const;
};

/// --block-size and --resume.
struct BlockRunSettings {
  Index block_size = 10;  ///< datapoints per block (the unit handed out and journaled)
  bool resume = false;
};
/// --block-size defaults to settings.block_size; its help says results do not depend on it, except
/// `exception` when one is given.
void add_block_run_options(boost::program_options::options_description& description, BlockRunSettings& settings,
                           const std::string& exception = "");
/// Throws std::invalid_argument naming --block-size when it is < 1.
void validate(const BlockRunSettings& settings);

/// What the run did, for the result's "execution" section (never `results`: they do not depend on it).
struct BlockRunReport {
  int ranks = 1;
  Index block_size = 0, blocks = 0, blocks_resumed = 0, blocks_computed = 0;
  Index journal_lines_dropped = 0;  ///< torn or damaged journal lines found on resume (recomputed)
  double wall_seconds = 0.0;        ///< rank 0's, from the start of the block run to its end
  std::string journal;
  std::vector<RankTimings> rank_timings;  ///< per rank (index = rank): blocks, compute and MPI seconds
  /// Σ_r compute_seconds_r / (ranks · wall_seconds): the share of the ranks' time spent computing.
  double compute_share() const;
  /// Σ_{r >= 1} communication_seconds_r / ((ranks - 1) · wall_seconds): the share of the workers'
  /// time spent in MPI (sending, receiving, waiting for a block); 0 with one rank. Rank 0's own
  /// MPI calls run beside its computing thread and are left out.
  double communication_share() const;
  /// {"ranks", "block_size", "blocks", ..., "wall_seconds", "compute_share", "communication_share",
  ///  "per_rank": [{"rank", "blocks", "compute_seconds", "communication_seconds"}, ...]}.
  nlohmann::ordered_json to_json() const;
};

/// The journal of a run writing `out`: "<out>.journal".
std::string journal_path(const std::string& out);

/// The identity a journal is kept for (a resume of another is refused naming each difference):
/// the binary, vigap's version and commit, the seed, every setting of `configuration` except
/// "threads" (a rank's thread count does not change its results), the checkpoint's SHA-256, the
/// data set's identity, the datapoint range with the SHA-256 of its values, and the block size.
nlohmann::ordered_json block_run_identity(const std::string& binary, std::uint64_t seed,
                                          const nlohmann::ordered_json& configuration, const std::string& checkpoint,
                                          const nlohmann::ordered_json& dataset, const MatrixF& data,
                                          const DatapointBlocks& blocks);

/// Computes compute(first, count) for every block of `blocks` the journal `journal` does not hold
/// (all of them unless settings.resume), on every rank of an MPI job or in this process; rank 0
/// journals each as it arrives and shows "<label>: n/N datapoints, rate, time left" on stderr
/// (when it is a terminal). Returns, on rank 0 (or the only process), every block's payload in
/// dataset order; std::nullopt on the other ranks, which must then write nothing.
/// Without --resume an existing journal is replaced (said on stderr). When a computation throws,
/// the exception propagates, and the journal is removed if it holds no finished block (there is
/// nothing to resume), else kept. Throws std::invalid_argument
/// for --resume without a journal or with a journal of another run (naming each difference), and
/// std::runtime_error when the journal cannot be written.
std::optional<std::vector<nlohmann::ordered_json>> run_datapoint_blocks(
    const DatapointBlocks& blocks, const BlockRunSettings& settings, const std::string& journal,
    const nlohmann::ordered_json& identity, const std::string& label,
    const std::function<nlohmann::ordered_json(Index first, Index count)>& compute, BlockRunReport* report);

/// run_datapoint_blocks, then each payload read back as the caller's block type by
/// from_json(payload, "journal <journal>, block <b>") (which throws naming the block when a
/// payload is not one): the blocks in dataset order on rank 0, std::nullopt on the other ranks.
template <class Block>
std::optional<std::vector<Block>> run_datapoint_blocks_as(
    const DatapointBlocks& blocks, const BlockRunSettings& settings, const std::string& journal,
    const nlohmann::ordered_json& identity, const std::string& label,
    const std::function<nlohmann::ordered_json(Index first, Index count)>& compute,
    Block (*from_json)(const nlohmann::ordered_json& payload, const std::string& what), BlockRunReport* report) {
  const auto payloads = run_datapoint_blocks(blocks, settings, journal, identity, label, compute, report);
  if (!payloads) return std::nullopt;
  std::vector<Block> parts;
  parts.reserve(payloads->size());
  for (std::size_t b = 0; b < payloads->size(); ++b)
    parts.push_back(from_json((*payloads)[b], "journal " + journal + ", block " + std::to_string(b)));
  return parts;
}

/// Deletes the journal after the result was written (rank 0 / the only process). Throws
/// std::runtime_error naming it when it cannot be removed.
void remove_journal(const std::string& journal);

}  // namespace vigap
