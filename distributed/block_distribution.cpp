#include "distributed/block_distribution.hpp"

#include <mpi.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <utility>

#include "core/io/result_journal.hpp"
#include "distributed/mpi_session.hpp"

namespace vigap {

namespace {

enum Tag : int { kRequest = 1, kAssign = 2, kResult = 3, kError = 4 };

std::string receive_text(int source, int tag, MPI_Status* status_out = nullptr) {
  MPI_Status status;
  MPI_Probe(source, tag, MPI_COMM_WORLD, &status);
  int count = 0;
  MPI_Get_count(&status, MPI_CHAR, &count);
  std::string text(static_cast<std::size_t>(count), '\0');
  MPI_Recv(text.data(), count, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (status_out) *status_out = status;
  return text;
}

void send_text(const std::string& text, int destination, int tag) {
  if (text.size() > static_cast<std::size_t>(INT32_MAX)) throw std::runtime_error("a block's result exceeds 2 GB");
  MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, destination, tag, MPI_COMM_WORLD);
}

/// A RESULT message: the block index, the worker's timings so far (blocks, compute and
/// communication seconds), then the payload.
constexpr std::size_t kResultHeaderBytes = 2 * sizeof(std::int64_t) + 2 * sizeof(double);

std::string result_message(Index block, const RankTimings& timings, const std::string& payload) {
  std::string text(kResultHeaderBytes, '\0');
  const std::int64_t fields[2] = {block, timings.blocks};
  const double seconds[2] = {timings.compute_seconds, timings.communication_seconds};
  std::memcpy(text.data(), fields, sizeof fields);
  std::memcpy(text.data() + sizeof fields, seconds, sizeof seconds);
  return text + payload;
}

/// The block index of a RESULT message; its sender's timings into `timings`.
Index read_result_header(const std::string& text, RankTimings& timings) {
  if (text.size() < kResultHeaderBytes) throw std::runtime_error("a worker's result arrived truncated");
  std::int64_t fields[2];
  double seconds[2];
  std::memcpy(fields, text.data(), sizeof fields);
  std::memcpy(seconds, text.data() + sizeof fields, sizeof seconds);
  timings.blocks = fields[1];
  timings.compute_seconds = seconds[0];
  timings.communication_seconds = seconds[1];
  return fields[0];
}

/// Runs f() and adds its wall seconds to `seconds`.
template <typename F>
auto timed(double& seconds, const F& f) {
  const auto start = std::chrono::steady_clock::now();
  struct Add {
    double& seconds;
    std::chrono::steady_clock::time_point start;
    ~Add() { seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); }
  } add{seconds, start};
  return f();
}

/// A worker rank: request, compute, send, until rank 0 answers -1.
void work(const std::string& identity, const BlockComputation& compute, RankTimings& timings) {
  double& communication = timings.communication_seconds;
  timed(communication, [&] { send_text(identity, 0, kRequest); });
  for (;;) {
    std::int64_t block = -1;
    timed(communication, [&] { MPI_Recv(&block, 1, MPI_INT64_T, 0, kAssign, MPI_COMM_WORLD, MPI_STATUS_IGNORE); });
    if (block < 0) return;
    std::string payload;
    try {
      payload = timed(timings.compute_seconds, [&] { return compute(block); });
    } catch (const std::exception& e) {
      const char code = dynamic_cast<const std::invalid_argument*>(&e) ? '2' : '1';
      send_text(std::string(1, code) + "block " + std::to_string(block) + ": " + e.what(), 0, kError);
      MPI_Recv(&block, 1, MPI_INT64_T, 0, kAssign, MPI_COMM_WORLD, MPI_STATUS_IGNORE);  // rank 0 aborts the job
      return;
    }
    ++timings.blocks;
    const std::string message = result_message(block, timings, payload);
    timed(communication, [&] { send_text(message, 0, kResult); });
  }
}

/// The blocks not yet claimed, shared by rank 0's computing thread and its coordinating thread.
class BlockQueue {
 public:
  explicit BlockQueue(const std::vector<Index>& todo) : queue_(todo.begin(), todo.end()) {}
  /// The next block, or -1 when none is left (or after stop()).
  Index claim() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.empty() || stopped_) return -1;
    const Index b = queue_.front();
    queue_.pop_front();
    return b;
  }
  void stop() {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
  }

 private:
  std::mutex mutex_;
  std::deque<Index> queue_;
  bool stopped_ = false;
};

