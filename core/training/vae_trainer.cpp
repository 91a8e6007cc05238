#include "core/training/vae_trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>

#include "core/data/binarization.hpp"
#include "core/math/mean_and_standard_error.hpp"
#include "core/training/early_stopping.hpp"

namespace vigap {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string format_number(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

}  // namespace

void VaeTrainerOptions::validate() const {
  if (epochs < 1) throw std::invalid_argument("--epochs must be >= 1, found " + std::to_string(epochs));
  if (batch_size < 1) throw std::invalid_argument("--batch-size must be >= 1, found " + std::to_string(batch_size));
  learning_rate.validate();
  adam.validate();
  objective.validate();
  if (kl_warmup_epochs < 0)
    throw std::invalid_argument("--kl-warmup-epochs must be >= 0, found " + std::to_string(kl_warmup_epochs));
  if (!(binarization_threshold >= 0.0f && binarization_threshold <= 1.0f))
    throw std::invalid_argument("--binarization-threshold must be in [0, 1], found " +
                                std::to_string(binarization_threshold));
  if (validation_samples < 1)
    throw std::invalid_argument("validation samples must be >= 1, found " + std::to_string(validation_samples));
  static_cast<void>(EarlyStopping(early_stopping_patience));  // throws for a negative patience
}

ObjectiveEstimate evaluate_vae_objective(const TrainableEncoder& encoder, const TrainableDecoder& decoder,
                                         const MatrixF& X, const VaeObjectiveOptions& options, Index batch_size,
                                         Rng& rng, VectorD* per_datapoint) {
  return evaluate_vae_objective(encoder, nullptr, decoder, X, options, batch_size, rng, per_datapoint);
}

ObjectiveEstimate evaluate_vae_objective(const TrainableEncoder& encoder, const AffineCouplingFlow* flow,
                                         const TrainableDecoder& decoder, const MatrixF& X,
                                         const VaeObjectiveOptions& options, Index batch_size, Rng& rng,
                                         VectorD* per_datapoint) {
  if (batch_size < 1) throw std::invalid_argument("evaluation batch size must be >= 1");
  VectorD values(X.cols());
  VaeObjectiveWorkspace ws;
  MatrixF noise;
  VectorD batch_values;
  for (Index start = 0; start < X.cols(); start += batch_size) {
    const Index n = std::min(batch_size, X.cols() - start);
    noise.resize(encoder.latent_dim(), n * options.samples);
    fill_standard_normal(noise, rng);
    vae_objective(encoder, flow, decoder, X.middleCols(start, n), noise, options, ws, nullptr, nullptr, nullptr,
                  &batch_values);
    values.segment(start, n) = batch_values;
  }
  const MeanAndStandardError stats = mean_and_standard_error(values);
  if (per_datapoint != nullptr) *per_datapoint = values;
  return {stats.mean, stats.standard_error};
}

VaeTrainingSummary train_vae(TrainableEncoder& encoder, TrainableDecoder& decoder, const MatrixF& train_images,
                             const MatrixF& validation_images, const VaeTrainerOptions& options, Rng& rng,
                             const ProgressReporter& progress) {
  return train_vae(encoder, nullptr, decoder, train_images, validation_images, options, rng, progress);
}

VaeTrainingSummary train_vae(TrainableEncoder& encoder, AffineCouplingFlow* flow, TrainableDecoder& decoder,
                             const MatrixF& train_images, const MatrixF& validation_images,
                             const VaeTrainerOptions& options, Rng& rng, const ProgressReporter& progress) {
  options.validate();
  if (flow != nullptr && options.objective.objective == TrainingObjective::elbo &&
      options.objective.kl_estimator == KlEstimator::analytic)
    throw std::invalid_argument(
        "the ELBO of a flow posterior has no analytic KL term: use --kl monte-carlo (or auto) with --flow-layers");
  if (flow != nullptr && flow->latent_dim() != encoder.latent_dim())
    throw std::invalid_argument("train_vae: the flow has latent dimension " + std::to_string(flow->latent_dim()) +
                                ", the encoder " + std::to_string(encoder.latent_dim()));
  if (train_images.cols() < 1) throw std::invalid_argument("train_vae: the training set is empty");
  if (train_images.rows() != encoder.data_dim())
    throw std::invalid_argument("train_vae: images have dimension " + std::to_string(train_images.rows()) +
                                ", the encoder expects " + std::to_string(encoder.data_dim()));
  if (decoder.likelihood() == Likelihood::bernoulli &&
      (train_images.minCoeff() < 0.0f || train_images.maxCoeff() > 1.0f))
    throw std::invalid_argument("train_vae: a Bernoulli decoder needs data in [0, 1]");

  const Index N = train_images.cols();
  const Index d = encoder.latent_dim();
  const Index S = options.objective.samples;
  Adam encoder_adam(encoder.num_parameters(), options.adam);
  Adam decoder_adam(decoder.num_parameters(), options.adam);
  Adam flow_adam(flow != nullptr ? flow->num_parameters() : 0, options.adam);
  VectorF grad_encoder, grad_flow, grad_decoder;
  VaeObjectiveWorkspace ws;
  MatrixF batch(train_images.rows(), options.batch_size), noise;
  std::vector<Index> order(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), Index{0});
  const Index batches_per_epoch = (N + options.batch_size - 1) / options.batch_size;

  // Validation data are binarized once, so epochs are compared on the same data.
  const MatrixF validation = binarize(validation_images, options.binarization, options.binarization_threshold, rng);
  VaeObjectiveOptions elbo_options;  // analytic-KL single-sample ELBO, β = 1
  VaeObjectiveOptions validation_objective = options.objective;
  validation_objective.kl_weight = 1.0;
  elbo_options.samples = options.validation_samples;
  if (flow != nullptr) elbo_options.kl_estimator = KlEstimator::monte_carlo;  // no analytic KL for a flow

