// Regression tests of the findings of fuzz/command_line_fuzzer.cpp: each argv is the fuzzer's
// input, written out here, and must now be rejected with a clear std::invalid_argument.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "experiments/support/command_line.hpp"
#include "support/expect_throw_message.hpp"

namespace vigap {
namespace {

namespace po = boost::program_options;
using testing::expect_throw_message;

/// Parses `arguments` (after the program name) with the common options only.
void parse(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), "vigap-evaluate");
  std::vector<char*> argv;
  for (std::string& a : arguments) argv.push_back(a.data());
  CommonOptions common;
  po::options_description d("Options");
  add_common_options(d, common, "evaluate.json");
  parse_command_line(static_cast<int>(argv.size()), argv.data(), "vigap-evaluate", "test", d, common);
}

// The fuzzer's input to vigap-evaluate held the token "--o\x97...%original_token%\x97...ut": an
// unknown option, whose Boost error message substitutes the token for %original_token% again and
// again, for ever (a hang in what()). Such tokens are now refused before Boost sees them.
TEST(CommandLineFuzzFindings, TokenHoldingAParserPlaceholderIsRejectedInsteadOfHanging) {
  expect_throw_message<std::invalid_argument>(
      [] { parse({"--seed", "\x04", "--o\x97\x97%original_token%\x97\x97ut", "evaluate"}); },
      {"vigap-evaluate", "argument 3", "'%original_token%'"});
  expect_throw_message<std::invalid_argument>([] { parse({"--out", "a%value%b"}); }, {"argument 2", "'%value%'"});
  // A '%' elsewhere is an ordinary character.
  parse({"--out", "100%.json"});
}

// The fuzzer's input to vigap-report (which parsed its options without parse_command_line) held
// the tokens "-", "-%original_token%-thr-\b5\x01", "ea", "-", "irx%": the same hang. The check
// is now a function of its own that vigap-report calls too; bad_input_test.cpp runs every vigap-*
// binary on such a token.
TEST(CommandLineFuzzFindings, ReportsTokenHoldingAParserPlaceholderIsRejected) {
  std::vector<std::string> arguments{"vigap-report", "-", "-%original_token%-thr-\b5\x01", "ea", "-", "irx%"};
  std::vector<char*> argv;
  for (std::string& a : arguments) argv.push_back(a.data());
  expect_throw_message<std::invalid_argument>(
      [&] { refuse_option_parser_placeholders(static_cast<int>(argv.size()), argv.data(), "vigap-report"); },
      {"vigap-report", "argument 2", "'%original_token%'"});
  std::vector<std::string> fine{"vigap-report", "--dir", "100%/x"};
  std::vector<char*> fine_argv;
  for (std::string& a : fine) fine_argv.push_back(a.data());
  refuse_option_parser_placeholders(static_cast<int>(fine_argv.size()), fine_argv.data(), "vigap-report");
}

}  // namespace
}  // namespace vigap
