// libFuzzer harness of the restricted state_dict pickle reader (parse_state_dict_pickle) on its
// own, since mutations of a whole torch.save archive rarely pass its CRC-32 checks. A finding is
// any crash, sanitizer report, leak, or exception other than std::invalid_argument; and, for an
// input that parses, a tensor whose sizes, strides and offset reach beyond its storage.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "core/io/state_dict_pickle.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    for (const auto& [name, t] : vigap::parse_state_dict_pickle(bytes, "fuzz-input")) {
      if (t.size.size() != t.stride.size()) std::abort();
      std::int64_t last = t.storage_offset;
      bool empty = false;
      for (std::size_t k = 0; k < t.size.size(); ++k) {
        if (t.size[k] == 0) empty = true;
        if (t.size[k] > 0) last += (t.size[k] - 1) * t.stride[k];
      }
      if (!empty && last >= t.storage_numel) std::abort();
      vigap::dtype_size(t.dtype);
    }
  } catch (const std::invalid_argument&) {
    return 0;  // rejected with a message: the expected outcome for malformed input
  }
  return 0;
}
