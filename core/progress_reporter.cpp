#include "core/progress_reporter.hpp"

#include <unistd.h>

#include <cstdio>

namespace vigap {

ProgressReporter::ProgressReporter() : enabled_(isatty(STDERR_FILENO) == 1) {}
ProgressReporter::ProgressReporter(bool enabled) : enabled_(enabled) {}

const ProgressReporter& quiet_progress() {
  static const ProgressReporter quiet(false);
  return quiet;
}

void ProgressReporter::update(const std::string& text) const {
  if (!enabled_) return;
  std::fprintf(stderr, "\r\033[K%s", text.c_str());
  std::fflush(stderr);
}

void ProgressReporter::line(const std::string& text) const {
  if (!enabled_) return;
  std::fprintf(stderr, "\r\033[K%s\n", text.c_str());
  std::fflush(stderr);
}

void ProgressReporter::finish() const {
  if (!enabled_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace vigap
