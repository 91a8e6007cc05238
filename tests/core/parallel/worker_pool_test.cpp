#include "core/parallel/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "support/thread_count.hpp"

namespace vigap {
namespace {

TEST(WorkerPool, RunsEveryTaskOnceWithAnyThreadCount) {
  for (const int threads : {1, 2, 3}) {
    for (const Index count : {0, 1, 2, 7, 100}) {
      std::vector<std::atomic<int>> runs(static_cast<size_t>(count));
      testing::with_threads(threads, [&] {
        parallel_for_tasks(count, [&](Index i) { runs[static_cast<size_t>(i)].fetch_add(1); });
        return 0;
      });
      for (Index i = 0; i < count; ++i)
        EXPECT_EQ(runs[static_cast<size_t>(i)].load(), 1) << "threads " << threads << ", task " << i << " of " << count;
    }
  }
}

TEST(WorkerPool, NestedCallsRunInlineAndFinish) {
  std::atomic<int> total{0};
  testing::with_threads(2, [&] {
    parallel_for_tasks(6, [&](Index) { parallel_for_tasks(5, [&](Index) { total.fetch_add(1); }); });
    return 0;
  });
  EXPECT_EQ(total.load(), 30);
}

TEST(WorkerPool, RethrowsTheTasksExceptionAndStaysUsable) {
  testing::with_threads(2, [&] {
    EXPECT_THROW(parallel_for_tasks(50,
                                    [](Index i) {
                                      if (i == 17) throw std::invalid_argument("task 17");
                                    }),
                 std::invalid_argument);
    std::atomic<int> runs{0};
    parallel_for_tasks(40, [&](Index) { runs.fetch_add(1); });
    EXPECT_EQ(runs.load(), 40);
    return 0;
  });
}

}  // namespace
}  // namespace vigap
