// libFuzzer harness of the command-line parsing and option validation of every binary in
// experiments/. The first input byte chooses the binary (modulo their number); the rest, split at
// NUL bytes (a final NUL ends the last argument), is its argv after the program name. Each binary's main body runs as in the real
// program but returns right after validating its options (VIGAP_FUZZ_STOP_AFTER_VALIDATION, so no
// file is read or written and no work runs). A finding is any crash, sanitizer report, leak, or an
// exit code other than 0 (parsed, or --help/--version) and 2 (bad input, reported by
// std::invalid_argument): exit code 1 means an exception other than std::invalid_argument
// escaped the validation.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#define VIGAP_FUZZ_BINARY(stem, name) int vigap_fuzz_main_##stem(int argc, char** argv);
#include "fuzz/fuzzed_binaries.inc"
#undef VIGAP_FUZZ_BINARY

namespace {

struct FuzzedBinary {
  const char* name;
  int (*main)(int, char**);
};

constexpr FuzzedBinary kBinaries[] = {
#define VIGAP_FUZZ_BINARY(stem, name) {name, &vigap_fuzz_main_##stem},
#include "fuzz/fuzzed_binaries.inc"
#undef VIGAP_FUZZ_BINARY
};
constexpr std::size_t kMaxArguments = 64;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const FuzzedBinary& binary = kBinaries[data[0] % (sizeof kBinaries / sizeof kBinaries[0])];
  std::vector<std::string> arguments{binary.name};
  std::string current;
  for (std::size_t i = 1; i < size; ++i) {
    if (data[i] == 0) {
      arguments.push_back(current);
      current.clear();
      if (arguments.size() > kMaxArguments) return 0;
    } else {
      current.push_back(static_cast<char>(data[i]));
    }
  }
  if (!current.empty()) arguments.push_back(current);  // so "a\0b\0" is {a, b}
  std::vector<char*> argv;
  for (std::string& a : arguments) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int code = binary.main(static_cast<int>(arguments.size()), argv.data());
  if (code != 0 && code != 2) {
    std::fprintf(stderr, "command_line_fuzzer: %s exited with %d (expected 0 or 2)\n", binary.name, code);
    std::abort();
  }
  return 0;
}
