// test_seed (tests/support/test_seed.hpp): base + the integer offset in VIGAP_TEST_SEED; unset or
// empty is 0; anything else that is not an integer fails the test process with a message naming
// the variable, what was expected and what was found.
#include "support/test_seed.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "support/expect_throw_message.hpp"
#include "support/run_binary.hpp"

namespace vigap {
namespace {

using testing::parse_test_seed_offset;
using testing::test_seed;

// Sets VIGAP_TEST_SEED for the scope of a test and restores what was there.
class ScopedTestSeed {
 public:
  explicit ScopedTestSeed(const char* value) {
    if (const char* old = std::getenv(testing::kTestSeedVariable)) saved_ = old;
    if (value == nullptr)
      unsetenv(testing::kTestSeedVariable);
    else
      setenv(testing::kTestSeedVariable, value, 1);
  }
  ~ScopedTestSeed() {
    if (saved_)
      setenv(testing::kTestSeedVariable, saved_->c_str(), 1);
    else
      unsetenv(testing::kTestSeedVariable);
  }

 private:
  std::optional<std::string> saved_;
};

TEST(TestSeed, ParsesIntegerOffsetsAndTreatsUnsetOrEmptyAsZero) {
  EXPECT_EQ(parse_test_seed_offset(nullptr), 0);
  EXPECT_EQ(parse_test_seed_offset(""), 0);
  EXPECT_EQ(parse_test_seed_offset("0"), 0);
  EXPECT_EQ(parse_test_seed_offset("17"), 17);
  EXPECT_EQ(parse_test_seed_offset("+4"), 4);
  EXPECT_EQ(parse_test_seed_offset("-3"), -3);
  EXPECT_EQ(parse_test_seed_offset("9223372036854775807"), 9223372036854775807LL);
}

TEST(TestSeed, NonIntegerOffsetIsAClearError) {
  for (const char* bad : {"abc", "1.5", "7x", " 7", "7 ", "--1", "+", "0x10", "99999999999999999999"}) {
    const std::string found = std::string("found '") + bad + "'";
    SCOPED_TRACE(bad);
    testing::expect_throw_message<std::invalid_argument>([&] { parse_test_seed_offset(bad); },
                                                         {"VIGAP_TEST_SEED", "must be an integer seed offset", found});
  }
}

TEST(TestSeed, AddsTheEnvironmentOffsetToTheBase) {
  {
    ScopedTestSeed unset(nullptr);
    EXPECT_EQ(test_seed(42), 42u);
  }
  {
    ScopedTestSeed empty("");
    EXPECT_EQ(test_seed(42), 42u);
  }
  {
    ScopedTestSeed five("5");
    EXPECT_EQ(test_seed(42), 47u);
    EXPECT_EQ(testing::test_seed_argument(42), "47");
  }
  {
    ScopedTestSeed minus_one("-1");
    EXPECT_EQ(test_seed(42), 41u);
    EXPECT_EQ(test_seed(0), ~std::uint64_t{0});  // modulo 2^64
  }
  {
    ScopedTestSeed bad("seven");
    testing::expect_throw_message<std::invalid_argument>([] { test_seed(42); },
                                                         {"VIGAP_TEST_SEED must be an integer seed offset", "found 'seven'"});
  }
}

// Reads the offset of the process's own environment; the next test runs it under a bad value.
TEST(TestSeed, SeedOfThisProcess) { EXPECT_EQ(test_seed(100) - 100, static_cast<std::uint64_t>(testing::test_seed_offset())); }

TEST(TestSeed, BadOffsetFailsTheTestProcessWithTheMessage) {
  const testing::BinaryRun run =
      testing::run_binary("vigap_core_tests", "--gtest_filter=TestSeed.SeedOfThisProcess");
  ASSERT_EQ(run.exit_code, 0) << run.output;  // sanity: the filter selects a passing test
  const std::string command = std::string("VIGAP_TEST_SEED=1.5 ") + VIGAP_BINARY_DIR +
                              "/vigap_core_tests --gtest_filter=TestSeed.SeedOfThisProcess 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << output;
  EXPECT_NE(output.find("VIGAP_TEST_SEED must be an integer seed offset"), std::string::npos) << output;
  EXPECT_NE(output.find("found '1.5'"), std::string::npos) << output;
  EXPECT_NE(output.find("[  FAILED  ] TestSeed.SeedOfThisProcess"), std::string::npos) << output;
}

}  // namespace
}  // namespace vigap
