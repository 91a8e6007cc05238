#pragma once
// The stopping rule of the local fits (Cremer, Li & Duvenaud 2018): every check_interval steps a
// datapoint's objective estimate is compared with its best; it stops after `patience` checks in a
// row without improvement. optimize_local_gaussian and optimize_local_flow share its bookkeeping.
#include <cmath>

#include "core/types.hpp"

namespace vigap {

/// Records one check of a datapoint: when `value` is finite and exceeds `best`, it becomes the
/// best and the function returns true (the caller keeps the parameters it was measured at);
/// `checks_without_improvement` is reset when it exceeds the old best by more than `tolerance`
/// (>= 0) and incremented otherwise, so a gain within the tolerance still replaces the kept
/// parameters but counts toward patience. The caller stops the datapoint once
/// checks_without_improvement >= patience.
inline bool record_check(double value, double tolerance, double& best, Index& checks_without_improvement) {
  if (!std::isfinite(value) || !(value > best)) {
    ++checks_without_improvement;
    return false;
  }
  if (value > best + tolerance)
    checks_without_improvement = 0;
  else
    ++checks_without_improvement;
  best = value;
  return true;
}

}  // namespace vigap
