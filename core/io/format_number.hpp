#pragma once
// One number through a printf pattern, for the tables binaries and analyses print.
#include <cstdio>
#include <string>

namespace vigap {

/// snprintf(pattern, value) into a string (at most 63 characters), e.g. format_number("%.4f", x).
inline std::string format_number(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

}  // namespace vigap
