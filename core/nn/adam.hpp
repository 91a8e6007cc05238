#pragma once
// Adam (Kingma & Ba 2015) on one flat parameter vector.
#include "core/types.hpp"

namespace vigap {

/// Settings of Adam; the defaults are the paper's.
struct AdamOptions {
  double beta1 = 0.9;     ///< decay of the first-moment estimate, in [0, 1)
  double beta2 = 0.999;   ///< decay of the second-moment estimate, in [0, 1)
  double epsilon = 1e-8;  ///< added to sqrt(v̂), > 0
  /// Throws std::invalid_argument naming the field when a value is out of range.
  void validate() const;
};

/// Minimizes: θ <- θ - lr · m̂ / (sqrt(v̂) + ε), with m, v the bias-corrected moment estimates
/// of the gradient g. One fused pass over the vector; no allocation after construction.
class Adam {
 public:
  Adam(Index num_parameters, AdamOptions options = {});

  /// One step with gradient g of the loss (to be minimized) at learning rate lr > 0.
  void step(VectorF& parameters, const VectorF& gradient, double learning_rate);

  Index steps_taken() const { return step_count_; }

 private:
  AdamOptions options_;
  VectorF first_moment_;
  VectorF second_moment_;
  Index step_count_ = 0;
};

}  // namespace vigap
