#pragma once
// A synthetic image data set written as IDX files in Fashion-MNIST's layout (test support), so
// that no test needs a data set installed. Each class is a prototype of a few smooth blobs; an
// image is its class's prototype shifted by a few pixels, scaled by a random contrast and with
// multiplicative pixel noise (the background stays exactly 0, as in Fashion-MNIST). A tiny VAE
// learns the classes and shifts in a couple of epochs. Deterministic: the images depend only on
// the options (their seed is fixed, not the test seed offset: the data are a fixture).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/random.hpp"
#include "core/types.hpp"
#include "support/idx_file_writer.hpp"

namespace vigap::testing {

struct SyntheticIdxOptions {
  Index train_images = 1000;  ///< images of split "train" (train-images-idx3-ubyte.gz)
  Index test_images = 400;    ///< images of split "test" (t10k-images-idx3-ubyte.gz)
  Index side = 28;            ///< rows = columns of every image
  int classes = 10;           ///< labels 0..classes-1; image i has label i mod classes (balanced)
  std::uint64_t seed = 20250611;
  bool gzip = true;  ///< write the ".gz" files, as Fashion-MNIST ships them (else the raw ones)
};

/// The pixels (row by row, image after image) and labels of one split.
struct SyntheticImages {
  std::vector<unsigned char> pixels;
  std::vector<unsigned char> labels;
};

/// Prototype k (side x side, row by row, values in [0, 1]): three Gaussian blobs
/// a_j exp(-|p - c_j|² / (2 s_j²)), centres in the middle half, widths 1.5..4 px (at side 28),
/// heights 0.6..1, summed and clipped at 1.
inline std::vector<double> synthetic_prototype(const SyntheticIdxOptions& options, int k) {
  Rng rng(options.seed * 1000003u + static_cast<std::uint64_t>(k));
  const double scale = static_cast<double>(options.side) / 28.0;
  std::vector<double> image(static_cast<size_t>(options.side * options.side), 0.0);
  for (int j = 0; j < 3; ++j) {
    const double r0 = options.side * (0.25 + 0.5 * uniform_01(rng)), c0 = options.side * (0.25 + 0.5 * uniform_01(rng));
    const double s = scale * (1.5 + 2.5 * uniform_01(rng)), a = 0.6 + 0.4 * uniform_01(rng);
    for (Index r = 0; r < options.side; ++r)
      for (Index c = 0; c < options.side; ++c)
        image[static_cast<size_t>(r * options.side + c)] +=
            a * std::exp(-((r - r0) * (r - r0) + (c - c0) * (c - c0)) / (2.0 * s * s));
  }
  for (double& v : image) v = std::min(v, 1.0);
  return image;
}

/// `count` images: image i is prototype (i mod classes) shifted by (dr, dc) uniform in
/// {-2..2}² px (at side 28), times a contrast uniform in [0.6, 1], times (1 + 0.15 ε) with ε
/// standard normal per pixel, clipped to [0, 1] and written as bytes round(255 v).
inline SyntheticImages synthetic_images(const SyntheticIdxOptions& options, Index count, Rng& rng) {
  std::vector<std::vector<double>> prototypes;
  for (int k = 0; k < options.classes; ++k) prototypes.push_back(synthetic_prototype(options, k));
  const Index side = options.side, max_shift = std::max<Index>(1, (2 * side + 14) / 28);
  SyntheticImages images;
  images.pixels.reserve(static_cast<size_t>(count * side * side));
  for (Index i = 0; i < count; ++i) {
    const int k = static_cast<int>(i % options.classes);
    images.labels.push_back(static_cast<unsigned char>(k));
    const Index dr = static_cast<Index>(uniform_below(2 * max_shift + 1, rng)) - max_shift;
    const Index dc = static_cast<Index>(uniform_below(2 * max_shift + 1, rng)) - max_shift;
    const double contrast = 0.6 + 0.4 * uniform_01(rng);
    VectorD noise(side * side);
    fill_standard_normal(noise, rng);
    for (Index r = 0; r < side; ++r)
      for (Index c = 0; c < side; ++c) {
        const Index sr = r - dr, sc = c - dc;
        const double p = sr < 0 || sr >= side || sc < 0 || sc >= side ? 0.0 : prototypes[k][sr * side + sc];
        const double v = std::clamp(contrast * p * (1.0 + 0.15 * noise(r * side + c)), 0.0, 1.0);
        images.pixels.push_back(static_cast<unsigned char>(std::lround(255.0 * v)));
      }
  }
  return images;
}

/// Writes the four files of the IDX layout that load_idx_dataset and load_fashion_mnist read,
/// {train,t10k}-images-idx3-ubyte and {train,t10k}-labels-idx1-ubyte (".gz" when options.gzip),
/// into `directory` (created if absent).
inline void write_synthetic_idx_dataset(const std::filesystem::path& directory, const SyntheticIdxOptions& options = {}) {
  std::filesystem::create_directories(directory);
  const auto side = static_cast<std::uint32_t>(options.side);
  const std::string suffix = options.gzip ? ".gz" : "";
  const auto write = options.gzip ? write_gzip_file : write_raw_file;
  Rng rng(options.seed);
  for (const auto& [prefix, count] : {std::pair<std::string, Index>{"train", options.train_images},
                                      {"t10k", options.test_images}}) {
    const SyntheticImages images = synthetic_images(options, count, rng);
    const auto n = static_cast<std::uint32_t>(count);
    write((directory / (prefix + "-images-idx3-ubyte" + suffix)).string(), idx_bytes(0x803, {n, side, side}, images.pixels));
    write((directory / (prefix + "-labels-idx1-ubyte" + suffix)).string(), idx_bytes(0x801, {n}, images.labels));
  }
}

}  // namespace vigap::testing
