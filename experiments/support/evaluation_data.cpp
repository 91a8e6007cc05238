#include "experiments/support/evaluation_data.hpp"

namespace vigap {

MatrixF binarize_evaluation_set(const MatrixF& images, Binarization binarization, float threshold) {
  Rng rng(kEvaluationBinarizationSeed);
  return binarize(images, binarization, threshold, rng);
}

}  // namespace vigap
