#pragma once
// The binarized evaluation set every binary uses, so models are compared on the same data.
#include <cstdint>

#include "core/training/vae_trainer.hpp"

namespace vigap {

/// Seed of the one dynamic binarization of evaluation (validation/test) images, independent of
/// --seed so that every run and every model sees the same binary test set.
inline constexpr std::uint64_t kEvaluationBinarizationSeed = 0x7e57da7a;

/// Binarizes evaluation images once: dynamic draws use kEvaluationBinarizationSeed.
MatrixF binarize_evaluation_set(const MatrixF& images, Binarization binarization, float threshold);

}  // namespace vigap
