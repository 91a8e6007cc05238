#pragma once
// Hands out blocks of work to every rank of an MPI job on demand and brings their results to rank
// 0, or, without mpirun, computes them one after another in this process: the same calls either way.
//
// Protocol (tags in block_distribution.cpp): each worker rank sends a REQUEST carrying its run
// identity (rank 0 refuses a worker that runs another configuration, naming the differences);
// rank 0 answers with a block index, or -1 when none is left. A worker sends each finished block
// as a RESULT (block index and serialized payload), which is also its request for the next; an
// exception while computing is sent as an ERROR (exit code and message), and rank 0 ends the job
// with it. On rank 0 a second thread takes blocks from the same queue, so rank 0 computes too
// while its main thread (the only one calling MPI) answers requests and hands every finished
// block, its own and the workers', to `finished` in arrival order. Blocks are claimed one at a
// time: faster ranks take more of them.
#include <functional>
#include <string>
#include <vector>

#include "core/types.hpp"

namespace vigap {

/// Where one rank's time went (for the "execution" section and bench/run_mpi_scaling.py).
struct RankTimings {
  Index blocks = 0;               ///< blocks this rank computed
  double compute_seconds = 0.0;   ///< inside compute() (on rank 0: its computing thread)
  /// Inside MPI calls: sends, receives and probes, a worker's wait for its next block included (the
  /// time rank 0 takes to answer); on rank 0 its coordinating thread's calls, which overlap its
  /// computing thread. A worker's figures travel with its results, so they omit its last request.
  double communication_seconds = 0.0;
};

/// Computes block `block` and returns its serialized result.
using BlockComputation = std::function<std::string(Index block)>;
/// Receives a finished block on rank 0 (or the only process), in arrival order.
using BlockReceiver = std::function<void(Index block, std::string payload)>;

/// Computes every block of `todo` once, on whichever rank claims it, and calls `finished` on rank
/// 0 for each. Returns true on rank 0 (or without mpirun) once every block has arrived, false on
/// the other ranks once no block is left for them. `identity` (the run's, e.g. a JSON text) must
/// be the same on every rank. Exceptions from `compute` on rank 0, from `finished`, and errors
/// reported by workers propagate on rank 0 (std::invalid_argument when the worker's error was one);
/// on a worker an exception from `compute` is reported to rank 0, which ends the job.
/// With `timings` non-null, on rank 0 (or the only process) it ends with one entry per rank (index
/// = rank); a worker leaves its own entry at index 0.
bool distribute_blocks(const std::vector<Index>& todo, const std::string& identity, const BlockComputation& compute,
                       const BlockReceiver& finished, std::vector<RankTimings>* timings = nullptr);

}  // namespace vigap
