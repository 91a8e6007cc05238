#include "core/data/binarization.hpp"

#include <stdexcept>
#include <string>

namespace vigap {

MatrixF binarize_dynamic(const MatrixF& images, Rng& rng) {
  MatrixF binary(images.rows(), images.cols());
  for (Index j = 0; j < images.cols(); ++j) {
    for (Index i = 0; i < images.rows(); ++i) {
      const float p = images(i, j);
      if (!(p >= 0.0f && p <= 1.0f))
        throw std::invalid_argument("binarize_dynamic: expected pixel values in [0, 1], found " +
                                    std::to_string(p) + " at row " + std::to_string(i) + ", column " +
                                    std::to_string(j));
      binary(i, j) = uniform_01(rng) < static_cast<double>(p) ? 1.0f : 0.0f;
    }
  }
  return binary;
}

MatrixF binarize_threshold(const MatrixF& images, float threshold) {
  if (!(threshold >= 0.0f && threshold <= 1.0f))
    throw std::invalid_argument("binarize_threshold: expected a threshold in [0, 1], found " +
                                std::to_string(threshold));
  return (images.array() > threshold).cast<float>().matrix();
}

Binarization parse_binarization(const std::string& name) {
  if (name == "none") return Binarization::none;
  if (name == "dynamic") return Binarization::dynamic;
  if (name == "threshold") return Binarization::threshold;
  throw std::invalid_argument("unknown --binarization '" + name + "': expected none, dynamic or threshold");
}

std::string to_string(Binarization binarization) {
  switch (binarization) {
    case Binarization::none: return "none";
    case Binarization::dynamic: return "dynamic";
    case Binarization::threshold: return "threshold";
  }
  return "unknown";
}

MatrixF binarize(const MatrixF& images, Binarization binarization, float threshold, Rng& rng) {
  switch (binarization) {
    case Binarization::none: return images;
    case Binarization::threshold: return binarize_threshold(images, threshold);
    case Binarization::dynamic: return binarize_dynamic(images, rng);
  }
  return images;
}

MatrixF binarize_evaluation_set(const MatrixF& images, Binarization binarization, float threshold) {
  Rng rng(kEvaluationBinarizationSeed);
  return binarize(images, binarization, threshold, rng);
}

}  // namespace vigap
