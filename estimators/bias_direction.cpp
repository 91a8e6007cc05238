#include "estimators/bias_direction.hpp"

#include <array>
#include <stdexcept>
#include <utility>

namespace vigap {

namespace {

constexpr std::array<std::pair<BiasDirection, const char*>, 8> kNames{{
    {BiasDirection::exact, "exact"},
    {BiasDirection::unbiased, "unbiased"},
    {BiasDirection::lower_bound, "lower bound"},
    {BiasDirection::stochastic_lower_bound, "stochastic lower bound"},
    {BiasDirection::stochastic_upper_bound, "stochastic upper bound"},
    {BiasDirection::biased_low, "biased low"},
    {BiasDirection::biased_high, "biased high"},
    {BiasDirection::indeterminate, "indeterminate"},
}};

/// -1 errs low, +1 errs high, 0 neither.
int sign(BiasDirection d) {
  switch (d) {
    case BiasDirection::lower_bound:
    case BiasDirection::stochastic_lower_bound:
    case BiasDirection::biased_low: return -1;
    case BiasDirection::stochastic_upper_bound:
    case BiasDirection::biased_high: return 1;
    default: return 0;
  }
}

}  // namespace

std::string to_string(BiasDirection direction) {
  for (const auto& [d, name] : kNames)
    if (d == direction) return name;
  throw std::invalid_argument("to_string(BiasDirection): unknown value " + std::to_string(static_cast<int>(direction)));
}

BiasDirection parse_bias_direction(const std::string& text) {
  std::string accepted;
  for (const auto& [d, name] : kNames) {
    if (text == name) return d;
    accepted += (accepted.empty() ? "" : ", ") + std::string(name);
  }
  throw std::invalid_argument("bias direction: expected one of " + accepted + ", found '" + text + "'");
}

BiasDirection bias_of_difference(BiasDirection a, BiasDirection b) {
  if (a == BiasDirection::indeterminate || b == BiasDirection::indeterminate) return BiasDirection::indeterminate;
  if (a == BiasDirection::exact && b == BiasDirection::exact) return BiasDirection::exact;
  const int sa = sign(a), sb = -sign(b);  // subtracting a low estimate errs high
  if (sa == 0 && sb == 0) return BiasDirection::unbiased;
  if (sa != 0 && sb != 0 && sa != sb) return BiasDirection::indeterminate;
  return (sa != 0 ? sa : sb) < 0 ? BiasDirection::biased_low : BiasDirection::biased_high;
}

}  // namespace vigap
