#pragma once
// Open MPI for the binaries whose work is independent per datapoint, only when they were
// launched by mpirun: a binary started without mpirun never calls MPI_Init (no singleton), and
// behaves exactly as a single process always did.
//
// Threading: MPI_THREAD_FUNNELED. Only the main thread of each rank calls MPI; on rank 0 a
// second thread computes blocks while the main thread coordinates (block_distribution.hpp), so
// rank 0 works as hard as the others. Open MPI 4.1 also offers MPI_THREAD_MULTIPLE, but funnelling
// every call through one thread needs no locking inside MPI and is what the protocol needs.
#include <exception>
#include <functional>
#include <string>

namespace vigap {

/// Whether this process was started by mpirun (Open MPI's OMPI_COMM_WORLD_SIZE or PMIx's PMIX_RANK
/// is set in its environment).
bool launched_by_mpirun();

/// This process's place in the job: rank 0 of 1 without mpirun.
struct MpiPlace {
  int rank = 0;
  int size = 1;
  bool active = false;  ///< MPI was initialized (launched by mpirun)
  std::string program;  ///< the binary's name, for error messages
};

/// The place of this process (valid inside run_distributable_binary).
const MpiPlace& mpi_place();

/// Waits until every rank of the job has called it (MPI_Barrier); returns at once without mpirun.
/// Used where the ranks should start a measurement together (the run's cost forecast times the
/// decoder on every rank at once, so that each is timed under the load of the run, not beside
/// peers spinning in MPI).
void mpi_barrier();

/// Runs body() as run_binary does (0 success, 2 bad input, 1 any other error), initializing MPI
/// first when launched_by_mpirun() and finalizing it after. Under mpirun an error on any rank ends
/// the whole job: rank 0 prints "<program>: error: <message>" (a worker's error arrives as a
/// message naming its rank, see block_distribution.hpp), and MPI_Abort ends every rank with the
/// exit code; a worker that fails outside the block loop prints its own error, naming its rank,
/// after a short grace period in which a rank 0 failing the same way (the same bad input) ends
/// the job first, so the message is printed once.
/// Rank 0's `text`, on every rank (MPI_Bcast); `text` itself without mpirun.
std::string broadcast_from_rank0(const std::string& text);

/// Prints "<program>: error: <what>" and ends every rank of the job with MPI_Abort, exit code 2
/// for std::invalid_argument (bad input), else 1. Only under mpirun.
[[noreturn]] void abort_job(const std::exception& error);

int run_distributable_binary(const std::string& program, const std::function<int()>& body);

}  // namespace vigap
