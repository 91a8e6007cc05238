#include "core/data/idx_dataset.hpp"

#include <filesystem>
#include <stdexcept>

#include "core/data/idx_reader.hpp"

namespace vigap {
namespace {

/// Returns the path of `directory`/`base_name` or, failing that, of its ".gz" variant.
std::string find_idx_file(const std::string& directory, const std::string& base_name) {
  const std::filesystem::path dir(directory);
  const std::string candidates[] = {(dir / base_name).string(), (dir / (base_name + ".gz")).string()};
  for (const std::string& candidate : candidates) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  }
  throw std::invalid_argument("IDX data set in '" + directory + "': expected a file named '" +
                              candidates[0] + "' or '" + candidates[1] + "', found neither");
}

}  // namespace

Dataset load_idx_dataset(const std::string& directory, const std::string& split, const std::string& name) {
  std::string prefix;
  if (split == "train")
    prefix = "train";
  else if (split == "test")
    prefix = "t10k";
  else
    throw std::invalid_argument("IDX data set in '" + directory + "': expected split 'train' or 'test', found '" +
                                split + "'");
  const std::string images_path = find_idx_file(directory, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_idx_file(directory, prefix + "-labels-idx1-ubyte");

  Dataset dataset;
  dataset.name = name;
  dataset.source = images_path + ";" + labels_path;
  dataset.images = read_idx_images(images_path, &dataset.image_rows, &dataset.image_cols);
  dataset.labels = read_idx_labels(labels_path);
  if (static_cast<Index>(dataset.labels.size()) != dataset.size())
    throw std::invalid_argument("IDX data set in '" + directory + "': expected as many labels in '" +
                                labels_path + "' as images in '" + images_path + "' (" +
                                std::to_string(dataset.size()) + "), found " +
                                std::to_string(dataset.labels.size()));
  return dataset;
}

std::string default_fashion_mnist_directory() { return "/usr/share/datasets/fashion-mnist"; }

Dataset load_fashion_mnist(const std::string& split, const std::string& directory) {
  return load_idx_dataset(directory, split, "fashion-mnist-" + split);
}

}  // namespace vigap
