#pragma once
// Reading the entries of a ZIP archive held in memory (the container of torch.save files).
//
// Layout (PKWARE APPNOTE 6.3): local file headers, each followed by its entry's data; a central
// directory with one 46-byte header per entry (name, method, CRC-32, sizes, offset of the local
// header); the end-of-central-directory record (22 bytes + comment) at the end, preceded by the
// ZIP64 end record and locator when a count, size or offset does not fit in 16/32 bits (PyTorch
// writes the ZIP64 records always). Entries are "stored" (method 0, what PyTorch writes) or
// "deflated" (method 8). Encrypted entries, multi-disk archives and data descriptors without
// sizes in the central directory are refused.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigap {

/// One entry of the central directory.
struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  ///< 0 stored, 8 deflated
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t data_offset = 0;  ///< of the entry's (compressed) data, after its local header
};

/// The central directory of an archive whose bytes the caller keeps alive.
class ZipArchive {
 public:
  /// Parses the end records and the central directory of `bytes`; `source` names the archive in
  /// errors. Checks that every entry's local header and data lie within `bytes`. Throws
  /// std::invalid_argument naming `source`, the record or entry, and its offset when it is malformed.
  ZipArchive(std::string_view bytes, std::string source);

  const std::vector<ZipEntry>& entries() const { return entries_; }

  /// The entry named `name`, or nullptr.
  const ZipEntry* find(std::string_view name) const;

  /// The uncompressed contents of `entry` (one of entries()), whose CRC-32 must match the
  /// directory's. Throws std::invalid_argument naming the entry on a mismatch or bad deflate data.
  std::string read(const ZipEntry& entry) const;

  const std::string& source() const { return source_; }

 private:
  std::string_view bytes_;
  std::string source_;
  std::vector<ZipEntry> entries_;
};

/// True if `bytes` begins with a ZIP local file header signature ("PK\3\4").
bool looks_like_zip(std::string_view bytes);

}  // namespace vigap
