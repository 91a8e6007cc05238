#pragma once
// Stable log-sigmoid and softplus.
#include <cmath>

namespace vigap {

/// softplus(x) = log(1 + exp(x)), stable for large |x|.
template <typename T>
inline T softplus(T x) {
  return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

/// log σ(x) = -softplus(-x), stable for large |x|.
template <typename T>
inline T log_sigmoid(T x) {
  return -softplus(-x);
}

/// σ(x) = 1 / (1 + exp(-x)), stable for large |x|.
template <typename T>
inline T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

}  // namespace vigap
