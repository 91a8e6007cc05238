#include "core/data/idx_reader.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "support/expect_throw_message.hpp"
#include "support/idx_file_writer.hpp"
#include "support/temporary_directory.hpp"

namespace vigap {
namespace {

using testing::expect_throw_message;
using testing::idx_bytes;
using testing::TemporaryDirectory;

/// Three 2 x 3 images whose bytes are 0, 10, 20, ..., 170 in file order.
std::vector<unsigned char> three_small_images() {
  std::vector<unsigned char> data(18);
  for (int i = 0; i < 18; ++i) data[i] = static_cast<unsigned char>(10 * i);
  return data;
}

TEST(IdxReader, ReadsImagesAsColumnsFlattenedRowByRow) {
  TemporaryDirectory dir;
  testing::write_raw_file(dir.file("images"), idx_bytes(0x803, {3, 2, 3}, three_small_images()));
  Index rows = 0, cols = 0;
  const MatrixF images = read_idx_images(dir.file("images"), &rows, &cols);
  EXPECT_EQ(rows, 2);
  EXPECT_EQ(cols, 3);
  ASSERT_EQ(images.rows(), 6);
  ASSERT_EQ(images.cols(), 3);
  for (int n = 0; n < 3; ++n)
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 3; ++c)
        EXPECT_EQ(images(r * 3 + c, n), static_cast<float>(10 * (n * 6 + r * 3 + c)) / 255.0f);
}

TEST(IdxReader, ReadsLabels) {
  TemporaryDirectory dir;
  testing::write_raw_file(dir.file("labels"), idx_bytes(0x801, {4}, {7, 0, 9, 255}));
  EXPECT_EQ(read_idx_labels(dir.file("labels")), (std::vector<int>{7, 0, 9, 255}));
}

TEST(IdxReader, ReadsGzipVariantIdentically) {
  TemporaryDirectory dir;
  const std::string images = idx_bytes(0x803, {3, 2, 3}, three_small_images());
  testing::write_raw_file(dir.file("images"), images);
  testing::write_gzip_file(dir.file("images.gz"), images);
  testing::write_gzip_file(dir.file("labels.gz"), idx_bytes(0x801, {2}, {3, 4}));
  Index rows = 0, cols = 0;
  EXPECT_EQ(read_idx_images(dir.file("images.gz"), &rows, &cols), read_idx_images(dir.file("images"), nullptr, nullptr));
  EXPECT_EQ(rows, 2);
  EXPECT_EQ(cols, 3);
  EXPECT_EQ(read_idx_labels(dir.file("labels.gz")), (std::vector<int>{3, 4}));
}

/// `bytes` gzip-compressed, in memory (as write_gzip_file writes them to a file).
std::string gzip_bytes(const std::string& bytes) {
  TemporaryDirectory dir;
  testing::write_gzip_file(dir.file("bytes.gz"), bytes);
  std::ifstream in(dir.file("bytes.gz"), std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(IdxReader, ParsesFromMemoryAsFromAFile) {
  const std::string images = idx_bytes(0x803, {3, 2, 3}, three_small_images());
  Index rows = 0, cols = 0;
  const MatrixF expected = parse_idx_images(images, "in memory", &rows, &cols);
  EXPECT_EQ(rows, 2);
  EXPECT_EQ(cols, 3);
  EXPECT_EQ(parse_idx_images(gzip_bytes(images), "in memory", nullptr, nullptr), expected);
  TemporaryDirectory dir;
  testing::write_raw_file(dir.file("images"), images);
  EXPECT_EQ(read_idx_images(dir.file("images"), nullptr, nullptr), expected);
  EXPECT_EQ(parse_idx_labels(idx_bytes(0x801, {3}, {1, 2, 3}), "in memory"), (std::vector<int>{1, 2, 3}));
}

TEST(IdxReader, ReadsConcatenatedGzipMembersAsOneStream) {
  const std::string labels = idx_bytes(0x801, {4}, {7, 0, 9, 255});
  const std::string two_members = gzip_bytes(labels.substr(0, 6)) + gzip_bytes(labels.substr(6));
  EXPECT_EQ(parse_idx_labels(two_members, "two members"), (std::vector<int>{7, 0, 9, 255}));
  // Bytes after the last member that do not start another one end the data, as with gzread.
  EXPECT_EQ(parse_idx_labels(gzip_bytes(labels) + "trailing", "trailing"), (std::vector<int>{7, 0, 9, 255}));
  expect_throw_message<std::invalid_argument>([&] { parse_idx_labels(gzip_bytes(labels.substr(0, 10)) + "xy", "short"); },
                                              {"IDX gzip-compressed file 'short' is truncated", "4 data bytes",
                                               "found 2 bytes"});
}

TEST(IdxReader, DimensionsClaimingMoreDataThanPresentAreRejectedWithoutAllocatingIt) {
  // 2^31 - 1 labels claimed by a 9-byte file (raw) and by a few bytes of gzip: rejected as
  // truncated (the reader grows its buffer with the data it finds, never to the claimed size).
  const std::string claim = idx_bytes(0x801, {0x7fffffff}, {1});
  expect_throw_message<std::invalid_argument>([&] { parse_idx_labels(claim, "claim"); },
                                              {"IDX file 'claim' is truncated", "2147483647 data bytes", "found 1 bytes"});
  expect_throw_message<std::invalid_argument>([&] { parse_idx_labels(gzip_bytes(claim), "claim.gz"); },
                                              {"IDX gzip-compressed file 'claim.gz' is truncated", "found 1 bytes"});
}

TEST(IdxReader, RejectsMissingFile) {
  TemporaryDirectory dir;
  const std::string path = dir.file("absent-images");
  expect_throw_message<std::runtime_error>([&] { read_idx_images(path, nullptr, nullptr); }, {path, "no such file"});
}

TEST(IdxReader, RejectsWrongMagic) {
  TemporaryDirectory dir;
  testing::write_raw_file(dir.file("labels"), idx_bytes(0x801, {2}, {1, 2}));
  expect_throw_message<std::invalid_argument>([&] { read_idx_images(dir.file("labels"), nullptr, nullptr); },
                                              {dir.file("labels"), "expected magic 0x00000803", "found 0x00000801"});
}

TEST(IdxReader, RejectsZeroDimension) {
  TemporaryDirectory dir;
  testing::write_raw_file(dir.file("images"), idx_bytes(0x803, {3, 0, 3}, {}));
  expect_throw_message<std::invalid_argument>([&] { read_idx_images(dir.file("images"), nullptr, nullptr); },
                                              {dir.file("images"), "non-zero", "3 x 0 x 3"});
}

TEST(IdxReader, RejectsDimensionsTooLargeOrOverflowing) {
  TemporaryDirectory dir;
  testing::write_raw_file(dir.file("images"), idx_bytes(0x803, {0xffffffffu, 0xffffffffu, 0xffffffffu}, {}));
  expect_throw_message<std::invalid_argument>([&] { read_idx_images(dir.file("images"), nullptr, nullptr); },
                                              {dir.file("images"), "at most 2147483648 data bytes"});
  testing::write_raw_file(dir.file("big"), idx_bytes(0x803, {70000, 200, 200}, {}));
  expect_throw_message<std::invalid_argument>([&] { read_idx_images(dir.file("big"), nullptr, nullptr); },
                                              {dir.file("big"), "70000 x 200 x 200"});
}

TEST(IdxReader, RejectsTruncatedData) {
  TemporaryDirectory dir;
  std::vector<unsigned char> data = three_small_images();
  data.resize(10);
  testing::write_raw_file(dir.file("images"), idx_bytes(0x803, {3, 2, 3}, data));
  expect_throw_message<std::invalid_argument>([&] { read_idx_images(dir.file("images"), nullptr, nullptr); },
                                              {dir.file("images"), "truncated", "18 data bytes", "found 10 bytes"});
}

TEST(IdxReader, RejectsTruncatedHeader) {
  TemporaryDirectory dir;
  testing::write_raw_file(dir.file("labels"), idx_bytes(0x801, {}, {}));
  expect_throw_message<std::invalid_argument>([&] { read_idx_labels(dir.file("labels")); },
                                              {dir.file("labels"), "header of 8 bytes", "found 4 bytes"});
}

TEST(IdxReader, RejectsTruncatedGzipData) {
  TemporaryDirectory dir;
  std::vector<unsigned char> data(1000, 7);
  testing::write_gzip_file(dir.file("full.gz"), idx_bytes(0x801, {2000}, data));
  testing::write_gzip_file(dir.file("labels.gz"), idx_bytes(0x801, {1000}, data));
  // Cut the compressed stream of a complete file short: zlib reports a premature end.
  std::string compressed;
  {
    std::ifstream in(dir.file("labels.gz"), std::ios::binary);
    compressed.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  testing::write_raw_file(dir.file("cut.gz"), compressed.substr(0, compressed.size() - 12));
  EXPECT_THROW(read_idx_labels(dir.file("cut.gz")), std::invalid_argument);
  expect_throw_message<std::invalid_argument>([&] { read_idx_labels(dir.file("full.gz")); },
                                              {dir.file("full.gz"), "gzip-compressed", "2000 data bytes",
                                               "found 1000 bytes"});
}

TEST(IdxReader, RejectsCorruptGzipStream) {
  TemporaryDirectory dir;
  testing::write_raw_file(dir.file("labels.gz"), std::string("\x1f\x8b\x08\x00garbage-garbage-garbage", 27));
  EXPECT_THROW(read_idx_labels(dir.file("labels.gz")), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
