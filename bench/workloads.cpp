// The five workloads of the vigap-versus-PyTorch benchmark (bench/run_benchmark.py runs this
// binary and bench/reference/pytorch_workloads.py back to back on identical work):
//   training    one epoch of the 784-200-200-50 tanh Bernoulli VAE (batch 100, Adam 1e-3,
//               dynamic binarization) over the 60,000 Fashion-MNIST training images;
//   ais         AIS from the prior on 100 test points x 16 chains, T = 500, L = 10;
//   iwae        IWAE-5000 of 100 test points with the checkpoint's encoder;
//   quadrature  exact log p(x) of a 2-D-latent model on all 10,000 test points;
//   local-q     q* (diagonal Gaussian) of 100 test points, a fixed number of Adam steps, S = 50;
//   ais-model   AIS from the prior through load_model, so any model format (a vigap checkpoint or a
//               TorchScript manifest), on --dataset's test images, with --chains, --leapfrog-steps
//               and --ais-adaptation (bench/run_torchscript_benchmark.py: TorchScript against the
//               native MLP, and the conv decoder against PyTorch's own AIS).
// Test images are binarized at 0.5 (deterministic), so that both implementations see the same bits.
// Prints one JSON object on stdout: seconds, the work done (decoder columns, FLOPs counted from
// the layer shapes), throughput and the peak resident memory of this process.
#include <sys/resource.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/io/model_loader.hpp"
#include "core/io/vae_checkpoint.hpp"
#include "core/training/vae_trainer.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/local_gaussian_optimization.hpp"
#include "estimators/annealed_importance_sampling.hpp"
#include "estimators/exact_marginal_likelihood.hpp"
#include "estimators/iwae_bound.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/dataset_options.hpp"
#include "experiments/support/evaluation_data.hpp"

namespace {

using namespace vigap;
namespace po = boost::program_options;

/// Σ_l in_l · out_l of an MLP: a forward pass costs 2 Σ in·out FLOPs per column, and so does
/// each of the backward products (with respect to the inputs, with respect to the weights).
double multiply_adds_per_column(const std::vector<Index>& sizes) {
  double total = 0.0;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) total += static_cast<double>(sizes[l] * sizes[l + 1]);
  return total;
}

std::vector<Index> decoder_sizes(const VaeArchitecture& a) {
  std::vector<Index> sizes{a.latent_dim};
  sizes.insert(sizes.end(), a.decoder_hidden.begin(), a.decoder_hidden.end());
  sizes.push_back(a.data_dim);
  return sizes;
}

/// The layer widths of a loaded MLP decoder: latent_dim, the architecture's "decoder_hidden", data_dim.
/// Throws std::invalid_argument naming the checkpoint when its architecture lists no MLP decoder.
std::vector<Index> decoder_sizes(const LoadedModel& loaded) {
  const auto hidden = loaded.architecture.find("decoder_hidden");
  if (hidden == loaded.architecture.end() || !hidden->is_array())
    throw std::invalid_argument("checkpoint " + loaded.source +
                                ": bench-workloads counts FLOPs from an MLP decoder's layer sizes, and its "
                                "architecture has no 'decoder_hidden' list");
  std::vector<Index> sizes{loaded.generative_model().latent_dim()};
  for (const auto& width : *hidden) sizes.push_back(width.get<Index>());
  sizes.push_back(loaded.generative_model().data_dim());
  return sizes;
}

std::vector<Index> encoder_sizes(const VaeArchitecture& a) {
  std::vector<Index> sizes{a.data_dim};
  sizes.insert(sizes.end(), a.encoder_hidden.begin(), a.encoder_hidden.end());
  sizes.push_back(2 * a.latent_dim);
  return sizes;
}

double peak_resident_megabytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in kilobytes on Linux
}

