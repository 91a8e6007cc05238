#pragma once
// One training run of a VAE from its settings (vigap-train's work): split the training images,
// build and initialize the networks, train, measure the test ELBO, and fill the checkpoint's
// metadata.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "core/data/dataset.hpp"
#include "core/io/vae_checkpoint.hpp"
#include "core/progress_reporter.hpp"
#include "core/training/vae_trainer.hpp"

namespace vigap {

/// Settings of run_vae_training (the defaults are vigap-train's).
struct VaeTrainingRunOptions {
  /// The networks' shapes; data_dim is set from the training images.
  VaeArchitecture architecture;
  /// Epochs, batches, Adam, the learning-rate schedule, the objective (its KL estimator must not be
  /// analytic with a flow and the ELBO) and the binarization.
  VaeTrainerOptions trainer;
  Index validation_size = 5000;  ///< training images held out for validation (0: none)
  Index train_size = 0;          ///< use only this many of the remaining training images (0: all)
  Index test_size = 0;           ///< measure the test ELBO on this many test images (0: all)

  /// Throws std::invalid_argument naming the option (--kl, --validation-size, ... and those of
  /// the architecture and the trainer).
  void validate() const;
};

/// What run_vae_training did.
struct VaeTrainingRun {
  VaeTrainingRunOptions options;  ///< as applied: architecture.data_dim set from the data
  Vae vae;                        ///< the trained networks and the checkpoint's metadata
  Dataset train, validation, test;  ///< the images used (validation: no columns when validation_size = 0)
  VaeTrainingSummary summary;
  ObjectiveEstimate test_elbo;  ///< mean ELBO over the test images and its standard error across them
  Index test_datapoints = 0;
  double test_seconds = 0.0;

  VaeTrainingRun(VaeTrainingRunOptions options_, Vae vae_, Dataset train_, Dataset validation_, Dataset test_)
      : options(std::move(options_)), vae(std::move(vae_)), train(std::move(train_)),
        validation(std::move(validation_)), test(std::move(test_)) {}

  /// {"architecture", "objective", "samples", "kl", "kl_warmup_epochs", "epochs", "batch_size",
  /// "optimizer", "lr_schedule", "binarization", "binarization_threshold",
  /// "evaluation_binarization_seed", "validation_size", "train_size"}: the JSON `configuration`
  /// (sizes as used).
  nlohmann::ordered_json configuration_json() const;
  /// {"epochs": [{"epoch", "learning_rate", "kl_weight", "train_objective", "validation_elbo", ...}],
  /// "test_elbo": {"value", "dataset_standard_error", "num_datapoints", "estimator"}}.
  nlohmann::ordered_json results_json() const;
  /// {"epochs": [{"epoch", "seconds", "examples_per_second"}], "training_seconds",
  /// "median_examples_per_second", "test_evaluation_seconds"}.
  nlohmann::ordered_json timings_json() const;
  /// The median over epochs of the training examples per second.
  double median_examples_per_second() const;
  /// The flow (when there is one), what was trained on what, and the test ELBO, one line each.
  std::string summary_text() const;
};

/// Trains a VAE as `options` say on `train` (gray values in [0, 1]) and measures it on `test`:
///   holds validation_size training images out (split_train_validation), keeps the first
///   train_size of the rest and the first test_size test images; builds the encoder, the flow (when
///   architecture.flow_layers > 0, initialized to the identity map) and the decoder; trains them by
///   train_vae; then the test ELBO E_q[log p(x,z) - log q(z|x)] with one sample per point (analytic
///   KL, Monte Carlo with a flow; an unbiased estimate of the mean ELBO) on the test images
///   binarized once by binarize_evaluation_set; and records the dataset, objective, samples, flow
///   layers, epochs, binarization and seed in vae.metadata for the checkpoint.
/// Randomness: every draw (the split, the initial parameters, the minibatches and their
/// binarization, the test ELBO's noise) comes from one Rng seeded with `seed`, in that order.
/// Throws std::invalid_argument for invalid options (options.validate()) and std::runtime_error
/// when training diverges or the test ELBO is not finite.
VaeTrainingRun run_vae_training(const VaeTrainingRunOptions& options, Dataset train, Dataset test, std::uint64_t seed,
                                const ProgressReporter& progress);

}  // namespace vigap
