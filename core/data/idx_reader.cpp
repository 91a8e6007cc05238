#include "core/data/idx_reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace vigap {
namespace {

/// Largest data size accepted (2^31 bytes): far above any IDX data set, below int overflow.
constexpr std::uint64_t kMaxDataBytes = std::uint64_t{1} << 31;

std::string hex32(std::uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%08x", static_cast<unsigned>(value));
  return buffer;
}

/// The contents of an IDX file, raw or gzip-compressed (detected by the magic 0x1f 0x8b), read
/// front to back. Concatenated gzip members are read as one stream, as gzread does; bytes after
/// the last member that do not start another one are ignored.
class IdxStream {
 public:
  IdxStream(std::string_view bytes, const std::string& source) : bytes_(bytes), source_(source) {
    gzip_ = bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
            static_cast<unsigned char>(bytes[1]) == 0x8b;
    if (gzip_) {
      if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK)
        throw std::runtime_error("IDX file '" + source_ + "': zlib could not allocate");
      stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes_.data()));
      stream_.avail_in = 0;
    }
  }
  IdxStream(const IdxStream&) = delete;
  IdxStream& operator=(const IdxStream&) = delete;
  ~IdxStream() {
    if (gzip_) inflateEnd(&stream_);
  }

  /// Reads up to `count` bytes into `buffer`; returns how many were read (fewer only at the
  /// end of the data). Throws std::invalid_argument naming the file if the gzip stream is corrupt
  /// or ends early.
  std::uint64_t read(unsigned char* buffer, std::uint64_t count) {
    if (!gzip_) {
      const std::uint64_t n = std::min<std::uint64_t>(count, bytes_.size() - position_);
      std::memcpy(buffer, bytes_.data() + position_, n);
      position_ += n;
      return n;
    }
    std::uint64_t done = 0;
    while (done < count && !finished_) {
      if (stream_.avail_in == 0) {  // feed the next piece of input (avail_in is 32-bit)
        const std::uint64_t n = std::min<std::uint64_t>(bytes_.size() - position_, 1u << 30);
        stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes_.data() + position_));
        stream_.avail_in = static_cast<uInt>(n);
        position_ += n;
      }
      const auto chunk = static_cast<uInt>(std::min<std::uint64_t>(count - done, 1u << 30));
      stream_.next_out = buffer + done;
      stream_.avail_out = chunk;
      const int status = inflate(&stream_, Z_NO_FLUSH);
      done += chunk - stream_.avail_out;
      if (status == Z_STREAM_END) {
        // Another gzip member may follow; anything else ends the data.
        // The unconsumed input is contiguous: [next_in, end of bytes_).
        const auto* next = reinterpret_cast<const unsigned char*>(stream_.next_in);
        const auto* end = reinterpret_cast<const unsigned char*>(bytes_.data() + bytes_.size());
        if (end - next >= 2 && next[0] == 0x1f && next[1] == 0x8b)
          inflateReset(&stream_);
        else
          finished_ = true;
      } else if (status == Z_BUF_ERROR && stream_.avail_in == 0 && position_ == bytes_.size()) {
        throw std::invalid_argument("IDX file '" + source_ +
                                    "': expected a valid gzip stream, found: unexpected end of file");
      } else if (status != Z_OK && status != Z_BUF_ERROR) {
        throw std::invalid_argument("IDX file '" + source_ + "': expected a valid gzip stream, found: " +
                                    (stream_.msg != nullptr ? stream_.msg : "zlib error " + std::to_string(status)));
      }
    }
    return done;
  }

  /// "gzip-compressed " if the file is gzip-compressed, else "" (for messages).
  std::string compression() const { return gzip_ ? "gzip-compressed " : ""; }

 private:
  std::string_view bytes_;
  std::string source_;
  bool gzip_ = false;
  bool finished_ = false;
  std::uint64_t position_ = 0;  ///< bytes of bytes_ consumed (copied, or handed to zlib)
  z_stream stream_{};
};