struct BenchOptions {
  std::string workload;
  std::string checkpoint;
  Index datapoints = 0;       // 0: the workload's default
  Index ais_steps = 500;
  Index iwae_samples = 5000;
  Index local_steps = 500;
  Index chains = 16;             // ais-model
  Index leapfrog_steps = 10;     // ais-model
  std::string ais_adaptation = "pilot";  // ais-model
};

nlohmann::ordered_json run_training(const BenchOptions& o, Rng& rng) {
  DatasetOptions data;
  const Dataset train = load_dataset(data, "train");
  VaeArchitecture a;  // 784-200-200-50 tanh Bernoulli, the IWAE paper's shape
  Vae vae(a);
  vae.encoder->network().initialize(rng);
  vae.decoder.network().initialize(rng);
  VaeTrainerOptions options;
  options.epochs = 1;
  const MatrixF no_validation(train.dimension(), 0);
  const VaeTrainingSummary summary =
      train_vae(*vae.encoder, vae.decoder, train.images, no_validation, options, rng);
  const double examples = static_cast<double>(train.size());
  const double seconds = summary.epochs.front().seconds;
  // Per example: decoder forward + both backward products; encoder forward, weight gradients and
  // input gradients of every layer but the first.
  const std::vector<Index> enc = encoder_sizes(a);
  const double encoder_macs = multiply_adds_per_column(enc);
  const double first_layer = static_cast<double>(enc[0] * enc[1]);
  const double flops = examples * (3.0 * 2.0 * multiply_adds_per_column(decoder_sizes(a)) +
                                   2.0 * (3.0 * encoder_macs - first_layer));
  return {{"seconds", seconds},
          {"examples", examples},
          {"examples_per_second", examples / seconds},
          {"flops", flops},
          {"train_elbo", -summary.epochs.front().train_objective}};
}

/// AIS from the prior on X, timed: seconds, the gradient rows it evaluated and the mean log p̂(x).
nlohmann::ordered_json timed_ais(const GenerativeModel& model, const MatrixF& X, const AisOptions& options, Rng& rng) {
  const auto start = std::chrono::steady_clock::now();
  const AnnealedImportanceSamplingResult r = annealed_importance_sampling(model, X, options, rng);
  const double seconds = seconds_since(start);
  const double rows = static_cast<double>(r.gradient_evaluations);
  return {{"seconds", seconds},
          {"seconds_per_datapoint", seconds / static_cast<double>(X.cols())},
          {"decoder_forward_backward_rows", rows},
          {"rows_per_second", rows / seconds},
          {"mean_log_px", r.estimate.value}};
}

nlohmann::ordered_json run_ais(const BenchOptions& o, const LoadedModel& loaded, const MatrixF& X, Rng& rng) {
  AisOptions options;
  options.num_annealing_steps = o.ais_steps;
  options.chains = 16;
  options.leapfrog_steps = 10;
  nlohmann::ordered_json result = timed_ais(loaded.generative_model(), X, options, rng);
  result["flops"] = result["decoder_forward_backward_rows"].get<double>() * 2.0 * 2.0 *
                    multiply_adds_per_column(decoder_sizes(loaded));
  return result;
}

nlohmann::ordered_json run_iwae(const BenchOptions& o, const LoadedModel& loaded, const MatrixF& X, Rng& rng) {
  const AmortizedApproximation& amortized = loaded.require_amortized("bench-workloads", "the iwae workload's q(z|x)");
  IwaeBoundOptions options;
  options.samples = o.iwae_samples;
  const auto start = std::chrono::steady_clock::now();
  const std::unique_ptr<PosteriorApproximation> q = amortized.posterior(X);
  const Estimate e = estimate_iwae_bound(loaded.generative_model(), *q, X, options, rng);
  const double seconds = seconds_since(start);
  const double rows = static_cast<double>(X.cols() * o.iwae_samples);
  return {{"seconds", seconds},
          {"decoder_forward_rows", rows},
          {"rows_per_second", rows / seconds},
          {"flops", rows * 2.0 * multiply_adds_per_column(decoder_sizes(loaded))},
          {"mean_iwae", e.value}};
}

