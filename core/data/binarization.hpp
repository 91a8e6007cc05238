#pragma once
// Turning grayscale images in [0, 1] into binary {0, 1} images for Bernoulli likelihoods.
#include <cstdint>
#include <string>

#include "core/random.hpp"
#include "core/types.hpp"

namespace vigap {

/// How gray values in [0, 1] become the binary data a Bernoulli decoder models.
enum class Binarization {
  none,     ///< use the gray values as they are
  dynamic,  ///< x ~ Bernoulli(gray), drawn afresh every time an image is used (Burda et al. 2015)
  threshold ///< x = [gray > threshold], fixed
};
/// "none", "dynamic", "threshold"; throws std::invalid_argument naming --binarization otherwise.
Binarization parse_binarization(const std::string& name);
std::string to_string(Binarization binarization);

/// Dynamic binarization: each pixel becomes 1 with probability equal to its value, else 0,
/// drawing one uniform_01(rng) per pixel column by column (u < p gives 1), so the result is
/// deterministic given the rng state. Throws std::invalid_argument if a pixel is outside [0, 1].
MatrixF binarize_dynamic(const MatrixF& images, Rng& rng);

/// Static binarization: a pixel becomes 1 if its value is strictly greater than `threshold`,
/// else 0 (so with threshold 0.5 a pixel of exactly 0.5 becomes 0). Throws
/// std::invalid_argument if threshold is outside [0, 1].
MatrixF binarize_threshold(const MatrixF& images, float threshold);

/// The images as `binarization` says: unchanged (none), binarize_threshold(images, threshold) or
/// binarize_dynamic(images, rng).
MatrixF binarize(const MatrixF& images, Binarization binarization, float threshold, Rng& rng);

/// Seed of the one dynamic binarization of evaluation (validation/test) images, independent of
/// the run's seed so that every run and every model sees the same binary test set.
inline constexpr std::uint64_t kEvaluationBinarizationSeed = 0x7e57da7a;

/// Binarizes evaluation images once: binarize(images, binarization, threshold, rng) with
/// rng = Rng(kEvaluationBinarizationSeed), so dynamic draws are the same in every run.
MatrixF binarize_evaluation_set(const MatrixF& images, Binarization binarization, float threshold);

}  // namespace vigap
