#pragma once
// The shared set-up of the tests that run experiment binaries (test support): one synthetic IDX
// data set per test program (support/synthetic_idx_dataset.hpp: 1,000 training and 400 test images
// of 28 x 28 pixels, so no test needs Fashion-MNIST), tiny VAEs trained on it by vigap-train once
// per test program and setting (cached: a ctest process that never asks for a model trains none),
// checkpoints with zero parameters for the checks made before any computation, run_experiment,
// which points a binary at the synthetic data, and a fixture with a fresh output directory per test.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "core/io/vae_checkpoint.hpp"
#include "support/run_binary.hpp"
#include "support/synthetic_idx_dataset.hpp"
#include "support/temporary_directory.hpp"
#include "support/test_seed.hpp"

namespace vigap::testing {

/// vigap-train's settings of the tiny models (without --latent-dim, --seed, --out, --checkpoint):
/// 600 training images (and 100 more held out for validation), 100 test images, 2 epochs, one
/// hidden layer of 32 units in the encoder and in the decoder, one thread.
inline const std::string kTinyModel =
    "--train-size 600 --validation-size 100 --test-size 100 --epochs 2 --encoder-hidden 32 --decoder-hidden 32 "
    "--batch-size 50 --threads 1";

/// The scratch directory of the test program: the synthetic data set (in data/) and the cached
/// tiny checkpoints, removed when the program ends.
class ExperimentTestScratch {
 public:
  static ExperimentTestScratch& instance() {
    static ExperimentTestScratch scratch;
    return scratch;
  }
  /// The directory holding the synthetic IDX files (written on first use).
  std::string data_directory() {
    const std::lock_guard<std::mutex> lock(mutex_);
    const std::string directory = scratch_.file("data");
    if (!data_written_) {
      write_synthetic_idx_dataset(directory);
      data_written_ = true;
    }
    return directory;
  }
  /// The checkpoint vigap-train writes for `options`, trained on first use. Throws
  /// std::runtime_error with vigap-train's output if it fails.
  std::string checkpoint(const std::string& options) {
    const std::string data = data_directory();
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto found = checkpoints_.find(options);
    if (found != checkpoints_.end()) return found->second;
    const std::string name = "tiny-" + std::to_string(checkpoints_.size());
    const std::string path = scratch_.file(name + ".safetensors");
    const BinaryRun run = run_binary("vigap-train", options + " --dataset idx --data-dir " + data + " --out " +
                                                        scratch_.file(name + ".json") + " --checkpoint " + path);
    if (run.exit_code != 0)
      throw std::runtime_error("vigap-train " + options + " failed (exit " + std::to_string(run.exit_code) +
                               "):\n" + run.output);
    checkpoints_.emplace(options, path);
    return path;
  }

 private:
  ExperimentTestScratch() = default;
  TemporaryDirectory scratch_;
  std::mutex mutex_;
  bool data_written_ = false;
  std::map<std::string, std::string> checkpoints_;
};

/// A tiny VAE (kTinyModel, --seed test_seed(4)) with `options` added, e.g. "--latent-dim 2" or
/// "--latent-dim 2 --flow-layers 2", trained on the synthetic data once per test program.
inline std::string tiny_checkpoint(const std::string& options) {
  return ExperimentTestScratch::instance().checkpoint(kTinyModel + " --seed " + test_seed_argument(4) + " " + options);
}

/// run_binary(binary, arguments) on the synthetic data: --dataset idx and --data-dir <it> are
/// appended, each unless `arguments` already give that option (bad-input cases about the data set).
inline BinaryRun run_experiment(const std::string& binary, const std::string& arguments) {
  std::string data;
  if (arguments.find("--dataset") == std::string::npos) data += " --dataset idx";
  if (arguments.find("--data-dir") == std::string::npos)
    data += " --data-dir " + ExperimentTestScratch::instance().data_directory();
  return run_binary(binary, arguments + data);
}

/// A checkpoint with zero parameters (enough for the checks a binary makes before any
/// computation) of latent dimension `latent_dim`, with an encoder or not, written once per test program.
inline std::string untrained_checkpoint(Index latent_dim, bool has_encoder) {
  static const TemporaryDirectory directory;
  static std::mutex mutex;
  const std::lock_guard<std::mutex> lock(mutex);
  const std::string path = directory.file("untrained-z" + std::to_string(latent_dim) +
                                          (has_encoder ? "" : "-decoder-only") + ".safetensors");
  if (!std::filesystem::exists(path)) {
    VaeArchitecture architecture;
    architecture.latent_dim = latent_dim;
    architecture.encoder_hidden = {8};
    architecture.decoder_hidden = {8};
    architecture.has_encoder = has_encoder;
    save_vae_checkpoint(path, Vae(architecture));
  }
  return path;
}

/// The fixture of a binary's tests: `out`, a fresh directory for what one test writes.
class ExperimentBinaryTest : public ::testing::Test {
 protected:
  TemporaryDirectory out;
};

}  // namespace vigap::testing
