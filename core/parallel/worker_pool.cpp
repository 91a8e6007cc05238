#include "core/parallel/worker_pool.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace vigap {

namespace {

thread_local bool inside_task = false;

/// One call of parallel_for_tasks: the task, the next index to hand out, and the helpers inside.
struct Job {
  const std::function<void(Index)>* task = nullptr;
  Index count = 0;
  std::atomic<Index> next{0};
  std::mutex error_mutex;
  std::exception_ptr error;

  void work() {
    inside_task = true;
    for (Index i = next.fetch_add(1); i < count; i = next.fetch_add(1)) {
      try {
        (*task)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next.store(count);  // hand out nothing more
      }
    }
    inside_task = false;
  }
};

class WorkerPool {
 public:
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : helpers_) t.join();
  }

  /// False when another thread's call holds the pool (the caller then runs the tasks itself).
  bool run(Index count, const std::function<void(Index)>& task, int threads) {
    std::unique_lock<std::mutex> submit(submit_mutex_, std::try_to_lock);
    if (!submit.owns_lock()) return false;
    const int helpers = static_cast<int>(std::min<Index>(threads - 1, count - 1));
    while (static_cast<int>(helpers_.size()) < helpers) {
      const int id = static_cast<int>(helpers_.size());
      helpers_.emplace_back([this, id] { helper_loop(id); });
    }
    Job job;
    job.task = &task;
    job.count = count;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &job;
      wanted_ = helpers;
      ++generation_;
    }
    wake_.notify_all();
    job.work();
    {
      // Close the job to helpers that have not joined yet, and wait for those inside it.
      std::unique_lock<std::mutex> lock(mutex_);
      job_ = nullptr;
      done_.wait(lock, [this] { return active_ == 0; });
    }
    if (job.error) std::rethrow_exception(job.error);
    return true;
  }

 private:
  void helper_loop(int id) {
    std::uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      if (job_ == nullptr || id >= wanted_) continue;
      Job* job = job_;
      ++active_;
      lock.unlock();
      job->work();
      lock.lock();
      if (--active_ == 0) done_.notify_all();
    }
  }

  std::mutex submit_mutex_;  ///< held by the one call using the pool
  std::mutex mutex_;         ///< guards everything below
  std::condition_variable wake_, done_;
  std::vector<std::thread> helpers_;
  Job* job_ = nullptr;
  int wanted_ = 0;
  int active_ = 0;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
};

WorkerPool& pool() {
  static WorkerPool instance;
  return instance;
}

}  // namespace

int worker_threads() { return std::max(1, omp_get_max_threads()); }

void parallel_for_tasks(Index count, const std::function<void(Index)>& task) {
  const int threads = worker_threads();
  if (count > 1 && threads > 1 && !inside_task && !omp_in_parallel() && pool().run(count, task, threads)) return;
  const bool outer = !inside_task;
  inside_task = true;
  try {
    for (Index i = 0; i < count; ++i) task(i);
  } catch (...) {
    if (outer) inside_task = false;
    throw;
  }
  if (outer) inside_task = false;
}

}  // namespace vigap
