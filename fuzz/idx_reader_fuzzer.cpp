// libFuzzer harness of the IDX reader, raw and gzip. The first input byte chooses: bit 0, images
// (parse_idx_images) or labels (parse_idx_labels); bit 1, whether the rest is parsed as it is
// (raw, or gzip when it starts with the gzip magic: corrupt and truncated streams) or is first
// gzip-compressed here (so that structured IDX content also goes through the gzip path). A
// finding is any crash, sanitizer report, leak, allocation beyond libFuzzer's limit, or exception
// other than std::invalid_argument.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/data/idx_reader.hpp"

namespace {

/// `bytes` as one gzip member.
std::string gzip(std::string_view bytes) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::string out(deflateBound(&stream, bytes.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string compressed = (data[0] & 2) ? gzip(rest) : std::string();
  const std::string_view input = (data[0] & 2) ? std::string_view(compressed) : rest;
  try {
    if (data[0] & 1) {
      vigap::parse_idx_labels(input, "fuzz-input");
    } else {
      vigap::Index rows = 0, cols = 0;
      const vigap::MatrixF images = vigap::parse_idx_images(input, "fuzz-input", &rows, &cols);
      if (images.rows() != rows * cols) std::abort();
    }
  } catch (const std::invalid_argument&) {
    return 0;  // rejected with a message: the expected outcome for malformed input
  }
  return 0;
}