  if (options.early_stopping_patience > 0 && validation.cols() == 0)
    throw std::invalid_argument("--early-stopping-patience needs validation data, found none (--validation-size 0)");
  EarlyStopping stopping(options.early_stopping_patience);
  VectorF best_encoder, best_decoder, best_flow;  // the parameters of the best epoch, when stopping early
  VaeTrainingSummary summary;
  double training_seconds = 0.0;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    const double lr = options.learning_rate.learning_rate(epoch);
    shuffle_in_place(order, rng);
    double objective_sum = 0.0;
    VaeObjectiveOptions step_options = options.objective;
    for (Index k = 0; k < batches_per_epoch; ++k) {
      const Index start = k * options.batch_size;
      const Index n = std::min(options.batch_size, N - start);
      batch.resize(train_images.rows(), n);
      for (Index j = 0; j < n; ++j) batch.col(j) = train_images.col(order[static_cast<size_t>(start + j)]);
      if (options.binarization != Binarization::none)
        batch = binarize(batch, options.binarization, options.binarization_threshold, rng);
      if (options.kl_warmup_epochs > 0) {
        const double progress_fraction =
            (static_cast<double>(epoch) + static_cast<double>(k + 1) / static_cast<double>(batches_per_epoch)) /
            static_cast<double>(options.kl_warmup_epochs);
        step_options.kl_weight = std::min(1.0, progress_fraction);
      }
      noise.resize(d, n * S);
      fill_standard_normal(noise, rng);
      const double objective = vae_objective(encoder, flow, decoder, batch, noise, step_options, ws, &grad_encoder,
                                             flow != nullptr ? &grad_flow : nullptr,
                                             options.freeze_decoder ? nullptr : &grad_decoder);
      if (!std::isfinite(objective) || !grad_encoder.allFinite() || !grad_decoder.allFinite() ||
          (flow != nullptr && !grad_flow.allFinite()))
        throw std::runtime_error("training diverged in epoch " + std::to_string(epoch + 1) + ", batch " +
                                 std::to_string(k + 1) + ": the objective or its gradient is not finite (objective " +
                                 std::to_string(objective) +
                                 "); try a smaller --learning-rate or a KL warm-up (--kl-warmup-epochs)");
      objective_sum += objective;
      grad_encoder = -grad_encoder;  // Adam minimizes the negative objective
      grad_decoder = -grad_decoder;
      encoder_adam.step(encoder.parameters(), grad_encoder, lr);
      if (!options.freeze_decoder) decoder_adam.step(decoder.parameters(), grad_decoder, lr);
      if (flow != nullptr) {
        grad_flow = -grad_flow;
        flow_adam.step(flow->parameters(), grad_flow, lr);
      }
      if (progress.enabled() && (k % 20 == 0 || k + 1 == batches_per_epoch))
        progress.update("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(options.epochs) + "  batch " +
                        std::to_string(k + 1) + "/" + std::to_string(batches_per_epoch) + "  objective " +
                        format_number(objective_sum / static_cast<double>(k + 1), 2));
    }
    EpochRecord record;
    record.epoch = epoch + 1;
    record.learning_rate = lr;
    record.kl_weight = step_options.kl_weight;
    record.seconds = seconds_since(epoch_start);
    training_seconds += record.seconds;
    record.examples_per_second = static_cast<double>(N) / record.seconds;
    record.train_objective = objective_sum / static_cast<double>(batches_per_epoch);
    if (validation.cols() > 0) {
      const ObjectiveEstimate elbo = evaluate_vae_objective(encoder, flow, decoder, validation, elbo_options, 500, rng);
      record.validation_elbo = elbo.mean;
      record.validation_elbo_standard_error = elbo.standard_error;
      record.validation_objective =
          evaluate_vae_objective(encoder, flow, decoder, validation, validation_objective, 500, rng).mean;
      if (!std::isfinite(record.validation_elbo) || !std::isfinite(record.validation_objective))
        throw std::runtime_error("training diverged: the validation objective after epoch " +
                                 std::to_string(epoch + 1) + " is not finite");
    }
    progress.line("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(options.epochs) + "  train " +
                  format_number(record.train_objective, 2) + "  validation ELBO " +
                  format_number(record.validation_elbo, 2) + "  " + format_number(record.seconds, 1) + " s  " +
                  format_number(record.examples_per_second, 0) + " examples/s");
    summary.epochs.push_back(record);
    if (options.after_epoch) options.after_epoch(record.epoch);
    if (validation.cols() > 0 && stopping.record(record.epoch, record.validation_objective) &&
        options.early_stopping_patience > 0) {
      best_encoder = encoder.parameters();
      best_decoder = decoder.parameters();
      if (flow != nullptr) best_flow = flow->parameters();
    }
    if (stopping.should_stop()) {
      summary.stopped_early = epoch + 1 < options.epochs;
      break;
    }
  }
  if (options.early_stopping_patience > 0 && stopping.best_epoch() < static_cast<int>(summary.epochs.size())) {
    encoder.parameters() = best_encoder;
    decoder.parameters() = best_decoder;
    if (flow != nullptr) flow->parameters() = best_flow;
    progress.line("early stopping: kept epoch " + std::to_string(stopping.best_epoch()) + " (best validation objective " +
                  format_number(stopping.best(), 2) + ")");
  }
  summary.best_epoch = stopping.best_epoch();
  summary.training_seconds = training_seconds;
  return summary;
}

}  // namespace vigap
