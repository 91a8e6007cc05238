#pragma once
// Progress lines on stderr for long work, shown only when stderr is a terminal.
//
// The one progress mechanism of vigap:
// - Every library function that does long work (estimators, samplers, optimizers, trainers,
//   analyses) takes a trailing parameter `const ProgressReporter& progress = quiet_progress()`,
//   and hands it on to the long work it calls.
// - Library code never constructs a terminal-detecting reporter, and options structs have no
//   "show progress" switch: whether progress is shown is the caller's decision alone.
// - Binaries construct one `ProgressReporter progress;` (enabled exactly when stderr is a
//   terminal) and pass it down; tests and benchmarks pass nothing (quiet).
// - A ProgressReporter is immutable: update(), line() and finish() only write to stderr.
#include <string>

namespace vigap {

/// Writes progress to stderr when enabled; by default enabled exactly when stderr is a
/// terminal, so logs and CI stay quiet. Carries no other state.
class ProgressReporter {
 public:
  ProgressReporter();                      ///< enabled iff stderr is a terminal (for binaries)
  explicit ProgressReporter(bool enabled);
  bool enabled() const { return enabled_; }
  /// Replaces the current status line (carriage return, no newline).
  void update(const std::string& line) const;
  /// Prints a line that stays (ends the status line first).
  void line(const std::string& text) const;
  /// Ends a pending status line.
  void finish() const;

 private:
  bool enabled_;
};

/// The disabled reporter every library function's `progress` parameter defaults to (one
/// immutable static object).
const ProgressReporter& quiet_progress();

}  // namespace vigap
