#include "core/io/zip_archive.hpp"

#include <zlib.h>

#include <algorithm>
#include <stdexcept>

namespace vigap {

namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr std::uint32_t kZip64End = 0x06064b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::uint64_t kMaxDeflateRatio = 1032;  // deflate cannot expand data beyond ~1032:1

/// Little-endian reads at bounds-checked offsets of the archive.
class Reader {
 public:
  Reader(std::string_view bytes, const std::string& source) : bytes_(bytes), source_(source) {}

  std::uint64_t le(std::uint64_t offset, int width, const std::string& what) const {
    need(offset, static_cast<std::uint64_t>(width), what);
    std::uint64_t value = 0;
    for (int b = width - 1; b >= 0; --b)
      value = (value << 8) | static_cast<unsigned char>(bytes_[static_cast<std::size_t>(offset) + b]);
    return value;
  }
  std::uint16_t u16(std::uint64_t offset, const std::string& what) const {
    return static_cast<std::uint16_t>(le(offset, 2, what));
  }
  std::uint32_t u32(std::uint64_t offset, const std::string& what) const {
    return static_cast<std::uint32_t>(le(offset, 4, what));
  }
  std::uint64_t u64(std::uint64_t offset, const std::string& what) const { return le(offset, 8, what); }

  /// Throws unless [offset, offset + length) lies within the archive.
  void need(std::uint64_t offset, std::uint64_t length, const std::string& what) const {
    if (offset > bytes_.size() || length > bytes_.size() - offset)
      throw std::invalid_argument("zip archive '" + source_ + "': " + what + " at offset " + std::to_string(offset) +
                                  " needs " + std::to_string(length) + " bytes, found only " +
                                  std::to_string(offset > bytes_.size() ? 0 : bytes_.size() - offset) +
                                  " before the end of the file (truncated?)");
  }
  void expect_signature(std::uint64_t offset, std::uint32_t signature, const std::string& what) const {
    const std::uint32_t found = u32(offset, what);
    if (found != signature)
      throw std::invalid_argument("zip archive '" + source_ + "': expected the signature of " + what + " at offset " +
                                  std::to_string(offset) + ", found 0x" + hex(found));
  }
  static std::string hex(std::uint64_t value) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    do {
      s.insert(s.begin(), digits[value & 0xf]);
      value >>= 4;
    } while (value != 0);
    return s;
  }
  std::size_t size() const { return bytes_.size(); }
  std::string_view bytes() const { return bytes_; }

 private:
  std::string_view bytes_;
  const std::string& source_;
};

/// The offset of the end-of-central-directory record: the last signature within the final
/// 22 + 65535 bytes whose comment length reaches exactly the end of the file.
std::uint64_t find_end_record(const Reader& r, const std::string& source) {
  if (r.size() >= 22) {
    const std::uint64_t lowest = r.size() > 22 + 65535 ? r.size() - 22 - 65535 : 0;
    for (std::uint64_t offset = r.size() - 22;; --offset) {
      if (r.u32(offset, "end of central directory") == kEndOfCentralDirectory &&
          offset + 22 + r.u16(offset + 20, "end of central directory") == r.size())
        return offset;
      if (offset == lowest) break;
    }
  }
  throw std::invalid_argument("zip archive '" + source +
                              "': no end-of-central-directory record (not a zip file, or truncated)");
}

/// Where the central directory is and how many entries it has, from the end records.
struct Directory {
  std::uint64_t offset = 0, size = 0, entries = 0;
};

Directory read_directory_location(const Reader& r, const std::string& source) {
  const std::uint64_t end = find_end_record(r, source);
  const std::string what = "end of central directory";
  if (r.u16(end + 4, what) != 0 || r.u16(end + 6, what) != 0)
    throw std::invalid_argument("zip archive '" + source + "': multi-disk archives are not supported");
  Directory d{r.u32(end + 16, what), r.u32(end + 12, what), r.u16(end + 10, what)};
  const bool needs_zip64 = d.offset == 0xffffffffu || d.size == 0xffffffffu || d.entries == 0xffffu;
  if (end >= 20 && r.u32(end - 20, "zip64 end locator") == kZip64Locator) {
    const std::uint64_t record = r.u64(end - 20 + 8, "zip64 end locator");
    const std::string what64 = "zip64 end of central directory";
    r.expect_signature(record, kZip64End, what64);
    d.entries = r.u64(record + 32, what64);
    d.size = r.u64(record + 40, what64);
    d.offset = r.u64(record + 48, what64);
  } else if (needs_zip64) {
    throw std::invalid_argument("zip archive '" + source +
                                "': the end record needs zip64 values, but there is no zip64 end locator");
  }
  r.need(d.offset, d.size, "the central directory");
  if (d.entries > d.size / 46)
    throw std::invalid_argument("zip archive '" + source + "': the central directory of " + std::to_string(d.size) +
                                " bytes cannot hold the " + std::to_string(d.entries) + " entries the end record lists");
  return d;
}

