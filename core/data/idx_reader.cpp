#include "core/data/idx_reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
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

/// An open IDX file, raw or gzip-compressed, closed on destruction.
class IdxFile {
 public:
  explicit IdxFile(const std::string& path) : path_(path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      throw std::runtime_error("IDX file '" + path + "': cannot open: no such file");
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr)
      throw std::runtime_error("IDX file '" + path + "': cannot open: " +
                               (errno != 0 ? std::strerror(errno) : "zlib could not allocate"));
  }
  IdxFile(const IdxFile&) = delete;
  IdxFile& operator=(const IdxFile&) = delete;
  ~IdxFile() { gzclose(file_); }

  /// Reads up to `count` bytes into `buffer`; returns how many were read (fewer only at the
  /// end of the file). Throws if the gzip stream is corrupt or reading fails.
  std::uint64_t read(unsigned char* buffer, std::uint64_t count) {
    std::uint64_t done = 0;
    while (done < count) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::uint64_t>(count - done, 1u << 30));
      const int got = gzread(file_, buffer + done, chunk);
      if (got < 0) {
        int code = Z_OK;
        const char* message = gzerror(file_, &code);
        if (code == Z_ERRNO)
          throw std::runtime_error("IDX file '" + path_ + "': read failed: " + std::strerror(errno));
        throw std::invalid_argument("IDX file '" + path_ + "': expected a valid gzip stream, found: " +
                                    message);
      }
      if (got == 0) break;
      done += static_cast<std::uint64_t>(got);
    }
    return done;
  }

  /// "gzip-compressed " if the file is gzip-compressed, else "" (for messages).
  std::string compression() const { return gzdirect(file_) ? "" : "gzip-compressed "; }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

std::uint32_t big_endian_u32(const unsigned char* bytes) {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
         (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

/// Reads an IDX file of unsigned bytes with `dimension_count` dimensions: checks the magic
/// and dimensions, returns the dimensions and the data bytes.
std::vector<unsigned char> read_idx(const std::string& path, std::uint32_t dimension_count,
                                    const std::string& what, std::vector<std::uint64_t>* dims) {
  IdxFile file(path);
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

  std::vector<unsigned char> data(data_bytes);
  const std::uint64_t data_read = file.read(data.data(), data_bytes);
  if (data_read < data_bytes)
    throw std::invalid_argument("IDX " + file.compression() + "file '" + path +
                                "' is truncated: dimensions " + shape + " need " +
                                std::to_string(data_bytes) + " data bytes, found " +
                                std::to_string(data_read) + " bytes");
  return data;
}

}  // namespace

MatrixF read_idx_images(const std::string& path, Index* rows, Index* cols) {
  std::vector<std::uint64_t> dims;
  const std::vector<unsigned char> data = read_idx(path, 3, "unsigned-byte images, 3 dimensions", &dims);
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

std::vector<int> read_idx_labels(const std::string& path) {
  std::vector<std::uint64_t> dims;
  const std::vector<unsigned char> data = read_idx(path, 1, "unsigned-byte labels, 1 dimension", &dims);
  return std::vector<int>(data.begin(), data.end());
}

}  // namespace vigap
