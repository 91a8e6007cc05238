#include "core/training/vae_training_run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "core/data/binarization.hpp"
#include "core/data/train_validation_split.hpp"
#include "core/elapsed_seconds.hpp"

namespace vigap {

namespace {

/// Points per batch of the test ELBO (memory only: the estimate does not depend on it).
constexpr Index kTestBatchSize = 500;

}  // namespace

void VaeTrainingRunOptions::validate() const {
  if (architecture.flow_layers > 0 && trainer.objective.objective == TrainingObjective::elbo &&
      trainer.objective.kl_estimator == KlEstimator::analytic)
    throw std::invalid_argument("--kl analytic is not available with --flow-layers > 0 (no closed-form KL): use monte-carlo");
  architecture.validate();
  trainer.validate();
  if (validation_size < 0) throw std::invalid_argument("--validation-size must be >= 0, found " + std::to_string(validation_size));
  if (train_size < 0) throw std::invalid_argument("--train-size must be >= 0, found " + std::to_string(train_size));
  if (test_size < 0) throw std::invalid_argument("--test-size must be >= 0, found " + std::to_string(test_size));
}

VaeTrainingRun run_vae_training(const VaeTrainingRunOptions& options, Dataset train, Dataset test, std::uint64_t seed,
                                const ProgressReporter& progress) {
  options.validate();
  Rng rng(seed);
  if (options.test_size > 0) test = head(test, std::min(options.test_size, test.size()));
  VaeArchitecture architecture = options.architecture;
  architecture.data_dim = train.dimension();
  Dataset validation;
  if (options.validation_size > 0) {
    TrainValidationSplit split = split_train_validation(train, options.validation_size, rng);
    train = std::move(split.train);
    validation = std::move(split.validation);
  } else {
    validation.images.resize(train.dimension(), 0);
  }
  if (options.train_size > 0) train = head(train, std::min(options.train_size, train.size()));

  VaeTrainingRunOptions applied = options;
  applied.architecture = architecture;
  VaeTrainingRun run(std::move(applied), Vae(architecture), std::move(train), std::move(validation), std::move(test));
  Vae& vae = run.vae;
  const VaeTrainerOptions& trainer = options.trainer;
  vae.encoder->network().initialize(rng);
  vae.decoder.network().initialize(rng);
  if (vae.flow) vae.flow->initialize(rng);  // identity map at the start
  AffineCouplingFlow* flow = vae.flow ? &*vae.flow : nullptr;
  run.summary = train_vae(*vae.encoder, flow, vae.decoder, run.train.images, run.validation.images, trainer, rng, progress);

  // Test ELBO: analytic KL (Monte Carlo with a flow), one sample per point, on the fixed evaluation binarization.
  const MatrixF test_data = binarize_evaluation_set(run.test.images, trainer.binarization, trainer.binarization_threshold);
  const auto test_start = std::chrono::steady_clock::now();
  VaeObjectiveOptions elbo_options;
  if (flow != nullptr) elbo_options.kl_estimator = KlEstimator::monte_carlo;
  run.test_elbo = evaluate_vae_objective(*vae.encoder, flow, vae.decoder, test_data, elbo_options, kTestBatchSize, rng);
  run.test_seconds = seconds_since(test_start);
  run.test_datapoints = test_data.cols();
  if (!std::isfinite(run.test_elbo.mean)) throw std::runtime_error("the test ELBO is not finite: training diverged");

  vae.metadata["dataset"] = run.train.name;
  vae.metadata["objective"] = to_string(trainer.objective.objective);
  vae.metadata["samples"] = std::to_string(trainer.objective.samples);
  if (flow != nullptr) vae.metadata["flow_layers"] = std::to_string(architecture.flow_layers);
  vae.metadata["epochs"] = std::to_string(trainer.epochs);
  vae.metadata["binarization"] = to_string(trainer.binarization);
  vae.metadata["binarization_threshold"] = std::to_string(trainer.binarization_threshold);
  vae.metadata["seed"] = std::to_string(seed);
  return run;
}

nlohmann::ordered_json VaeTrainingRun::configuration_json() const {
  const VaeTrainerOptions& trainer = options.trainer;
  nlohmann::ordered_json configuration;
  configuration["architecture"] = options.architecture.to_json();
  configuration["objective"] = to_string(trainer.objective.objective);
  configuration["samples"] = trainer.objective.samples;
  configuration["kl"] = to_string(trainer.objective.kl_estimator);
  configuration["kl_warmup_epochs"] = trainer.kl_warmup_epochs;
  configuration["epochs"] = trainer.epochs;
  configuration["batch_size"] = trainer.batch_size;
  configuration["optimizer"] = {{"name", "adam"},
                                {"learning_rate", trainer.learning_rate.initial},
                                {"beta1", trainer.adam.beta1},
                                {"beta2", trainer.adam.beta2},
                                {"epsilon", trainer.adam.epsilon}};
  configuration["lr_schedule"] = {{"kind", to_string(trainer.learning_rate.kind)},
                                  {"decay", trainer.learning_rate.decay},
                                  {"step_epochs", trainer.learning_rate.step_epochs}};
  configuration["binarization"] = to_string(trainer.binarization);
  configuration["binarization_threshold"] = trainer.binarization_threshold;
  configuration["evaluation_binarization_seed"] = kEvaluationBinarizationSeed;
  configuration["validation_size"] = validation.size();
  configuration["train_size"] = train.size();
  return configuration;
}

nlohmann::ordered_json VaeTrainingRun::results_json() const {
  nlohmann::ordered_json epochs = nlohmann::ordered_json::array();
  for (const EpochRecord& r : summary.epochs)
    epochs.push_back({{"epoch", r.epoch},
                      {"learning_rate", r.learning_rate},
                      {"kl_weight", r.kl_weight},
                      {"train_objective", r.train_objective},
                      {"validation_elbo", r.validation_elbo},
                      {"validation_elbo_standard_error", r.validation_elbo_standard_error},
                      {"validation_objective", r.validation_objective}});
  nlohmann::ordered_json results;
  results["epochs"] = epochs;
  results["test_elbo"] = {{"value", test_elbo.mean},
                          {"dataset_standard_error", test_elbo.standard_error},
                          {"num_datapoints", test_datapoints},
                          {"estimator", vae.flow ? "ELBO, Monte Carlo KL (flow posterior), 1 sample per point"
                                                 : "ELBO, analytic KL, 1 sample per point"}};
  return results;
}

double VaeTrainingRun::median_examples_per_second() const {
  std::vector<double> rates;
  for (const EpochRecord& r : summary.epochs) rates.push_back(r.examples_per_second);
  if (rates.empty()) return 0.0;
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

nlohmann::ordered_json VaeTrainingRun::timings_json() const {
  nlohmann::ordered_json epochs = nlohmann::ordered_json::array();
  for (const EpochRecord& r : summary.epochs)
    epochs.push_back({{"epoch", r.epoch}, {"seconds", r.seconds}, {"examples_per_second", r.examples_per_second}});
  nlohmann::ordered_json timings;
  timings["epochs"] = epochs;
  timings["training_seconds"] = summary.training_seconds;
  timings["median_examples_per_second"] = median_examples_per_second();
  timings["test_evaluation_seconds"] = test_seconds;
  return timings;
}

std::string VaeTrainingRun::summary_text() const {
  std::string out;
  if (vae.flow) out += "posterior flow: " + vae.flow->describe() + "\n";
  char line[512];
  std::snprintf(line, sizeof line, "trained %s + %s on %s (%lld images, %d epochs, %s, %.0f examples/s median)\n",
                vae.encoder->describe().c_str(), vae.decoder.describe().c_str(), train.name.c_str(),
                static_cast<long long>(train.size()), options.trainer.epochs,
                to_string(options.trainer.objective.objective).c_str(), median_examples_per_second());
  out += line;
  std::snprintf(line, sizeof line, "test ELBO: %.2f ± %.2f nats (%lld test images)\n", test_elbo.mean,
                test_elbo.standard_error, static_cast<long long>(test_datapoints));
  return out + line;
}

}  // namespace vigap