nlohmann::ordered_json run_quadrature(const LoadedModel& loaded, const MatrixF& X) {
  const GenerativeModel& model = loaded.generative_model();
  QuadratureOptions options;
  const auto start = std::chrono::steady_clock::now();
  const ExactMarginalLikelihood r = exact_marginal_likelihood(model, X, options);
  const double seconds = seconds_since(start);
  const Index d = model.latent_dim();
  const double coarse_nodes = std::pow(static_cast<double>(options.coarse_nodes(d)), static_cast<double>(d));
  const double refined_nodes = std::pow(static_cast<double>(options.refined_nodes(d)), static_cast<double>(d));
  double refined_passes = 0.0;
  for (Index p : r.refined_passes) refined_passes += static_cast<double>(p);
  const double decoder_rows = coarse_nodes + refined_passes * refined_nodes;
  // The coarse pass: the decoder once per node, then one product X^T [log σ(L) - log σ(-L)]
  // (2 D FLOPs per datapoint-node pair); refined passes: decoder forward per node and datapoint.
  const double flops = decoder_rows * 2.0 * multiply_adds_per_column(decoder_sizes(loaded)) +
                       2.0 * static_cast<double>(model.data_dim()) * coarse_nodes *
                           static_cast<double>(X.cols());
  return {{"seconds", seconds},
          {"datapoints", X.cols()},
          {"seconds_per_datapoint", seconds / static_cast<double>(X.cols())},
          {"coarse_nodes", coarse_nodes},
          {"refined_passes", refined_passes},
          {"decoder_forward_rows", decoder_rows},
          {"flops", flops},
          {"mean_log_px", r.log_marginal_likelihood.value},
          {"unconverged", r.unconverged}};
}

nlohmann::ordered_json run_local_q(const BenchOptions& o, const LoadedModel& loaded, const MatrixF& X, Rng& rng) {
  const AmortizedApproximation& amortized = loaded.require_amortized("bench-workloads", "q*'s start (the local-q workload)");
  LocalOptimizationOptions options;
  options.max_steps = o.local_steps;
  options.check_interval = o.local_steps;  // checks only at the start and the end
  options.check_samples = 2;
  options.patience = o.local_steps;
  options.learning_rate = 1e-2;
  options.learning_rate_half_life = 0.0;  // plain Adam, as the reference
  const DiagonalGaussian initial = amortized.gaussian_base(X);
  const auto start = std::chrono::steady_clock::now();
  const LocalGaussianOptimizationResult r = optimize_local_gaussian(loaded.generative_model(), X, initial, options, rng);
  const double seconds = seconds_since(start);
  const double rows = static_cast<double>(r.gradient_evaluations);
  return {{"seconds", seconds},
          {"steps", r.steps},
          {"decoder_forward_backward_rows", rows},
          {"rows_per_second", rows / seconds},
          {"flops", rows * 2.0 * 2.0 * multiply_adds_per_column(decoder_sizes(loaded))},
          {"mean_final_check_elbo", r.best_check_elbo.mean()}};
}

