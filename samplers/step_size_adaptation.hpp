#pragma once
// Nesterov dual-averaging adaptation of the HMC step size, one independent state per chain.
#include "core/types.hpp"

namespace vigap {

/// Settings of dual averaging (Hoffman & Gelman 2014, Algorithm 5; Stan's defaults).
struct DualAveragingOptions {
  double target_acceptance = 0.8;  ///< δ: the acceptance statistic aimed at, in (0, 1)
  double gamma = 0.05;             ///< γ: regularization scale toward μ = log(10 ε₀)
  double t0 = 10.0;                ///< t₀: damps the first iterations
  double kappa = 0.75;             ///< κ: decay of the iterate average's weights, in (0.5, 1]

  void validate() const;  ///< throws std::invalid_argument naming the option
};

/// Per chain c, after iteration t with acceptance statistic α_t:
///   H̄_t = (1 - 1/(t + t₀)) H̄_{t-1} + (δ - α_t) / (t + t₀)
///   log ε_t = μ - √t H̄_t / γ,          μ = log(10 ε₀)
///   log ε̄_t = t^{-κ} log ε_t + (1 - t^{-κ}) log ε̄_{t-1}
/// ε_t is used during warm-up; ε̄ (final_step_sizes) is the step size kept for sampling.
class DualAveragingStepSize {
 public:
  /// initial_step_sizes: ε₀ per chain (all > 0).
  DualAveragingStepSize(const VectorD& initial_step_sizes, const DualAveragingOptions& options);

  /// Forgets the history and restarts from ε₀ = step_sizes (Stan does this after each metric update).
  void restart(const VectorD& step_sizes);
  /// Records the acceptance statistics of one iteration (one per chain); returns the new ε_t.
  const VectorD& update(const VectorD& acceptance_statistics);

  const VectorD& step_sizes() const { return step_sizes_; }   ///< ε_t: use during warm-up
  VectorD final_step_sizes() const;                           ///< exp(log ε̄_t): use after warm-up
  Index iterations() const { return counter_; }

 private:
  DualAveragingOptions options_;
  VectorD mu_;
  VectorD h_bar_;
  VectorD log_step_bar_;
  VectorD step_sizes_;
  Index counter_ = 0;
};

}  // namespace vigap
