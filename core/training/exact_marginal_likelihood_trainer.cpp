#include "core/training/exact_marginal_likelihood_trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <string>

#include "core/math/mean_and_standard_error.hpp"
#include "core/nn/adam.hpp"
#include "core/training/early_stopping.hpp"

namespace vigap {

namespace {

std::string format_number(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

}  // namespace

ExactMarginalLikelihoodTrainingSummary train_decoder_by_exact_marginal_likelihood(
    TrainableDecoder& decoder, const MatrixF& train_images, const MatrixF& validation_images,
    const VaeTrainerOptions& options, const ExactMarginalLikelihoodObjectiveOptions& grid_options, Rng& rng,
    const ProgressReporter& progress) {
  options.validate();
  grid_options.validate(decoder.latent_dim());
  if (decoder.likelihood() != Likelihood::bernoulli)
    throw std::invalid_argument("exact marginal-likelihood training needs a Bernoulli decoder");
  if (train_images.cols() < 1) throw std::invalid_argument("exact marginal-likelihood training: the training set is empty");
  if (train_images.rows() != decoder.data_dim())
    throw std::invalid_argument("exact marginal-likelihood training: images have dimension " +
                                std::to_string(train_images.rows()) + ", the decoder expects " +
                                std::to_string(decoder.data_dim()));
  if (train_images.minCoeff() < 0.0f || train_images.maxCoeff() > 1.0f)
    throw std::invalid_argument("exact marginal-likelihood training: a Bernoulli decoder needs data in [0, 1]");

  const Index N = train_images.cols();
  const Index d = decoder.latent_dim();
  Adam adam(decoder.num_parameters(), options.adam);
  VectorF gradient;
  MatrixF batch(train_images.rows(), options.batch_size);
  std::vector<Index> order(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), Index{0});
  const Index batches_per_epoch = (N + options.batch_size - 1) / options.batch_size;
  const MatrixF validation = binarize(validation_images, options.binarization, options.binarization_threshold, rng);
  const LatentGrid fixed_grid = shifted_latent_grid(d, grid_options, VectorD::Zero(d));

  if (options.early_stopping_patience > 0 && validation.cols() == 0)
    throw std::invalid_argument("--early-stopping-patience needs validation data, found none (--validation-size 0)");
  EarlyStopping stopping(options.early_stopping_patience);
  VectorF best_decoder;  // the parameters of the best epoch, when stopping early
  ExactMarginalLikelihoodTrainingSummary summary;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    const double lr = options.learning_rate.learning_rate(epoch);
    shuffle_in_place(order, rng);
    double objective_sum = 0.0;
    for (Index k = 0; k < batches_per_epoch; ++k) {
      const Index start = k * options.batch_size;
      const Index n = std::min(options.batch_size, N - start);
      batch.resize(train_images.rows(), n);
      for (Index j = 0; j < n; ++j) batch.col(j) = train_images.col(order[static_cast<size_t>(start + j)]);
      if (options.binarization != Binarization::none)
        batch = binarize(batch, options.binarization, options.binarization_threshold, rng);
      const LatentGrid grid = grid_options.random_shift
                                  ? shifted_latent_grid(d, grid_options, draw_grid_shift(d, grid_options, rng))
                                  : fixed_grid;
      const double objective =
          exact_marginal_likelihood_objective(decoder, batch, grid, grid_options.nodes_per_block, &gradient);
      if (!std::isfinite(objective) || !gradient.allFinite())
        throw std::runtime_error("exact marginal-likelihood training diverged in epoch " + std::to_string(epoch + 1) +
                                 ", batch " + std::to_string(k + 1) +
                                 ": the objective or its gradient is not finite (objective " +
                                 std::to_string(objective) + "); try a smaller --learning-rate");
      objective_sum += objective;
      gradient = -gradient;  // Adam minimizes -log p(x)
      adam.step(decoder.parameters(), gradient, lr);
      if (progress.enabled() && (k % 5 == 0 || k + 1 == batches_per_epoch))
        progress.update("exact-ML epoch " + std::to_string(epoch + 1) + "/" + std::to_string(options.epochs) +
                        "  batch " + std::to_string(k + 1) + "/" + std::to_string(batches_per_epoch) +
                        "  log p(x) " + format_number(objective_sum / static_cast<double>(k + 1), 2));
    }
    ExactMarginalLikelihoodEpoch record;
    record.epoch = epoch + 1;
    record.learning_rate = lr;
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    summary.training_seconds += record.seconds;
    record.examples_per_second = static_cast<double>(N) / record.seconds;
    record.train_objective = objective_sum / static_cast<double>(batches_per_epoch);
    if (validation.cols() > 0) {
      VectorD values(validation.cols()), chunk;
      for (Index start = 0; start < validation.cols(); start += 500) {
        const Index n = std::min<Index>(500, validation.cols() - start);
        exact_marginal_likelihood_objective(decoder, validation.middleCols(start, n), fixed_grid,
                                            grid_options.nodes_per_block, nullptr, &chunk);
        values.segment(start, n) = chunk;
      }
      const MeanAndStandardError stats = mean_and_standard_error(values);
      record.validation_log_px = stats.mean;
      record.validation_log_px_standard_error = stats.standard_error;
      if (!std::isfinite(stats.mean))
        throw std::runtime_error("exact marginal-likelihood training diverged: the validation log p(x) after epoch " +
                                 std::to_string(epoch + 1) + " is not finite");
    }
    progress.line("exact-ML epoch " + std::to_string(epoch + 1) + "/" + std::to_string(options.epochs) + "  train " +
                  format_number(record.train_objective, 2) + "  validation log p(x) " +
                  format_number(record.validation_log_px, 2) + "  " + format_number(record.seconds, 1) + " s  " +
                  format_number(record.examples_per_second, 0) + " examples/s");
    summary.epochs.push_back(record);
    if (options.after_epoch) options.after_epoch(record.epoch);
    if (validation.cols() > 0 && stopping.record(record.epoch, record.validation_log_px) &&
        options.early_stopping_patience > 0)
      best_decoder = decoder.parameters();
    if (stopping.should_stop()) {
      summary.stopped_early = epoch + 1 < options.epochs;
      break;
    }
  }
  if (options.early_stopping_patience > 0 && stopping.best_epoch() < static_cast<int>(summary.epochs.size())) {
    decoder.parameters() = best_decoder;
    progress.line("early stopping: kept epoch " + std::to_string(stopping.best_epoch()) +
                  " (best validation log p(x) " + format_number(stopping.best(), 2) + ")");
  }
  summary.best_epoch = stopping.best_epoch();
  return summary;
}

}  // namespace vigap
