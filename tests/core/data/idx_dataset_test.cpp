#include "core/data/idx_dataset.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "support/expect_throw_message.hpp"
#include "support/temporary_directory.hpp"
#include "idx_file_writer.hpp"

namespace vigap {
namespace {

using testing::expect_throw_message;
using testing::idx_bytes;
using testing::TemporaryDirectory;

TEST(IdxDataset, LoadsSplitFromRawAndGzipFiles) {
  TemporaryDirectory dir;
  testing::write_gzip_file(dir.file("t10k-images-idx3-ubyte.gz"), idx_bytes(0x803, {2, 2, 2}, {0, 255, 0, 255, 51, 51, 51, 51}));
  testing::write_raw_file(dir.file("t10k-labels-idx1-ubyte"), idx_bytes(0x801, {2}, {4, 6}));
  const Dataset dataset = load_idx_dataset(dir.path().string(), "test", "tiny");
  EXPECT_EQ(dataset.name, "tiny");
  EXPECT_EQ(dataset.source, dir.file("t10k-images-idx3-ubyte.gz") + ";" + dir.file("t10k-labels-idx1-ubyte"));
  EXPECT_EQ(dataset.size(), 2);
  EXPECT_EQ(dataset.dimension(), 4);
  EXPECT_EQ(dataset.image_rows, 2);
  EXPECT_EQ(dataset.image_cols, 2);
  EXPECT_EQ(dataset.labels, (std::vector<int>{4, 6}));
  EXPECT_FLOAT_EQ(dataset.images(1, 0), 1.0f);
  EXPECT_FLOAT_EQ(dataset.images(3, 1), 0.2f);
}

TEST(IdxDataset, ListsNamesTriedWhenMissing) {
  TemporaryDirectory dir;
  expect_throw_message<std::invalid_argument>([&] { load_idx_dataset(dir.path().string(), "train", "x"); },
                                              {dir.file("train-images-idx3-ubyte"),
                                               dir.file("train-images-idx3-ubyte.gz")});
}

TEST(IdxDataset, RejectsUnknownSplit) {
  TemporaryDirectory dir;
  expect_throw_message<std::invalid_argument>([&] { load_idx_dataset(dir.path().string(), "validation", "x"); },
                                              {"'train' or 'test'", "'validation'"});
}

TEST(IdxDataset, RejectsImageAndLabelCountMismatch) {
  TemporaryDirectory dir;
  testing::write_raw_file(dir.file("train-images-idx3-ubyte"), idx_bytes(0x803, {2, 1, 1}, {0, 1}));
  testing::write_raw_file(dir.file("train-labels-idx1-ubyte"), idx_bytes(0x801, {3}, {0, 1, 2}));
  expect_throw_message<std::invalid_argument>([&] { load_idx_dataset(dir.path().string(), "train", "x"); },
                                              {"(2)", "found 3"});
}

TEST(IdxDataset, LoadsRealFashionMnistTestSplit) {
  if (!std::filesystem::exists(default_fashion_mnist_directory()))
    GTEST_SKIP() << default_fashion_mnist_directory() << " absent (Debian package dataset-fashion-mnist)";
  const Dataset dataset = load_fashion_mnist("test");
  EXPECT_EQ(dataset.name, "fashion-mnist-test");
  EXPECT_EQ(dataset.size(), 10000);
  EXPECT_EQ(dataset.dimension(), 784);
  EXPECT_EQ(dataset.image_rows, 28);
  EXPECT_EQ(dataset.image_cols, 28);
  ASSERT_EQ(dataset.labels.size(), 10000u);
  EXPECT_EQ(*std::min_element(dataset.labels.begin(), dataset.labels.end()), 0);
  EXPECT_EQ(*std::max_element(dataset.labels.begin(), dataset.labels.end()), 9);
  EXPECT_GE(dataset.images.minCoeff(), 0.0f);
  EXPECT_LE(dataset.images.maxCoeff(), 1.0f);
  EXPECT_EQ(std::count(dataset.labels.begin(), dataset.labels.end(), 3), 1000);  // balanced classes
}

}  // namespace
}  // namespace vigap
