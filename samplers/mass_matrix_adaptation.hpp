#pragma once
// Diagonal mass-matrix (metric) adaptation in Stan's warm-up windows.
#include <vector>

#include "core/types.hpp"

namespace vigap {

/// Stan's warm-up layout: an initial fast buffer (step size only), slow windows that double in
/// length (metric estimated at the end of each), a terminal fast buffer (step size only).
struct WarmupWindowOptions {
  Index initial_buffer = 75;  ///< Stan adapt_init_buffer
  Index terminal_buffer = 50; ///< Stan adapt_term_buffer
  Index base_window = 25;     ///< Stan adapt_window: the first slow window's length

  void validate() const;  ///< throws std::invalid_argument naming the option
};

/// One slow window: warm-up iterations [begin, end) whose draws estimate the metric.
struct WarmupWindow {
  Index begin = 0;
  Index end = 0;
};

/// The slow windows of a warm-up of num_warmup iterations, as Stan lays them out:
///  - num_warmup < 20: none (step size adaptation only);
///  - if initial + terminal + base > num_warmup: 15% initial, 10% terminal, the rest one base window;
///  - windows start after the initial buffer, each twice as long as the previous; a window is
///    stretched to end at num_warmup - terminal_buffer when the next one would not fit.
std::vector<WarmupWindow> stan_warmup_windows(Index num_warmup, const WarmupWindowOptions& options);

/// Running variance of the chains' draws in the current window, pooled over groups of
/// consecutive columns (the C chains of one datapoint share one estimate), and Stan's
/// regularized diagonal inverse mass:  m⁻¹ = n/(n+5) · var + 1e-3 · 5/(n+5),
/// with n the number of pooled draws and var the unbiased variance per coordinate.
class DiagonalMassMatrixAdaptation {
 public:
  /// dimension d; num_columns = B·C chains; group_size = C columns pooled per estimate.
  DiagonalMassMatrixAdaptation(Index dimension, Index num_columns, Index group_size);

  /// Adds one draw per chain (Z is d x num_columns), Welford updates in double.
  void add_draws(const MatrixD& Z);
  /// The regularized inverse mass (d x num_columns, equal within a group) from the draws so far.
  MatrixD regularized_inverse_mass() const;
  /// Starts a new window.
  void reset();
  Index draws_per_group() const { return count_; }

 private:
  Index dimension_;
  Index num_columns_;
  Index group_size_;
  Index count_ = 0;  ///< pooled draws per group
  MatrixD mean_;     ///< d x groups
  MatrixD m2_;       ///< d x groups: Σ (x - mean)²
};

}  // namespace vigap
