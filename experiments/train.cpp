// vigap-train: trains a VAE (Gaussian encoder, optionally followed by a global affine coupling
// flow, MLP decoder) by the ELBO or the IWAE bound, writes a safetensors checkpoint and a JSON
// result, and prints the test ELBO.
#include <cstdio>

#include "core/data/dataset.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"
#include "core/io/vae_checkpoint.hpp"
#include "core/training/vae_training_run.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/dataset_options.hpp"

namespace po = boost::program_options;
using namespace vigap;

namespace {

/// The names of the choices on the command line (parsed into the options after parsing).
struct TrainChoices {
  std::string encoder_hidden = "200,200", decoder_hidden = "200,200", activation = "tanh", likelihood = "bernoulli";
  std::string flow_hidden = "64";
  std::string objective = "elbo", kl = "auto", schedule = "constant", binarization = "dynamic";
  double learning_rate = 1e-3;
};

/// The architecture's and the trainer's options, bound to `o` and `c`.
void add_training_options(po::options_description& d, VaeTrainingRunOptions& o, TrainChoices& c) {
  VaeArchitecture& architecture = o.architecture;
  VaeTrainerOptions& trainer = o.trainer;
  d.add_options()
      ("latent-dim", po::value(&architecture.latent_dim)->default_value(architecture.latent_dim), "latent dimension d")
      ("encoder-hidden", po::value(&c.encoder_hidden)->default_value(c.encoder_hidden), "encoder hidden sizes, comma-separated")
      ("decoder-hidden", po::value(&c.decoder_hidden)->default_value(c.decoder_hidden), "decoder hidden sizes, comma-separated")
      ("activation", po::value(&c.activation)->default_value(c.activation), "hidden activation: tanh, relu, elu")
      ("likelihood", po::value(&c.likelihood)->default_value(c.likelihood), "bernoulli or gaussian")
      ("flow-layers", po::value(&architecture.flow_layers)->default_value(architecture.flow_layers),
       "K affine coupling layers (global, shared by all datapoints) after the Gaussian encoder; 0: plain Gaussian encoder")
      ("flow-hidden", po::value(&c.flow_hidden)->default_value(c.flow_hidden),
       "hidden sizes of each coupling layer's conditioner, comma-separated")
      ("objective", po::value(&c.objective)->default_value(c.objective), "elbo or iwae")
      ("samples", po::value(&trainer.objective.samples)->default_value(trainer.objective.samples),
       "samples per datapoint: S of the ELBO (averaged) or K of IWAE")
      ("kl", po::value(&c.kl)->default_value(c.kl),
       "ELBO's KL term: analytic, monte-carlo, or auto (analytic, or monte-carlo with --flow-layers > 0)")
      ("kl-warmup-epochs", po::value(&trainer.kl_warmup_epochs)->default_value(trainer.kl_warmup_epochs),
       "epochs over which the KL weight rises linearly from 0 to 1 (0: off)")
      ("epochs", po::value(&trainer.epochs)->default_value(trainer.epochs), "passes over the training set (>= 1)")
      ("batch-size", po::value(&trainer.batch_size)->default_value(trainer.batch_size), "minibatch size (>= 1)")
      ("learning-rate", po::value(&c.learning_rate)->default_value(c.learning_rate), "Adam's initial learning rate (> 0)")
      ("lr-schedule", po::value(&c.schedule)->default_value(c.schedule), "constant, exponential, step or cosine")
      ("lr-decay", po::value(&trainer.learning_rate.decay)->default_value(trainer.learning_rate.decay),
       "decay factor of the schedule, in (0, 1]")
      ("lr-step-epochs", po::value(&trainer.learning_rate.step_epochs)->default_value(trainer.learning_rate.step_epochs),
       "epochs between decays of the step schedule")
      ("binarization", po::value(&c.binarization)->default_value(c.binarization), "dynamic, threshold or none")
      ("binarization-threshold", po::value(&trainer.binarization_threshold)->default_value(trainer.binarization_threshold),
       "threshold of --binarization threshold (pixel > threshold is 1)")
      ("validation-size", po::value(&o.validation_size)->default_value(o.validation_size),
       "training images held out for validation (0: none)")
      ("train-size", po::value(&o.train_size)->default_value(o.train_size), "use only this many training images (0: all)")
      ("test-size", po::value(&o.test_size)->default_value(o.test_size), "evaluate on this many test images (0: all)");
}

/// The parsed choices in `o`: checks every name (std::invalid_argument naming the option).
void apply_choices(const TrainChoices& c, VaeTrainingRunOptions& o) {
  o.architecture.encoder_hidden = parse_size_list(c.encoder_hidden, "--encoder-hidden");
  o.architecture.decoder_hidden = parse_size_list(c.decoder_hidden, "--decoder-hidden");
  o.architecture.activation = parse_activation(c.activation);
  o.architecture.likelihood = parse_likelihood(c.likelihood);
  o.trainer.objective.objective = parse_training_objective(c.objective);
  o.architecture.flow_hidden = parse_size_list(c.flow_hidden, "--flow-hidden");
  const std::string kl = c.kl != "auto" ? c.kl : o.architecture.flow_layers > 0 ? "monte-carlo" : "analytic";
  o.trainer.objective.kl_estimator = parse_kl_estimator(kl);
  o.trainer.learning_rate.kind = parse_learning_rate_schedule(c.schedule);
  o.trainer.learning_rate.initial = c.learning_rate;
  o.trainer.learning_rate.total_epochs = o.trainer.epochs;
  o.trainer.binarization = parse_binarization(c.binarization);
}

int train_main(int argc, char** argv) {
  CommonOptions common;
  DatasetOptions data;
  VaeTrainingRunOptions options;
  TrainChoices choices;
  std::string checkpoint = "vae.safetensors";

  po::options_description d("Options");
  add_common_options(d, common, "train.json");
  add_dataset_options(d, data);
  d.add_options()
      ("checkpoint", po::value(&checkpoint)->default_value(checkpoint), "path of the safetensors checkpoint to write");
  add_training_options(d, options, choices);
  if (!parse_command_line(argc, argv, "vigap-train",
                          "Trains a VAE by the ELBO or IWAE-K, writes a checkpoint and JSON, prints the test ELBO.", d,
                          common))
    return 0;

  // Check every option before any long work.
  apply_choices(choices, options);
  options.validate();
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(common.out);
  check_writable_output_path(checkpoint);

  const auto start = std::chrono::steady_clock::now();
  ProgressReporter progress;
  const VaeTrainingRun run =
      run_vae_training(options, load_dataset(data, "train"), load_dataset(data, "test"), common.seed, progress);

  nlohmann::ordered_json configuration = run.configuration_json();
  configuration["threads"] = common.threads;
  configuration["checkpoint"] = checkpoint;
  nlohmann::ordered_json datasets;
  datasets["train"] = dataset_identity(run.train, "train");
  datasets["test"] = dataset_identity(run.test, "test");
  nlohmann::ordered_json document = make_result_document("train", configuration, datasets, common.seed);
  document["results"] = run.results_json();
  document["timings"] = run.timings_json();
  document["timings"]["total_seconds"] = seconds_since(start);

  save_vae_checkpoint(checkpoint, run.vae);
  write_result_json(common.out, document);
  std::printf("%scheckpoint: %s\nresults: %s\n", run.summary_text().c_str(), checkpoint.c_str(), common.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_binary("vigap-train", [&] { return train_main(argc, argv); });
}
