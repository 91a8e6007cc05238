#pragma once
// Learning rate as a function of the epoch.
#include <string>

namespace vigap {

/// lr(epoch) for epoch = 0, 1, ...:
///   constant:     lr0
///   exponential:  lr0 · decay^epoch
///   step:         lr0 · decay^floor(epoch / step_epochs)
///   cosine:       lr_min + (lr0 - lr_min) · (1 + cos(π · epoch / total_epochs)) / 2, lr_min = lr0 · decay
struct LearningRateSchedule {
  enum class Kind { constant, exponential, step, cosine };
  Kind kind = Kind::constant;
  double initial = 1e-3;   ///< lr0 > 0
  double decay = 1.0;      ///< in (0, 1]
  int step_epochs = 1;     ///< >= 1, for `step`
  int total_epochs = 1;    ///< >= 1, for `cosine`

  /// Throws std::invalid_argument naming the option when a value is out of range.
  void validate() const;
  double learning_rate(int epoch) const;
};

/// Parses "constant", "exponential", "step" or "cosine".
LearningRateSchedule::Kind parse_learning_rate_schedule(const std::string& name);
std::string to_string(LearningRateSchedule::Kind kind);

}  // namespace vigap
