#pragma once
// Test helpers that write small IDX files, raw or gzip-compressed.
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace vigap::testing {

/// The bytes of an IDX file: big-endian magic and dimensions, then `data`.
inline std::string idx_bytes(std::uint32_t magic, const std::vector<std::uint32_t>& dims,
                             const std::vector<unsigned char>& data) {
  std::string bytes;
  auto put = [&](std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((v >> shift) & 0xffu));
  };
  put(magic);
  for (std::uint32_t d : dims) put(d);
  bytes.append(data.begin(), data.end());
  return bytes;
}

/// Writes `bytes` to `path` as is.
inline void write_raw_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

/// Writes `bytes` gzip-compressed to `path`.
inline void write_gzip_file(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  if (file == nullptr || gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) != static_cast<int>(bytes.size()))
    throw std::runtime_error("test helper: cannot write " + path);
  gzclose(file);
}

}  // namespace vigap::testing
