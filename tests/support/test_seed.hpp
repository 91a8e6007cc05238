#pragma once
// Seeds of stochastic tests (test support): every seed a stochastic test uses is test_seed(base),
// so that the whole suite can be rerun on other draws by setting VIGAP_TEST_SEED (an integer
// offset; scripts/run_seed_sweep.sh runs the stochastic tests under offsets 1..20). A test whose
// assertions hold only for its default draws is a test tuned to one seed: tolerances come from
// reported standard errors, sized for a false-failure rate <~ 1e-4 per assertion.
//
// CMake labels every test of a suite whose file calls test_seed( with the ctest label `stochastic`
// (`ctest -L stochastic` runs them).
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace vigap::testing {

/// The name of the environment variable holding the seed offset.
inline constexpr const char* kTestSeedVariable = "VIGAP_TEST_SEED";

/// The offset written in `text`: a decimal integer with an optional sign, nothing else (no spaces);
/// nullptr or "" is 0. Throws std::invalid_argument naming VIGAP_TEST_SEED, what was expected and
/// what was found.
inline std::int64_t parse_test_seed_offset(const char* text) {
  if (text == nullptr || *text == '\0') return 0;
  const std::string found(text);
  const auto fail = [&] {
    throw std::invalid_argument(std::string(kTestSeedVariable) +
                                " must be an integer seed offset (e.g. 7, -3; unset or empty for 0), found '" +
                                found + "'");
  };
  const char first = found.front();
  if (!(first == '-' || first == '+' || (first >= '0' && first <= '9'))) fail();  // strtoll skips spaces
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || errno == ERANGE) fail();
  return static_cast<std::int64_t>(value);
}

/// The offset in the environment variable VIGAP_TEST_SEED (0 when unset or empty).
inline std::int64_t test_seed_offset() { return parse_test_seed_offset(std::getenv(kTestSeedVariable)); }

/// The seed a stochastic test uses: base + the offset in VIGAP_TEST_SEED (modulo 2^64). With the
/// variable unset this is base, so default runs are unchanged. Throws std::invalid_argument (which
/// fails the test, with the message) when the variable is not an integer.
inline std::uint64_t test_seed(std::uint64_t base) { return base + static_cast<std::uint64_t>(test_seed_offset()); }

/// test_seed(base) as a decimal string, for the --seed of a binary a test runs.
inline std::string test_seed_argument(std::uint64_t base) { return std::to_string(test_seed(base)); }

}  // namespace vigap::testing
