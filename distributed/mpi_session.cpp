#include "distributed/mpi_session.hpp"

#include <mpi.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "experiments/support/command_line.hpp"

namespace vigap {

namespace {

MpiPlace place;

}  // namespace

bool launched_by_mpirun() { return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr; }

const MpiPlace& mpi_place() { return place; }

void mpi_barrier() {
  if (place.active) MPI_Barrier(MPI_COMM_WORLD);
}

std::string broadcast_from_rank0(const std::string& text) {
  if (!place.active) return text;
  unsigned long long size = text.size();
  MPI_Bcast(&size, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
  std::string received = place.rank == 0 ? text : std::string(size, '\0');
  if (size > 0) MPI_Bcast(received.data(), static_cast<int>(size), MPI_CHAR, 0, MPI_COMM_WORLD);
  return received;
}

void abort_job(const std::exception& error) {
  std::cerr << place.program << ": error: " << error.what() << std::endl;
  MPI_Abort(MPI_COMM_WORLD, dynamic_cast<const std::invalid_argument*>(&error) ? 2 : 1);
  std::abort();  // MPI_Abort does not return
}

int run_distributable_binary(const std::string& program, const std::function<int()>& body) {
  if (!launched_by_mpirun()) return run_binary(program, body);
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS || provided < MPI_THREAD_FUNNELED) {
    std::cerr << program << ": error: MPI_Init_thread did not provide MPI_THREAD_FUNNELED\n";
    return 1;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &place.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &place.size);
  place.active = true;
  place.program = program;
  // run_binary prints the error and maps it to an exit code; a nonzero code ends every rank.
  const std::string name = place.rank == 0 ? program : program + " (rank " + std::to_string(place.rank) + ")";
  int code = 0;
  if (place.rank == 0) {
    code = run_binary(name, body);
  } else {
    // A worker's error waits a moment before printing: when rank 0 fails too (the same bad input on
    // every rank), its MPI_Abort ends this rank first and the message appears once.
    code = run_binary(name, [&] {
      try {
        return body();
      } catch (const std::exception&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        throw;
      }
    });
  }
  if (code != 0) {
    std::cerr.flush();
    MPI_Abort(MPI_COMM_WORLD, code);
  }
  MPI_Finalize();
  return code;
}

}  // namespace vigap
