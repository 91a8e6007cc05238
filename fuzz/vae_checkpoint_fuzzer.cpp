// libFuzzer harness of the checkpoint reader. The first input byte chooses what the rest is:
// even, a whole checkpoint file (parse_vae_checkpoint: safetensors, metadata, architecture,
// tensors); odd, the architecture JSON of its metadata alone (VaeArchitecture::from_json), so that
// the fuzzer mutates that JSON directly rather than through the header's string escaping. A
// finding is any crash, sanitizer report, leak, allocation beyond libFuzzer's limit, or exception
// other than std::invalid_argument.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

#include "core/io/vae_checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] % 2 == 0) {
      vigap::parse_vae_checkpoint(rest, "fuzz-input");
    } else {
      nlohmann::json architecture;
      try {
        architecture = nlohmann::json::parse(rest);
      } catch (const nlohmann::json::exception&) {
        return 0;  // not JSON (or a number beyond double): parse_vae_checkpoint reports this itself
      }
      vigap::VaeArchitecture::from_json(architecture, "fuzz-input");
    }
  } catch (const std::invalid_argument&) {
    return 0;  // rejected with a message: the expected outcome for malformed input
  }
  return 0;
}
