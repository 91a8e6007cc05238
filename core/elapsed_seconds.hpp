#pragma once
// Wall-clock seconds since a moment: what results' `timings` record.
#include <chrono>

namespace vigap {

/// Seconds of steady_clock from `start` to now.
inline double seconds_since(const std::chrono::steady_clock::time_point& start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace vigap