/// Replaces 0xffffffff sizes and offset of a central header by its zip64 extra field's values.
void apply_zip64_extra(const Reader& r, std::uint64_t extra, std::uint64_t extra_length, std::uint32_t sizes[2],
                       std::uint64_t& compressed, std::uint64_t& uncompressed, std::uint64_t& local_offset,
                       const std::string& what) {
  for (std::uint64_t p = extra; p + 4 <= extra + extra_length;) {
    const std::uint16_t id = r.u16(p, what), length = r.u16(p + 2, what);
    if (p + 4 + length > extra + extra_length)
      throw std::invalid_argument(what + ": extra field overruns its length (at offset " + std::to_string(p) + ")");
    if (id == 0x0001) {
      std::uint64_t q = p + 4;
      auto take = [&](std::uint64_t& field, bool wanted) {
        if (!wanted) return;
        if (q + 8 > p + 4 + length) throw std::invalid_argument(what + ": zip64 extra field too short");
        field = r.u64(q, what);
        q += 8;
      };
      take(uncompressed, sizes[1] == 0xffffffffu);
      take(compressed, sizes[0] == 0xffffffffu);
      take(local_offset, local_offset == 0xffffffffu);
    }
    p += 4 + length;
  }
}

}  // namespace

bool looks_like_zip(std::string_view bytes) { return bytes.size() >= 4 && bytes.substr(0, 4) == "PK\x03\x04"; }

ZipArchive::ZipArchive(std::string_view bytes, std::string source) : bytes_(bytes), source_(std::move(source)) {
  const Reader r(bytes_, source_);
  const Directory d = read_directory_location(r, source_);
  std::uint64_t p = d.offset;
  for (std::uint64_t i = 0; i < d.entries; ++i) {
    const std::string what = "zip archive '" + source_ + "', central directory entry " + std::to_string(i);
    r.expect_signature(p, kCentralHeader, "central directory entry " + std::to_string(i));
    r.need(p, 46, "central directory entry " + std::to_string(i));
    const std::uint16_t flags = r.u16(p + 8, what);
    ZipEntry entry;
    entry.method = r.u16(p + 10, what);
    entry.crc32 = r.u32(p + 16, what);
    std::uint32_t sizes[2] = {r.u32(p + 20, what), r.u32(p + 24, what)};
    entry.compressed_size = sizes[0];
    entry.uncompressed_size = sizes[1];
    const std::uint16_t name_length = r.u16(p + 28, what), extra_length = r.u16(p + 30, what),
                        comment_length = r.u16(p + 32, what);
    std::uint64_t local = r.u32(p + 42, what);
    r.need(p + 46, std::uint64_t{name_length} + extra_length + comment_length, "central directory entry " + std::to_string(i));
    entry.name = std::string(bytes_.substr(static_cast<std::size_t>(p + 46), name_length));
    const std::string named = "zip archive '" + source_ + "', entry '" + entry.name + "'";
    apply_zip64_extra(r, p + 46 + name_length, extra_length, sizes, entry.compressed_size, entry.uncompressed_size,
                      local, named);
    if (flags & 0x1) throw std::invalid_argument(named + ": encrypted entries are not supported");
    if (entry.method != 0 && entry.method != 8)
      throw std::invalid_argument(named + ": expected compression method 0 (stored) or 8 (deflated), found " +
                                  std::to_string(entry.method));
    if (entry.method == 0 && entry.compressed_size != entry.uncompressed_size)
      throw std::invalid_argument(named + ": a stored entry's compressed size " + std::to_string(entry.compressed_size) +
                                  " differs from its size " + std::to_string(entry.uncompressed_size));
    if (entry.method == 8 && entry.uncompressed_size / kMaxDeflateRatio > entry.compressed_size)
      throw std::invalid_argument(named + ": a deflated size of " + std::to_string(entry.compressed_size) +
                                  " bytes cannot hold " + std::to_string(entry.uncompressed_size) + " bytes");
    r.expect_signature(local, kLocalHeader, "the local header of entry '" + entry.name + "'");
    r.need(local, 30, "the local header of entry '" + entry.name + "'");
    entry.data_offset = local + 30 + r.u16(local + 26, named) + r.u16(local + 28, named);
    r.need(entry.data_offset, entry.compressed_size, "the data of entry '" + entry.name + "'");
    entries_.push_back(std::move(entry));
    p += 46 + std::uint64_t{name_length} + extra_length + comment_length;
  }
}

const ZipEntry* ZipArchive::find(std::string_view name) const {
  const auto it = std::find_if(entries_.begin(), entries_.end(), [&](const ZipEntry& e) { return e.name == name; });
  return it == entries_.end() ? nullptr : &*it;
}

std::string ZipArchive::read(const ZipEntry& entry) const {
  const std::string named = "zip archive '" + source_ + "', entry '" + entry.name + "'";
  const std::string_view data = bytes_.substr(static_cast<std::size_t>(entry.data_offset),
                                              static_cast<std::size_t>(entry.compressed_size));
  std::string out;
  if (entry.method == 0) {
    out.assign(data);
  } else {
    out.resize(static_cast<std::size_t>(entry.uncompressed_size));
    z_stream stream{};
    if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) throw std::runtime_error(named + ": inflateInit2 failed");
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    const int status = inflate(&stream, Z_FINISH);
    const std::uint64_t produced = stream.total_out;
    inflateEnd(&stream);
    if (status != Z_STREAM_END || produced != entry.uncompressed_size)
      throw std::invalid_argument(named + ": deflate data is corrupt or does not give the " +
                                  std::to_string(entry.uncompressed_size) + " bytes its directory entry says");
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  for (std::size_t done = 0; done < out.size();) {  // crc32 takes uInt lengths
    const std::size_t chunk = std::min<std::size_t>(out.size() - done, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(out.data() + done), static_cast<uInt>(chunk));
    done += chunk;
  }
  if (crc != entry.crc32)
    throw std::invalid_argument(named + ": CRC-32 mismatch (expected 0x" + Reader::hex(entry.crc32) + ", found 0x" +
                                Reader::hex(crc) + "): the file is corrupt");
  return out;
}

}  // namespace vigap
