#pragma once
// Runs independent tasks on a few threads that wait passively (condition variables, no spinning),
// so that a busy machine — another process holding a core — slows a run down by the share of the
// core it takes, not by a barrier spinning against it.
#include <functional>

#include "core/types.hpp"

namespace vigap {

/// The number of threads parallel_for_tasks may use: omp_get_max_threads(), which --threads sets
/// (omp_set_num_threads) and OMP_NUM_THREADS presets. At least 1.
int worker_threads();

/// Calls task(i) once for every i in [0, count), on up to worker_threads() threads: the calling
/// thread and helpers of a process-wide pool take the next task index from a shared counter
/// (dynamic hand-out), so a thread that is descheduled delays only the task it holds. Helpers
/// sleep on a condition variable between calls; the caller waits only for helpers that have
/// started a task, never for one that has not woken yet. Runs the tasks in order on the calling
/// thread when count <= 1, worker_threads() == 1, inside another parallel_for_tasks task, inside an
/// OpenMP parallel region, or while another thread's call holds the pool. Tasks must write
/// disjoint outputs; their results must not depend on which thread runs them. The first
/// exception a task throws is rethrown here after every started task has finished.
void parallel_for_tasks(Index count, const std::function<void(Index)>& task);

}  // namespace vigap
