#pragma once
// Stochastic-gradient training of a decoder alone by its exact marginal likelihood (grid
// quadrature of log p(x), latent dimension <= 3), with Adam.
#include <vector>

#include "core/progress_reporter.hpp"
#include "core/training/exact_marginal_likelihood_objective.hpp"
#include "core/training/vae_trainer.hpp"

namespace vigap {

/// What one epoch of exact marginal-likelihood training did.
struct ExactMarginalLikelihoodEpoch {
  int epoch = 0;                    ///< 1-based
  double learning_rate = 0.0;
  double train_objective = 0.0;     ///< mean over the epoch's batches of the grid log p̂(x)
  double validation_log_px = 0.0;   ///< mean grid log p̂(x) on the validation set (unshifted grid); 0 without one
  double validation_log_px_standard_error = 0.0;  ///< across validation points
  double seconds = 0.0;             ///< training time of the epoch (excludes validation)
  double examples_per_second = 0.0;
};

/// What exact marginal-likelihood training did.
struct ExactMarginalLikelihoodTrainingSummary {
  std::vector<ExactMarginalLikelihoodEpoch> epochs;
  double training_seconds = 0.0;
  int best_epoch = 0;          ///< epoch of the best validation log p(x) (0 without validation data)
  bool stopped_early = false;  ///< early stopping (options.early_stopping_patience) ended training
};

/// Trains `decoder` (Bernoulli) by maximizing the batch mean of log p̂(x) =
/// exact_marginal_likelihood_objective on a grid drawn afresh for every batch
/// (draw_grid_shift: a random shift when grid.random_shift) with Adam over shuffled minibatches of
/// the columns of train_images (gray values in [0, 1], binarized per batch as `options` say).
/// From `options` it uses epochs, batch_size, learning_rate, adam, binarization,
/// binarization_threshold, early_stopping_patience and after_epoch, the same fields train_vae
/// uses, so both train under the same settings; the encoder-only fields (objective, kl_warmup_epochs, validation_samples, freeze_decoder) are
/// ignored. After each epoch, log p̂(x) on validation_images (binarized once with rng) on the
/// unshifted grid, unless it has no columns. Throws std::runtime_error naming the epoch and batch
/// if the objective or its gradient becomes non-finite, std::invalid_argument for invalid options,
/// a Gaussian decoder or data outside [0, 1].
ExactMarginalLikelihoodTrainingSummary train_decoder_by_exact_marginal_likelihood(
    TrainableDecoder& decoder, const MatrixF& train_images, const MatrixF& validation_images,
    const VaeTrainerOptions& options, const ExactMarginalLikelihoodObjectiveOptions& grid, Rng& rng,
    const ProgressReporter& progress = quiet_progress());

}  // namespace vigap
