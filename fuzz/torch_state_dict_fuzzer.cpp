// libFuzzer harness of the state_dict file reader (parse_state_dict_file): format detection, the
// zip archive reader (core/io/zip_archive.hpp), the restricted pickle reader and the gathering of
// strided tensors from their storages. A finding is any crash, sanitizer report, leak, or
// exception other than std::invalid_argument; and, for an input that parses, a tensor whose
// values do not fill its shape.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "core/io/state_dict_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  vigap::StateDict state;
  try {
    state = vigap::parse_state_dict_file(bytes, "fuzz-input");
  } catch (const std::invalid_argument&) {
    return 0;  // rejected with a message: the expected outcome for malformed input
  }
  if (state.order.size() != state.tensors.size()) std::abort();
  for (const auto& [name, tensor] : state.tensors) {
    std::size_t count = 1;
    for (vigap::Index n : tensor.shape) count *= static_cast<std::size_t>(n);
    if (count != tensor.data.size()) std::abort();
  }
  return 0;
}