/// AIS from the prior on X through whatever load_model read (no FLOP count: the model may be any
/// module; the rows are the cost measure).
nlohmann::ordered_json run_ais_model(const BenchOptions& o, const LoadedModel& loaded, const MatrixF& X, Rng& rng) {
  AisOptions options;
  options.num_annealing_steps = o.ais_steps;
  options.chains = o.chains;
  options.leapfrog_steps = o.leapfrog_steps;
  options.step_size_adaptation = parse_ais_step_size_adaptation(o.ais_adaptation);
  nlohmann::ordered_json result = timed_ais(*loaded.model, X, options, rng);
  result["flops"] = nullptr;
  result["model_format"] = loaded.format;
  result["model"] = loaded.model->describe();
  result["chains"] = o.chains;
  result["annealing_steps"] = o.ais_steps;
  result["leapfrog_steps"] = o.leapfrog_steps;
  result["step_size_adaptation"] = o.ais_adaptation;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  return run_binary("bench-workloads", [&]() -> int {
    BenchOptions o;
    CommonOptions common;
    po::options_description description("Options");
    add_common_options(description, common, "");
    description.add_options()("workload", po::value(&o.workload)->required(),
                              "training | ais | iwae | quadrature | local-q | ais-model")(
        "checkpoint", po::value(&o.checkpoint), "model for ais, iwae, local-q (50-D) and quadrature (2-D)")(
        "datapoints", po::value(&o.datapoints), "test points (default: 100; quadrature 10000)")(
        "ais-steps", po::value(&o.ais_steps)->default_value(500), "AIS T")(
        "iwae-samples", po::value(&o.iwae_samples)->default_value(5000), "IWAE K")(
        "local-steps", po::value(&o.local_steps)->default_value(500), "q* Adam steps")(
        "chains", po::value(&o.chains)->default_value(16), "ais-model: chains per datapoint")(
        "leapfrog-steps", po::value(&o.leapfrog_steps)->default_value(10), "ais-model: L")(
        "ais-adaptation", po::value(&o.ais_adaptation)->default_value("pilot"), "ais-model: none, online or pilot");
    DatasetOptions data;
    add_dataset_options(description, data);
    if (!parse_command_line(argc, argv, "bench-workloads", "One workload of the vigap/PyTorch benchmark.",
                            description, common))
      return 0;
    Rng rng(common.seed);
    nlohmann::ordered_json result;
    if (o.workload == "training") {
      result = run_training(o, rng);
    } else if (o.workload == "ais-model") {
      if (o.checkpoint.empty()) throw std::invalid_argument("--checkpoint is required for workload ais-model");
      const LoadedModel loaded = load_model(o.checkpoint);
      const Index n = o.datapoints > 0 ? o.datapoints : 20;
      const Dataset test = load_dataset(data, "test");
      if (n > test.size()) throw std::invalid_argument("--datapoints: at most " + std::to_string(test.size()));
      result = run_ais_model(o, loaded, binarize_evaluation_set(test.images.leftCols(n), Binarization::threshold, 0.5f), rng);
      result["datapoints"] = n;
    } else {
      if (o.checkpoint.empty()) throw std::invalid_argument("--checkpoint is required for workload " + o.workload);
      const LoadedModel loaded = load_model(o.checkpoint);
      const bool quadrature = o.workload == "quadrature";
      const Index n = o.datapoints > 0 ? o.datapoints : (quadrature ? 10000 : 100);
      const Dataset test = load_dataset(data, "test");
      if (n > test.size()) throw std::invalid_argument("--datapoints: at most " + std::to_string(test.size()));
      const MatrixF X = binarize_evaluation_set(test.images.leftCols(n), Binarization::threshold, 0.5f);
      if (o.workload == "ais") {
        result = run_ais(o, loaded, X, rng);
      } else if (o.workload == "iwae") {
        result = run_iwae(o, loaded, X, rng);
      } else if (quadrature) {
        result = run_quadrature(loaded, X);
      } else if (o.workload == "local-q") {
        result = run_local_q(o, loaded, X, rng);
      } else {
        throw std::invalid_argument("--workload: expected training, ais, iwae, quadrature or local-q, found '" +
                                    o.workload + "'");
      }
      result["datapoints"] = n;
    }
    result["gflops_per_second"] = result["flops"].is_null()
                                      ? nlohmann::ordered_json(nullptr)
                                      : nlohmann::ordered_json(result["flops"].get<double>() / result["seconds"].get<double>() / 1e9);
    result["implementation"] = "vigap";
    result["workload"] = o.workload;
    result["threads"] = common.threads;
    result["peak_resident_megabytes"] = peak_resident_megabytes();
    std::cout << result.dump() << std::endl;
    return 0;
  });
}
