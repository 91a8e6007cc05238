#pragma once
// A train or test split of an IDX data set (MNIST layout), e.g. Fashion-MNIST.
#include <string>

#include "core/data/dataset.hpp"

namespace vigap {

/// Loads split "train" or "test" from `directory`, which holds
/// {train,t10k}-images-idx3-ubyte and {train,t10k}-labels-idx1-ubyte, each raw or with ".gz"
/// (the raw file is preferred when both exist). The result is named `name`; its source is
/// "<images path>;<labels path>". Throws std::invalid_argument for an unknown split, a file
/// missing (listing every name tried) or image and label counts that differ; errors of the
/// files themselves as read_idx_images / read_idx_labels.
Dataset load_idx_dataset(const std::string& directory, const std::string& split, const std::string& name);

/// The directory where Debian's package dataset-fashion-mnist installs Fashion-MNIST.
std::string default_fashion_mnist_directory();

/// Loads split "train" (60,000 images) or "test" (10,000) of Fashion-MNIST from `directory`,
/// named "fashion-mnist-<split>".
Dataset load_fashion_mnist(const std::string& split,
                           const std::string& directory = default_fashion_mnist_directory());

}  // namespace vigap
