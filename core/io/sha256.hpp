#pragma once
// The SHA-256 hash (FIPS 180-4), to record which file a result or a checkpoint came from.
#include <string>
#include <string_view>

namespace vigap {

/// SHA-256 of `bytes` as 64 lowercase hexadecimal digits (sha256sum's output).
std::string sha256_hex(std::string_view bytes);

}  // namespace vigap