/// Rank 0's own computing thread: claims blocks until none is left, queues their results.
class LocalWorker {
 public:
  LocalWorker(BlockQueue& queue, const BlockComputation& compute)
      : thread_([this, &queue, &compute] {
          for (Index b = queue.claim(); b >= 0; b = queue.claim()) {
            std::string payload;
            double seconds = 0.0;
            try {
              payload = timed(seconds, [&] { return compute(b); });
            } catch (...) {
              std::lock_guard<std::mutex> lock(mutex_);
              error_ = std::current_exception();
              break;
            }
            std::lock_guard<std::mutex> lock(mutex_);
            done_.emplace_back(b, std::move(payload));
            ++timings_.blocks;
            timings_.compute_seconds += seconds;
          }
        }) {}
  ~LocalWorker() {
    if (thread_.joinable()) thread_.join();
  }
  /// The blocks computed so far and their seconds.
  RankTimings timings() {
    std::lock_guard<std::mutex> lock(mutex_);
    return timings_;
  }
  /// Hands the finished blocks to `finished`; rethrows the thread's exception.
  bool drain(const BlockReceiver& finished) {
    std::deque<std::pair<Index, std::string>> done;
    std::exception_ptr error;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done.swap(done_);
      error = error_;
    }
    for (auto& [b, payload] : done) finished(b, std::move(payload));
    if (error) std::rethrow_exception(error);
    return !done.empty();
  }

 private:
  std::mutex mutex_;
  std::deque<std::pair<Index, std::string>> done_;
  std::exception_ptr error_;
  RankTimings timings_;
  std::thread thread_;
};

void check_identity(const std::string& mine, const std::string& theirs, int rank) {
  if (mine == theirs) return;
  std::string message = "rank " + std::to_string(rank) + " runs another configuration than rank 0";
  const auto a = nlohmann::ordered_json::parse(mine, nullptr, false), b = nlohmann::ordered_json::parse(theirs, nullptr, false);
  if (!a.is_discarded() && !b.is_discarded())
    for (const std::string& d : describe_json_differences(a, b)) message += "; " + d;
  throw std::invalid_argument(message + " (every rank must be given the same command line)");
}

/// Rank 0: answers requests and collects results until every block arrived and every worker was
/// told that none is left.
void coordinate(const std::vector<Index>& todo, const std::string& identity, const BlockComputation& compute,
                const BlockReceiver& finished, std::vector<RankTimings>& timings) {
  const int size = mpi_place().size;
  timings.assign(static_cast<std::size_t>(size), RankTimings{});
  double& communication = timings[0].communication_seconds;
  BlockQueue queue(todo);
  std::size_t remaining = todo.size();
  int workers_active = size - 1;
  const auto receive = [&](Index b, std::string payload) {
    finished(b, std::move(payload));
    --remaining;
  };
  LocalWorker local(queue, compute);
  try {
    while (remaining > 0 || workers_active > 0) {
      bool busy = local.drain(receive);
      int flag = 0;
      MPI_Status status;
      timed(communication, [&] { MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status); });
      if (flag) {
        busy = true;
        const int source = status.MPI_SOURCE;
        const std::string text = timed(communication, [&] { return receive_text(source, status.MPI_TAG); });
        if (status.MPI_TAG == kError) {
          const std::string message = "rank " + std::to_string(source) + ", " + text.substr(1);
          if (text[0] == '2') throw std::invalid_argument(message);
          throw std::runtime_error(message);
        }
        if (status.MPI_TAG == kRequest) check_identity(identity, text, source);
        if (status.MPI_TAG == kResult) {
          const Index b = read_result_header(text, timings[static_cast<std::size_t>(source)]);
          receive(b, text.substr(kResultHeaderBytes));
        }
        const std::int64_t next = queue.claim();
        if (next < 0) --workers_active;
        timed(communication, [&] { MPI_Send(&next, 1, MPI_INT64_T, source, kAssign, MPI_COMM_WORLD); });
      }
      if (!busy) std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    const RankTimings own = local.timings();
    timings[0].blocks = own.blocks;
    timings[0].compute_seconds = own.compute_seconds;
  } catch (const std::exception& e) {
    // End the job now: unwinding would wait for the local thread's block (it may take hours).
    queue.stop();
    abort_job(e);
  }
}

}  // namespace

bool distribute_blocks(const std::vector<Index>& todo, const std::string& identity, const BlockComputation& compute,
                       const BlockReceiver& finished, std::vector<RankTimings>* timings_out) {
  const MpiPlace& place = mpi_place();
  std::vector<RankTimings> timings(1);
  bool is_rank_zero = true;
  if (!place.active || place.size == 1) {  // one process: the blocks in order, in this thread
    for (Index b : todo) {
      std::string payload = timed(timings[0].compute_seconds, [&] { return compute(b); });
      ++timings[0].blocks;
      finished(b, std::move(payload));
    }
  } else if (place.rank != 0) {
    work(identity, compute, timings[0]);
    is_rank_zero = false;
  } else {
    coordinate(todo, identity, compute, finished, timings);
  }
  if (timings_out) *timings_out = std::move(timings);
  return is_rank_zero;
}

}  // namespace vigap
