#pragma once
// Progress lines on stderr for long work, shown only when stderr is a terminal.
#include <string>

namespace vigap {

/// Writes progress to stderr when enabled; by default enabled exactly when stderr is a
/// terminal, so logs and CI stay quiet. Carries no other state.
class ProgressReporter {
 public:
  ProgressReporter();                      ///< enabled iff stderr is a terminal
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

}  // namespace vigap
