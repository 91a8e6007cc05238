#include "core/data/idx_dataset.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/random.hpp"
#include "support/expect_throw_message.hpp"
#include "support/idx_file_writer.hpp"
#include "support/synthetic_idx_dataset.hpp"
#include "support/temporary_directory.hpp"

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

// Fashion-MNIST's layout (the four .gz files, 28 x 28 images, balanced labels 0..9), read by
// load_fashion_mnist from synthetic files (tests/support/synthetic_idx_dataset.hpp): the test needs
// no data set installed.
TEST(IdxDataset, LoadsTheFashionMnistLayout) {
  TemporaryDirectory dir;
  testing::SyntheticIdxOptions options;
  options.train_images = 20;
  options.test_images = 100;
  testing::write_synthetic_idx_dataset(dir.path(), options);
  const Dataset dataset = load_fashion_mnist("test", dir.path().string());
  EXPECT_EQ(dataset.name, "fashion-mnist-test");
  EXPECT_EQ(dataset.source, dir.file("t10k-images-idx3-ubyte.gz") + ";" + dir.file("t10k-labels-idx1-ubyte.gz"));
  EXPECT_EQ(dataset.size(), 100);
  EXPECT_EQ(dataset.dimension(), 784);
  EXPECT_EQ(dataset.image_rows, 28);
  EXPECT_EQ(dataset.image_cols, 28);
  ASSERT_EQ(dataset.labels.size(), 100u);
  EXPECT_EQ(*std::min_element(dataset.labels.begin(), dataset.labels.end()), 0);
  EXPECT_EQ(*std::max_element(dataset.labels.begin(), dataset.labels.end()), 9);
  EXPECT_GE(dataset.images.minCoeff(), 0.0f);
  EXPECT_LE(dataset.images.maxCoeff(), 1.0f);
  EXPECT_EQ(std::count(dataset.labels.begin(), dataset.labels.end(), 3), 10);  // balanced classes
  EXPECT_EQ(load_fashion_mnist("train", dir.path().string()).size(), 20);
  // The pixels are the bytes written, divided by 255 (the first test image after the 20 training ones).
  Rng rng(options.seed);
  testing::synthetic_images(options, options.train_images, rng);
  const testing::SyntheticImages first = testing::synthetic_images(options, 1, rng);
  for (Index i = 0; i < 784; ++i) ASSERT_FLOAT_EQ(dataset.images(i, 0), first.pixels[i] / 255.0f) << "pixel " << i;
}

}  // namespace
}  // namespace vigap
