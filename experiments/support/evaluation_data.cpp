#include "experiments/support/evaluation_data.hpp"

#include <stdexcept>

namespace vigap {

MatrixF binarize_evaluation_set(const MatrixF& images, Binarization binarization, float threshold) {
  Rng rng(kEvaluationBinarizationSeed);
  return binarize(images, binarization, threshold, rng);
}

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

}  // namespace vigap
