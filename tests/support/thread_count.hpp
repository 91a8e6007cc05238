#pragma once
// Runs code with a given number of worker threads (omp_set_num_threads, which
// core/parallel/worker_pool.hpp follows), restoring the previous count afterwards.
#include <omp.h>

namespace vigap::testing {

template <typename Body>
auto with_threads(int threads, Body&& body) {
  struct Restore {
    int previous = omp_get_max_threads();
    ~Restore() { omp_set_num_threads(previous); }
  } restore;
  omp_set_num_threads(threads);
  return body();
}

}  // namespace vigap::testing
