#pragma once
// Stochastic-gradient training of a VAE (encoder and decoder together) with Adam.
#include <functional>
#include <string>
#include <vector>

#include "core/data/binarization.hpp"
#include "core/nn/adam.hpp"
#include "core/nn/learning_rate_schedule.hpp"
#include "core/progress_reporter.hpp"
#include "core/training/vae_objective.hpp"

namespace vigap {

/// Settings of train_vae, with the defaults of the IWAE paper's VAE runs where they apply.
struct VaeTrainerOptions {
  int epochs = 10;                       ///< passes over the training set, >= 1
  Index batch_size = 100;                ///< >= 1
  LearningRateSchedule learning_rate;    ///< constant 1e-3 by default
  AdamOptions adam;                      ///< β1 0.9, β2 0.999, ε 1e-8
  VaeObjectiveOptions objective;         ///< ELBO, analytic KL, 1 sample
  int kl_warmup_epochs = 0;              ///< β rises linearly from 0 to 1 over this many epochs; 0 = off
  Binarization binarization = Binarization::dynamic;
  float binarization_threshold = 0.5f;   ///< for Binarization::threshold, in [0, 1]
  Index validation_samples = 1;          ///< samples per point for the validation ELBO, >= 1
  /// Hold the decoder's parameters fixed and train only the encoder (and flow): fitting the
  /// amortized q to a given model, e.g. one trained without an encoder. Default false.
  bool freeze_decoder = false;
  /// Early stopping (core/training/early_stopping.hpp): with patience P > 0, training ends after
  /// P epochs in a row without a new best validation objective (the training objective at β = 1
  /// on the validation set; log p(x) on the grid for exact marginal-likelihood training), at most
  /// `epochs` epochs, and the parameters of the best epoch are restored. Needs validation data.
  /// 0 (default): every epoch is run and the last parameters kept.
  int early_stopping_patience = 0;
  /// Called after every epoch (after its validation, before the early-stopping decision) with the
  /// 1-based epoch, while the parameters are that epoch's: a measurement along training (e.g. the
  /// objective comparison's exact trajectory). It gets no generator, so it cannot disturb the
  /// training stream; its time is not counted in the epoch's seconds. Empty (default): none.
  std::function<void(int epoch)> after_epoch;
  /// Throws std::invalid_argument naming the option when a value is out of range.
  void validate() const;
};

/// What one epoch did.
struct EpochRecord {
  int epoch = 0;                          ///< 1-based
  double learning_rate = 0.0;
  double kl_weight = 1.0;                 ///< β at the end of the epoch
  double train_objective = 0.0;           ///< mean over the epoch's batches of the (β-weighted) objective
  double validation_elbo = 0.0;           ///< mean ELBO (β = 1, analytic KL; Monte Carlo KL with a flow) on the validation set
  double validation_elbo_standard_error = 0.0;  ///< across validation points
  double validation_objective = 0.0;      ///< mean of the training objective (β = 1) on the validation set
  double seconds = 0.0;                   ///< training time of the epoch (excludes validation)
  double examples_per_second = 0.0;
};

/// What training did.
struct VaeTrainingSummary {
  std::vector<EpochRecord> epochs;
  double training_seconds = 0.0;
  int best_epoch = 0;          ///< epoch of the best validation objective (0 without validation data)
  bool stopped_early = false;  ///< early stopping ended training before options.epochs
};

/// Trains encoder and decoder jointly by maximizing options.objective with Adam over shuffled
/// minibatches of the columns of train_images (gray values in [0, 1], binarized per batch as
/// options say). Evaluates on validation_images (binarized once, with rng) after each epoch
/// unless it has no columns. Throws std::runtime_error naming the epoch and batch if the
/// objective or its gradient becomes non-finite (divergence), leaving the parameters at the
/// last finite state.
VaeTrainingSummary train_vae(TrainableEncoder& encoder, TrainableDecoder& decoder, const MatrixF& train_images,
                             const MatrixF& validation_images, const VaeTrainerOptions& options, Rng& rng,
                             const ProgressReporter& progress = quiet_progress());

/// As above with the flow posterior of vae_objective: when flow is non-null its global parameters
/// are trained with encoder and decoder (their own Adam state), and every ELBO (training and
/// validation) uses the Monte Carlo KL form; options.objective must then not ask for the
/// analytic KL (std::invalid_argument). flow == nullptr is exactly the Gaussian train_vae.
VaeTrainingSummary train_vae(TrainableEncoder& encoder, AffineCouplingFlow* flow, TrainableDecoder& decoder,
                             const MatrixF& train_images, const MatrixF& validation_images,
                             const VaeTrainerOptions& options, Rng& rng,
                             const ProgressReporter& progress = quiet_progress());

/// Mean and standard error (across points) of the objective on X with fresh noise from rng,
/// evaluated in batches; per-point values in *per_datapoint when non-null.
struct ObjectiveEstimate {
  double mean = 0.0;
  double standard_error = 0.0;
};
ObjectiveEstimate evaluate_vae_objective(const TrainableEncoder& encoder, const TrainableDecoder& decoder,
                                         const MatrixF& X, const VaeObjectiveOptions& options, Index batch_size,
                                         Rng& rng, VectorD* per_datapoint = nullptr);
/// The same with the flow posterior (flow may be null: the Gaussian encoder alone).
ObjectiveEstimate evaluate_vae_objective(const TrainableEncoder& encoder, const AffineCouplingFlow* flow,
                                         const TrainableDecoder& decoder, const MatrixF& X,
                                         const VaeObjectiveOptions& options, Index batch_size, Rng& rng,
                                         VectorD* per_datapoint = nullptr);

}  // namespace vigap
