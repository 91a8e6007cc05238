// vigap-train: trains a VAE (Gaussian encoder, optionally followed by a global affine coupling
// flow, MLP decoder) by the ELBO or the IWAE bound, writes a safetensors checkpoint and a JSON
// result, and prints the test ELBO.
#include <cstdio>
#include <iostream>

#include "core/data/dataset.hpp"
#include "core/data/train_validation_split.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"
#include "core/io/vae_checkpoint.hpp"
#include "core/training/vae_trainer.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/dataset_options.hpp"
#include "experiments/support/evaluation_data.hpp"

namespace po = boost::program_options;
using namespace vigap;

namespace {

int train_main(int argc, char** argv) {
  CommonOptions common;
  DatasetOptions data;
  VaeArchitecture architecture;
  VaeTrainerOptions trainer;
  std::string encoder_hidden = "200,200", decoder_hidden = "200,200", activation = "tanh", likelihood = "bernoulli";
  std::string flow_hidden = "64";
  std::string objective = "elbo", kl = "auto", schedule = "constant", binarization = "dynamic";
  std::string checkpoint = "vae.safetensors";
  Index validation_size = 5000, train_size = 0, test_size = 0;
  double learning_rate = 1e-3;

  po::options_description d("Options");
  add_common_options(d, common, "train.json");
  add_dataset_options(d, data);
  d.add_options()
      ("checkpoint", po::value(&checkpoint)->default_value(checkpoint), "path of the safetensors checkpoint to write")
      ("latent-dim", po::value(&architecture.latent_dim)->default_value(architecture.latent_dim), "latent dimension d")
      ("encoder-hidden", po::value(&encoder_hidden)->default_value(encoder_hidden), "encoder hidden sizes, comma-separated")
      ("decoder-hidden", po::value(&decoder_hidden)->default_value(decoder_hidden), "decoder hidden sizes, comma-separated")
      ("activation", po::value(&activation)->default_value(activation), "hidden activation: tanh, relu, elu")
      ("likelihood", po::value(&likelihood)->default_value(likelihood), "bernoulli or gaussian")
      ("flow-layers", po::value(&architecture.flow_layers)->default_value(architecture.flow_layers),
       "K affine coupling layers (global, shared by all datapoints) after the Gaussian encoder; 0: plain Gaussian encoder")
      ("flow-hidden", po::value(&flow_hidden)->default_value(flow_hidden),
       "hidden sizes of each coupling layer's conditioner, comma-separated")
      ("objective", po::value(&objective)->default_value(objective), "elbo or iwae")
      ("samples", po::value(&trainer.objective.samples)->default_value(trainer.objective.samples),
       "samples per datapoint: S of the ELBO (averaged) or K of IWAE")
      ("kl", po::value(&kl)->default_value(kl),
       "ELBO's KL term: analytic, monte-carlo, or auto (analytic, or monte-carlo with --flow-layers > 0)")
      ("kl-warmup-epochs", po::value(&trainer.kl_warmup_epochs)->default_value(trainer.kl_warmup_epochs),
       "epochs over which the KL weight rises linearly from 0 to 1 (0: off)")
      ("epochs", po::value(&trainer.epochs)->default_value(trainer.epochs), "passes over the training set (>= 1)")
      ("batch-size", po::value(&trainer.batch_size)->default_value(trainer.batch_size), "minibatch size (>= 1)")
      ("learning-rate", po::value(&learning_rate)->default_value(learning_rate), "Adam's initial learning rate (> 0)")
      ("lr-schedule", po::value(&schedule)->default_value(schedule), "constant, exponential, step or cosine")
      ("lr-decay", po::value(&trainer.learning_rate.decay)->default_value(trainer.learning_rate.decay),
       "decay factor of the schedule, in (0, 1]")
      ("lr-step-epochs", po::value(&trainer.learning_rate.step_epochs)->default_value(trainer.learning_rate.step_epochs),
       "epochs between decays of the step schedule")
      ("binarization", po::value(&binarization)->default_value(binarization), "dynamic, threshold or none")
      ("binarization-threshold", po::value(&trainer.binarization_threshold)->default_value(trainer.binarization_threshold),
       "threshold of --binarization threshold (pixel > threshold is 1)")
      ("validation-size", po::value(&validation_size)->default_value(validation_size),
       "training images held out for validation (0: none)")
      ("train-size", po::value(&train_size)->default_value(train_size), "use only this many training images (0: all)")
      ("test-size", po::value(&test_size)->default_value(test_size), "evaluate on this many test images (0: all)");
  if (!parse_command_line(argc, argv, "vigap-train",
                          "Trains a VAE by the ELBO or IWAE-K, writes a checkpoint and JSON, prints the test ELBO.", d,
                          common))
    return 0;

  // Check every option before any long work.
  architecture.encoder_hidden = parse_size_list(encoder_hidden, "--encoder-hidden");
  architecture.decoder_hidden = parse_size_list(decoder_hidden, "--decoder-hidden");
  architecture.activation = parse_activation(activation);
  architecture.likelihood = parse_likelihood(likelihood);
  trainer.objective.objective = parse_training_objective(objective);
  architecture.flow_hidden = parse_size_list(flow_hidden, "--flow-hidden");
  if (kl == "auto") kl = architecture.flow_layers > 0 ? "monte-carlo" : "analytic";
  trainer.objective.kl_estimator = parse_kl_estimator(kl);
  if (architecture.flow_layers > 0 && trainer.objective.objective == TrainingObjective::elbo &&
      trainer.objective.kl_estimator == KlEstimator::analytic)
    throw std::invalid_argument("--kl analytic is not available with --flow-layers > 0 (no closed-form KL): use monte-carlo");
  trainer.learning_rate.kind = parse_learning_rate_schedule(schedule);
  trainer.learning_rate.initial = learning_rate;
  trainer.learning_rate.total_epochs = trainer.epochs;
  trainer.binarization = parse_binarization(binarization);
  architecture.validate();
  trainer.validate();
  if (validation_size < 0) throw std::invalid_argument("--validation-size must be >= 0, found " + std::to_string(validation_size));
  if (train_size < 0) throw std::invalid_argument("--train-size must be >= 0, found " + std::to_string(train_size));
  if (test_size < 0) throw std::invalid_argument("--test-size must be >= 0, found " + std::to_string(test_size));
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(common.out);
  check_writable_output_path(checkpoint);

  const auto start = std::chrono::steady_clock::now();
  Rng rng(common.seed);
  Dataset train = load_dataset(data, "train");
  Dataset test = load_dataset(data, "test");
  if (test_size > 0) test = head(test, std::min(test_size, test.size()));
  architecture.data_dim = train.dimension();
  Dataset validation;
  if (validation_size > 0) {
    TrainValidationSplit split = split_train_validation(train, validation_size, rng);
    train = std::move(split.train);
    validation = std::move(split.validation);
  } else {
    validation.images.resize(train.dimension(), 0);
  }
  if (train_size > 0) train = head(train, std::min(train_size, train.size()));

  Vae vae(architecture);
  vae.encoder->network().initialize(rng);
  vae.decoder.network().initialize(rng);
  if (vae.flow) vae.flow->initialize(rng);  // identity map at the start
  AffineCouplingFlow* flow = vae.flow ? &*vae.flow : nullptr;
  ProgressReporter progress;
  const VaeTrainingSummary summary =
      train_vae(*vae.encoder, flow, vae.decoder, train.images, validation.images, trainer, rng, progress);

  // Test ELBO: analytic KL (Monte Carlo with a flow), one sample per point, on the fixed evaluation binarization.
  const MatrixF test_data = binarize_evaluation_set(test.images, trainer.binarization, trainer.binarization_threshold);
  const auto test_start = std::chrono::steady_clock::now();
  VaeObjectiveOptions elbo_options;
  if (flow != nullptr) elbo_options.kl_estimator = KlEstimator::monte_carlo;
  const ObjectiveEstimate test_elbo =
      evaluate_vae_objective(*vae.encoder, flow, vae.decoder, test_data, elbo_options, 500, rng);
  const double test_seconds = seconds_since(test_start);
  if (!std::isfinite(test_elbo.mean)) throw std::runtime_error("the test ELBO is not finite: training diverged");

  nlohmann::ordered_json configuration;
  configuration["architecture"] = architecture.to_json();
  configuration["objective"] = to_string(trainer.objective.objective);
  configuration["samples"] = trainer.objective.samples;
  configuration["kl"] = to_string(trainer.objective.kl_estimator);
  configuration["kl_warmup_epochs"] = trainer.kl_warmup_epochs;
  configuration["epochs"] = trainer.epochs;
  configuration["batch_size"] = trainer.batch_size;
  configuration["optimizer"] = {{"name", "adam"}, {"learning_rate", learning_rate}, {"beta1", trainer.adam.beta1},
                                {"beta2", trainer.adam.beta2}, {"epsilon", trainer.adam.epsilon}};
  configuration["lr_schedule"] = {{"kind", schedule}, {"decay", trainer.learning_rate.decay},
                                  {"step_epochs", trainer.learning_rate.step_epochs}};
  configuration["binarization"] = binarization;
  configuration["binarization_threshold"] = trainer.binarization_threshold;
  configuration["evaluation_binarization_seed"] = kEvaluationBinarizationSeed;
  configuration["validation_size"] = validation.size();
  configuration["train_size"] = train.size();
  configuration["threads"] = common.threads;
  configuration["checkpoint"] = checkpoint;

  nlohmann::ordered_json datasets;
  datasets["train"] = dataset_identity(train, "train");
  datasets["test"] = dataset_identity(test, "test");
  nlohmann::ordered_json document = make_result_document("train", configuration, datasets, common.seed);
  nlohmann::ordered_json epochs = nlohmann::ordered_json::array(), epoch_timings = nlohmann::ordered_json::array();
  for (const EpochRecord& r : summary.epochs) {
    epochs.push_back({{"epoch", r.epoch},
                      {"learning_rate", r.learning_rate},
                      {"kl_weight", r.kl_weight},
                      {"train_objective", r.train_objective},
                      {"validation_elbo", r.validation_elbo},
                      {"validation_elbo_standard_error", r.validation_elbo_standard_error},
                      {"validation_objective", r.validation_objective}});
    epoch_timings.push_back({{"epoch", r.epoch}, {"seconds", r.seconds}, {"examples_per_second", r.examples_per_second}});
  }
  document["results"]["epochs"] = epochs;
  document["results"]["test_elbo"] = {{"value", test_elbo.mean},
                                      {"dataset_standard_error", test_elbo.standard_error},
                                      {"num_datapoints", test_data.cols()},
                                      {"estimator", flow != nullptr ? "ELBO, Monte Carlo KL (flow posterior), 1 sample per point"
                                                                    : "ELBO, analytic KL, 1 sample per point"}};
  std::vector<double> rates;
  for (const EpochRecord& r : summary.epochs) rates.push_back(r.examples_per_second);
  std::sort(rates.begin(), rates.end());
  const double median_rate = rates[rates.size() / 2];
  document["timings"]["epochs"] = epoch_timings;
  document["timings"]["training_seconds"] = summary.training_seconds;
  document["timings"]["median_examples_per_second"] = median_rate;
  document["timings"]["test_evaluation_seconds"] = test_seconds;
  document["timings"]["total_seconds"] = seconds_since(start);

  vae.metadata["dataset"] = train.name;
  vae.metadata["objective"] = to_string(trainer.objective.objective);
  vae.metadata["samples"] = std::to_string(trainer.objective.samples);
  if (flow != nullptr) vae.metadata["flow_layers"] = std::to_string(architecture.flow_layers);
  vae.metadata["epochs"] = std::to_string(trainer.epochs);
  vae.metadata["binarization"] = binarization;
  vae.metadata["binarization_threshold"] = std::to_string(trainer.binarization_threshold);
  vae.metadata["seed"] = std::to_string(common.seed);
  save_vae_checkpoint(checkpoint, vae);
  write_result_json(common.out, document);

  if (flow != nullptr) std::printf("posterior flow: %s\n", flow->describe().c_str());
  std::printf("trained %s + %s on %s (%lld images, %d epochs, %s, %.0f examples/s median)\n",
              vae.encoder->describe().c_str(), vae.decoder.describe().c_str(), train.name.c_str(),
              static_cast<long long>(train.size()), trainer.epochs, objective.c_str(), median_rate);
  std::printf("test ELBO: %.2f ± %.2f nats (%lld test images)\n", test_elbo.mean, test_elbo.standard_error,
              static_cast<long long>(test_data.cols()));
  std::printf("checkpoint: %s\nresults: %s\n", checkpoint.c_str(), common.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_binary("vigap-train", [&] { return train_main(argc, argv); });
}
