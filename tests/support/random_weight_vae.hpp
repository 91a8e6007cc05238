#pragma once
// The fixture of the binaries' split and distribution tests (tests/experiments/
// same_results_any_split_test.cpp, tests/distributed/datapoint_block_run_test.cpp): a small
// synthetic IDX data set of side x side images (tests/support/synthetic_idx_dataset.hpp) and
// VAE checkpoints with random weights. No training, no Fashion-MNIST: the tests compare runs of
// the same model with each other, not figures with truth.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/io/vae_checkpoint.hpp"
#include "core/random.hpp"
#include "core/types.hpp"
#include "support/synthetic_idx_dataset.hpp"

namespace vigap::testing {

/// Writes the uncompressed IDX files of 10 training and `test_images` test images of
/// side x side pixels into `directory` (read with --dataset idx --data-dir <directory>).
inline void write_small_idx_dataset(const std::filesystem::path& directory, Index test_images, Index side) {
  SyntheticIdxOptions data;
  data.train_images = 10;
  data.test_images = test_images;
  data.side = side;
  data.gzip = false;
  write_synthetic_idx_dataset(directory, data);
}

/// Saves at `path` a VAE for data of dimension data_dim with latent dimension latent_dim, one
/// hidden layer of 12 units in the encoder and the decoder, and random weights drawn from `seed`.
inline void save_random_weight_vae(const std::string& path, Index data_dim, Index latent_dim, std::uint64_t seed) {
  Rng rng(seed);
  VaeArchitecture architecture;
  architecture.data_dim = data_dim;
  architecture.latent_dim = latent_dim;
  architecture.encoder_hidden = {12};
  architecture.decoder_hidden = {12};
  Vae vae(architecture);
  vae.encoder->network().initialize(rng);
  vae.decoder.network().initialize(rng);
  save_vae_checkpoint(path, vae);
}

}  // namespace vigap::testing
