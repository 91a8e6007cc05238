#include "experiments/support/evaluation_data.hpp"

#include <algorithm>
#include <stdexcept>

namespace vigap {

EvaluationBinarization evaluation_binarization(const std::map<std::string, std::string>& metadata,
                                               const std::string& override_name, const std::string& source) {
  EvaluationBinarization result;
  if (!override_name.empty()) {
    result.name = override_name;
  } else if (const auto it = metadata.find("binarization"); it != metadata.end()) {
    result.name = it->second;
  }
  result.binarization = parse_binarization(result.name);
  if (const auto it = metadata.find("binarization_threshold"); it != metadata.end()) {
    size_t used = 0;
    try {
      result.threshold = std::stof(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || !(result.threshold >= 0.0f && result.threshold <= 1.0f))
      throw std::invalid_argument(source + ": metadata 'binarization_threshold' must be a number in [0, 1], found '" +
                                  it->second + "'");
  }
  return result;
}

MatrixF binarize_evaluation_set(const MatrixF& images, const EvaluationBinarization& binarization) {
  return binarize_evaluation_set(images, binarization.binarization, binarization.threshold);
}

MatrixF evaluation_slice(const Dataset& dataset, Index data_dim, const EvaluationBinarization& binarization,
                         Index first_datapoint, Index num_datapoints) {
  if (dataset.dimension() != data_dim)
    throw std::invalid_argument("dataset " + dataset.name + " has dimension " + std::to_string(dataset.dimension()) +
                                ", the checkpoint's model expects " + std::to_string(data_dim));
  if (first_datapoint < 0 || first_datapoint >= dataset.size())
    throw std::invalid_argument("--first-datapoint " + std::to_string(first_datapoint) + " is beyond the " +
                                std::to_string(dataset.size()) + " datapoints of " + dataset.name);
  const Index rest = dataset.size() - first_datapoint;
  if (num_datapoints < 0)
    throw std::invalid_argument("--num-datapoints must be >= 0 (0: all the rest), found " +
                                std::to_string(num_datapoints));
  if (num_datapoints > rest)
    throw std::invalid_argument("--num-datapoints " + std::to_string(num_datapoints) + " asks for more datapoints than " +
                                dataset.name + " has from --first-datapoint " + std::to_string(first_datapoint) +
                                ": " + std::to_string(rest) + " exist from there (of " +
                                std::to_string(dataset.size()) + ")");
  const Index count = num_datapoints == 0 ? rest : num_datapoints;
  return binarize_evaluation_set(dataset.images, binarization).middleCols(first_datapoint, count);
}

}  // namespace vigap
