// libFuzzer harness of the safetensors reader (parse_safetensors). A finding is any crash,
// sanitizer report, leak, or exception other than std::invalid_argument; and, for an input that
// parses, a file that does not survive serialize_safetensors and a second parse unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "core/io/safetensors.hpp"

namespace {

bool same_bits(const vigap::SafetensorsFile& a, const vigap::SafetensorsFile& b) {
  if (a.metadata != b.metadata || a.tensors.size() != b.tensors.size()) return false;
  for (auto i = a.tensors.begin(), j = b.tensors.begin(); i != a.tensors.end(); ++i, ++j) {
    if (i->first != j->first || i->second.shape != j->second.shape || i->second.data.size() != j->second.data.size())
      return false;
    if (!i->second.data.empty() &&
        std::memcmp(i->second.data.data(), j->second.data.data(), 4 * i->second.data.size()) != 0)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  vigap::SafetensorsFile file;
  try {
    file = vigap::parse_safetensors(bytes, "fuzz-input");
  } catch (const std::invalid_argument&) {
    return 0;  // rejected with a message: the expected outcome for malformed input
  }
  const std::string again = vigap::serialize_safetensors(file);
  if (!same_bits(vigap::parse_safetensors(again, "fuzz-input (serialized again)"), file)) std::abort();
  return 0;
}