std::uint32_t big_endian_u32(const unsigned char* bytes) {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
         (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

/// Parses IDX `bytes` of unsigned bytes with `dimension_count` dimensions: checks the magic
/// and dimensions, returns the dimensions and the data bytes. Allocates no more than twice the
/// data actually present, whatever the dimensions claim.
std::vector<unsigned char> parse_idx(std::string_view bytes, const std::string& path, std::uint32_t dimension_count,
                                     const std::string& what, std::vector<std::uint64_t>* dims) {
  IdxStream file(bytes, path);
  const std::uint32_t expected_magic = 0x00000800u | dimension_count;
  const std::uint64_t header_bytes = 4 + 4 * std::uint64_t{dimension_count};
  std::array<unsigned char, 16> header{};
  const std::uint64_t header_read = file.read(header.data(), header_bytes);
  if (header_read >= 4 && big_endian_u32(header.data()) != expected_magic)
    throw std::invalid_argument("IDX file '" + path + "': expected magic " + hex32(expected_magic) +
                                " (" + what + "), found " + hex32(big_endian_u32(header.data())));
  if (header_read < header_bytes)
    throw std::invalid_argument("IDX " + file.compression() + "file '" + path +
                                "' is truncated: expected a header of " +
                                std::to_string(header_bytes) + " bytes, found " +
                                std::to_string(header_read) + " bytes");

  dims->clear();
  std::uint64_t data_bytes = 1;
  std::string shape;
  for (std::uint32_t d = 0; d < dimension_count; ++d) {
    const std::uint64_t dim = big_endian_u32(header.data() + 4 + 4 * d);
    dims->push_back(dim);
    shape += (d == 0 ? "" : " x ") + std::to_string(dim);
  }
  for (std::uint64_t dim : *dims) {
    if (dim == 0)
      throw std::invalid_argument("IDX file '" + path + "': expected non-zero dimensions, found " +
                                  shape);
    if (data_bytes > kMaxDataBytes / dim)
      throw std::invalid_argument("IDX file '" + path + "': expected at most " +
                                  std::to_string(kMaxDataBytes) + " data bytes, found dimensions " +
                                  shape);
    data_bytes *= dim;
  }

  // Grow the buffer with the data found (doubling), never to the size the header claims first.
  std::vector<unsigned char> data;
  std::uint64_t data_read = 0;
  while (data_read < data_bytes) {
    const std::uint64_t next = std::min(data_bytes, std::max<std::uint64_t>(2 * data_read, 1u << 16));
    data.resize(next);
    data_read += file.read(data.data() + data_read, next - data_read);
    if (data_read < next) break;
  }
  if (data_read < data_bytes)
    throw std::invalid_argument("IDX " + file.compression() + "file '" + path +
                                "' is truncated: dimensions " + shape + " need " +
                                std::to_string(data_bytes) + " data bytes, found " +
                                std::to_string(data_read) + " bytes");
  return data;
}

/// The bytes of the file at `path`. Throws std::runtime_error naming it if it cannot be read.
std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw std::runtime_error("IDX file '" + path + "': cannot open: no such file");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("IDX file '" + path + "': cannot open: " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error("IDX file '" + path + "': read failed: " + std::strerror(errno));
  return bytes;
}

}  // namespace

MatrixF parse_idx_images(std::string_view bytes, const std::string& source, Index* rows, Index* cols) {
  std::vector<std::uint64_t> dims;
  const std::vector<unsigned char> data = parse_idx(bytes, source, 3, "unsigned-byte images, 3 dimensions", &dims);
  const Index count = static_cast<Index>(dims[0]);
  const Index pixels = static_cast<Index>(dims[1] * dims[2]);
  // IDX stores image after image, each row by row: exactly a column-major pixels x count matrix.
  MatrixF images(pixels, count);
  float* out = images.data();
  for (std::size_t i = 0; i < data.size(); ++i) out[i] = static_cast<float>(data[i]) / 255.0f;
  if (rows != nullptr) *rows = static_cast<Index>(dims[1]);
  if (cols != nullptr) *cols = static_cast<Index>(dims[2]);
  return images;
}

std::vector<int> parse_idx_labels(std::string_view bytes, const std::string& source) {
  std::vector<std::uint64_t> dims;
  const std::vector<unsigned char> data = parse_idx(bytes, source, 1, "unsigned-byte labels, 1 dimension", &dims);
  return std::vector<int>(data.begin(), data.end());
}

MatrixF read_idx_images(const std::string& path, Index* rows, Index* cols) {
  return parse_idx_images(read_file(path), path, rows, cols);
}

std::vector<int> read_idx_labels(const std::string& path) { return parse_idx_labels(read_file(path), path); }

}  // namespace vigap
