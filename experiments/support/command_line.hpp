#pragma once
// What every vigap binary shares on its command line: --help, --version, --seed, --out,
// --threads, parsing of size lists, and one place that turns exceptions into exit codes.
#include <boost/program_options.hpp>
#include <chrono>

#include "core/elapsed_seconds.hpp"
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/types.hpp"

/// Placed in each binary's main body right after its options are checked and before any file is
/// touched: in the command-line fuzzer (fuzz/command_line_fuzzer.cpp compiles experiments/*.cpp
/// with VIGAP_FUZZ_COMMAND_LINE defined) it returns 0 there, so that parsing and validation are
/// fuzzed without loading data or running work; in every other build it does nothing.
/// VIGAP_FUZZ_VALIDATION_ONLY is true there (the replicate driver then only validates: no files).
#ifdef VIGAP_FUZZ_COMMAND_LINE
#define VIGAP_FUZZ_STOP_AFTER_VALIDATION() return 0
#define VIGAP_FUZZ_VALIDATION_ONLY true
#else
#define VIGAP_FUZZ_STOP_AFTER_VALIDATION() static_cast<void>(0)
#define VIGAP_FUZZ_VALIDATION_ONLY false
#endif

namespace vigap {

/// Options every binary has.
struct CommonOptions {
  std::uint64_t seed = 0;  ///< --seed: seeds the one RNG of the run
  std::string out;         ///< --out: path of the JSON result (required where the binary says so)
  int threads = 2;         ///< --threads: threads for matrix products, >= 1
  std::string seeds;       ///< --seeds: consumed by the replicate driver (distributed/seed_replicates.hpp) before parsing
};

/// Adds --help, --version, --seed, --out and --threads to `description`, and --seeds when
/// `replicates` (the binary runs its study over seeds: distributed/seed_replicates.hpp).
void add_common_options(boost::program_options::options_description& description, CommonOptions& common,
                        const std::string& default_out, bool replicates = false);

/// Throws std::invalid_argument naming the argument if any of argv[1..argc) holds a placeholder
/// of boost::program_options' error messages (%canonical_option%, %original_token%, %option%,
/// %value%, %prefix%): Boost's what() substitutes the token into its own message and loops for
/// ever when the token holds the placeholder. Call before any po::command_line_parser on argv.
void refuse_option_parser_placeholders(int argc, char** argv, const std::string& program);

/// Parses argv into the variables bound in `description`. Refuses placeholder tokens first
/// (refuse_option_parser_placeholders). Prints usage and returns false on
/// --help, prints the version and returns false on --version; throws std::invalid_argument for
/// unknown options or bad values (naming the option). Applies --threads. `before_notify`, when
/// given, may change the parsed values before they are written to the bound variables (--protocol
/// applies its preset there: protocol_options.hpp).
bool parse_command_line(int argc, char** argv, const std::string& program, const std::string& summary,
                        const boost::program_options::options_description& description, const CommonOptions& common,
                        const std::function<void(boost::program_options::variables_map&)>& before_notify = {});

/// "200,200" -> {200, 200}; "" or "none" -> {}. Throws std::invalid_argument naming `option`.
std::vector<Index> parse_size_list(const std::string& text, const std::string& option);

/// Runs body() and maps failures to exit codes: 0 success, 2 bad input (std::invalid_argument,
/// command-line errors), 1 any other error (I/O, divergence). Errors go to stderr as
/// "<program>: error: <message>".
int run_binary(const std::string& program, const std::function<int()>& body);

}  // namespace vigap
