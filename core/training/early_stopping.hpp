#pragma once
// Early stopping: training ends when the validation objective has not improved on its best for
// `patience` epochs in a row, and the parameters of the best epoch are the ones kept.
#include <limits>
#include <stdexcept>
#include <string>

namespace vigap {

/// Tracks the best validation objective (higher is better) over epochs.
class EarlyStopping {
 public:
  /// patience >= 0; 0 never stops (the best epoch is still tracked).
  explicit EarlyStopping(int patience) : patience_(patience) {
    if (patience < 0)
      throw std::invalid_argument("--early-stopping-patience must be >= 0, found " + std::to_string(patience));
  }

  /// Records epoch `epoch`'s (1-based) validation objective; true when it is a new best (strictly
  /// above every earlier one: the caller then keeps this epoch's parameters).
  bool record(int epoch, double validation_objective) {
    if (validation_objective > best_) {
      best_ = validation_objective;
      best_epoch_ = epoch;
      epochs_without_improvement_ = 0;
      return true;
    }
    ++epochs_without_improvement_;
    return false;
  }

  /// Whether training should end now: `patience` epochs in a row without a new best.
  bool should_stop() const { return patience_ > 0 && epochs_without_improvement_ >= patience_; }

  int best_epoch() const { return best_epoch_; }  ///< 0 before any record
  double best() const { return best_; }

 private:
  int patience_ = 0;
  int best_epoch_ = 0;
  int epochs_without_improvement_ = 0;
  double best_ = -std::numeric_limits<double>::infinity();
};

}  // namespace vigap
