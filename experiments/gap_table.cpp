// vigap-gap-table: the ELBO-gap table of Cremer, Li & Duvenaud (2018), "Inference suboptimality
// in variational autoencoders". For a trained VAE and N test datapoints it estimates
//   log p(x)                     (quadrature when the latent dimension is <= 3, else AIS),
//   L[q_amortized]               (the encoder's q, pushed through the checkpoint's flow if it has one),
//   L[q*_F] for each family F    (q* fitted to each datapoint alone: ffg, full, flow),
// and, per datapoint, then averaged over the datapoints:
//   approximation gap_F = log p(x) - L[q*_F]
//   amortization gap_F  = L[q*_F] - L[q_amortized]
//   inference gap       = log p(x) - L[q_amortized] = approximation gap_F + amortization gap_F.
// Standard errors combine the per-datapoint errors of the two terms in quadrature (each term is
// computed from its own random streams: per datapoint, keyed by --seed, the datapoint's index in
// the test set, the purpose and the row's substream). Markdown table on stdout, JSON result, progress on stderr.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/data/dataset.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"
#include "core/io/vae_checkpoint.hpp"
#include "core/progress_reporter.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/flow_posterior.hpp"
#include "core/variational/local_flow_optimization.hpp"
#include "core/variational/local_gaussian_optimization.hpp"
#include "estimators/annealed_importance_sampling.hpp"
#include "estimators/elbo_estimator.hpp"
#include "estimators/exact_marginal_likelihood.hpp"
#include "estimators/kl_divergence.hpp"
#include "estimators/kl_divergence_quadrature.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/dataset_options.hpp"
#include "experiments/support/evaluation_data.hpp"
#include "experiments/support/markdown_table.hpp"

namespace po = boost::program_options;
using namespace vigap;

namespace {

/// The families whose q* the table can fit, in the order of the table.
const std::vector<std::string> kFamilies{"ffg", "full", "flow"};

std::string family_label(const std::string& family) {
  if (family == "ffg") return "q*_FFG (diagonal Gaussian)";
  if (family == "full") return "q*_full (full-covariance Gaussian)";
  return "q*_flow (local affine coupling flow)";
}

/// The stopping rule's noise: the per-datapoint standard errors of the checks the decisions were
/// made on, summarized (NaN entries, datapoints never checked, left out).
nlohmann::ordered_json check_noise_json(const VectorD& standard_errors) {
  double sum = 0.0, largest = 0.0;
  Index n = 0;
  for (Index b = 0; b < standard_errors.size(); ++b)
    if (std::isfinite(standard_errors(b))) {
      sum += standard_errors(b);
      largest = std::max(largest, standard_errors(b));
      ++n;
    }
  nlohmann::ordered_json j;
  j["mean"] = n > 0 ? nlohmann::ordered_json(sum / static_cast<double>(n)) : nlohmann::ordered_json(nullptr);
  j["max"] = n > 0 ? nlohmann::ordered_json(largest) : nlohmann::ordered_json(nullptr);
  j["datapoints"] = n;
  return j;
}

/// "ffg,flow" -> {"ffg", "flow"} in table order, without duplicates. "amortized" is accepted
/// (it is always a row) and dropped from the list.
std::vector<std::string> parse_families(const std::string& text) {
  std::vector<std::string> requested;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (item == "amortized") continue;
    if (std::find(kFamilies.begin(), kFamilies.end(), item) == kFamilies.end())
      throw std::invalid_argument("--families: unknown family '" + item +
                                  "': expected a comma-separated list of ffg (q* diagonal Gaussian), full (q* "
                                  "full-covariance Gaussian), flow (q* local flow), amortized (always a row)");
    requested.push_back(item);
  }
  std::vector<std::string> families;
  for (const std::string& f : kFamilies)
    if (std::find(requested.begin(), requested.end(), f) != requested.end()) families.push_back(f);
  return families;
}

std::string cell(const Estimate& e) {
  char buffer[64];
  if (std::isfinite(e.monte_carlo_standard_error) && e.monte_carlo_standard_error < 5e-5)
    std::snprintf(buffer, sizeof buffer, "%.4f ± %.0e", e.value, e.monte_carlo_standard_error);  // quadrature
  else if (std::isfinite(e.monte_carlo_standard_error))
    std::snprintf(buffer, sizeof buffer, "%.4f ± %.4f", e.value, e.monte_carlo_standard_error);
  else
    std::snprintf(buffer, sizeof buffer, "%.4f ± n/a", e.value);
  return buffer;
}

int gap_table_main(int argc, char** argv) {
  CommonOptions common;
  DatasetOptions data;
  std::string checkpoint, families_text = "ffg,full,flow", log_px_method = "auto", init = "encoder";
  Index num_datapoints = 100, first_datapoint = 0, eval_samples = 5000;
  bool per_datapoint = false;
  AisOptions ais;
  QuadratureOptions quadrature;
  LocalOptimizationOptions gaussian;
  LocalFlowOptions flow;
  Index qstar_samples = gaussian.samples_per_step;
  Index check_interval = gaussian.check_interval, patience = gaussian.patience;

  po::options_description d("Options");
  add_common_options(d, common, "gap_table.json");
  add_dataset_options(d, data);
  d.add_options()
      ("checkpoint", po::value(&checkpoint)->required(), "VAE checkpoint (safetensors) written by vigap-train")
      ("num-datapoints", po::value(&num_datapoints)->default_value(num_datapoints), "test datapoints (>= 1)")
      ("first-datapoint", po::value(&first_datapoint)->default_value(first_datapoint), "index of the first one")
      ("families", po::value(&families_text)->default_value(families_text),
       "comma-separated q* families: ffg (diagonal Gaussian), full (full covariance), flow (local flow); "
       "the amortized q is always a row")
      ("log-px", po::value(&log_px_method)->default_value(log_px_method),
       "log p(x) by auto (quadrature when latent dim <= 3, else AIS), quadrature or ais")
      ("init", po::value(&init)->default_value(init),
       "q* starts from the encoder's q (encoder) or from N(0, I) (prior, as Cremer et al.)")
      ("eval-samples", po::value(&eval_samples)->default_value(eval_samples),
       "samples of the final ELBO of each q (latent dim > 3; exact quadrature otherwise)")
      ("per-datapoint", po::bool_switch(&per_datapoint), "write every datapoint's value to the JSON")
      ("qstar-samples", po::value(&qstar_samples)->default_value(qstar_samples),
       "reparameterized samples per datapoint per q* step (Gaussian and flow q*)")
      ("qstar-max-steps", po::value(&gaussian.max_steps)->default_value(gaussian.max_steps),
       "max steps of the Gaussian q* optimization")
      ("qstar-learning-rate", po::value(&gaussian.learning_rate)->default_value(gaussian.learning_rate),
       "Adam learning rate of the Gaussian q* at step 0")
      ("qstar-learning-rate-half-life",
       po::value(&gaussian.learning_rate_half_life)->default_value(gaussian.learning_rate_half_life),
       "steps over which the Gaussian q*'s learning rate halves (0: constant)")
      ("qstar-check-interval", po::value(&check_interval)->default_value(check_interval),
       "steps between convergence checks (Gaussian and flow q*)")
      ("qstar-patience", po::value(&patience)->default_value(patience),
       "checks without improvement before a datapoint stops (Gaussian and flow q*)")
      ("flow-max-steps", po::value(&flow.max_steps)->default_value(flow.max_steps), "max steps of the flow q*")
      ("flow-learning-rate", po::value(&flow.learning_rate)->default_value(flow.learning_rate),
       "Adam learning rate of the flow q*")
      ("flow-layers", po::value(&flow.flow.num_layers)->default_value(flow.flow.num_layers),
       "coupling layers of each datapoint's flow q*")
      ("ais-steps", po::value(&ais.num_annealing_steps)->default_value(ais.num_annealing_steps),
       "T, intermediate distributions of AIS (>= 1)")
      ("ais-chains", po::value(&ais.chains)->default_value(ais.chains), "AIS chains per datapoint")
      ("quadrature-tolerance", po::value(&quadrature.tolerance)->default_value(quadrature.tolerance),
       "quadrature error tolerance in nats");
  if (!parse_command_line(argc, argv, "vigap-gap-table",
                          "The approximation / amortization / inference gap table of Cremer, Li & Duvenaud (2018).",
                          d, common))
    return 0;

  const std::vector<std::string> families = parse_families(families_text);
  if (num_datapoints < 1) throw std::invalid_argument("--num-datapoints must be >= 1, found " + std::to_string(num_datapoints));
  if (first_datapoint < 0) throw std::invalid_argument("--first-datapoint must be >= 0");
  if (eval_samples < 2) throw std::invalid_argument("--eval-samples must be >= 2 (for a standard error), found " +
                                                    std::to_string(eval_samples));
  if (log_px_method != "auto" && log_px_method != "quadrature" && log_px_method != "ais")
    throw std::invalid_argument("--log-px must be auto, quadrature or ais, found '" + log_px_method + "'");
  if (init != "encoder" && init != "prior")
    throw std::invalid_argument("--init must be encoder or prior, found '" + init + "'");
  gaussian.samples_per_step = qstar_samples;
  gaussian.check_interval = check_interval;
  gaussian.patience = patience;
  flow.samples = qstar_samples;
  flow.check_interval = check_interval;
  flow.patience = patience;
  gaussian.validate();
  flow.validate();
  ais.validate();
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(common.out);

  const Vae vae = load_vae_checkpoint(checkpoint);
  const GenerativeModel& model = vae.decoder;
  const Index latent_dim = model.latent_dim();
  if (!vae.encoder)
    throw std::invalid_argument("checkpoint " + checkpoint +
                                " has no encoder: the gap table needs the amortized q(z|x) (its row, the amortization "
                                "and inference gaps, and --init encoder)");
  const bool use_quadrature = log_px_method == "quadrature" || (log_px_method == "auto" && latent_dim <= 3);
  if (use_quadrature) quadrature.validate(latent_dim);  // explains why quadrature needs latent dim <= 3
  const bool exact_elbos = latent_dim <= 3;             // ELBOs by quadrature whenever it is feasible

  Dataset dataset = load_dataset(data, "test");
  const EvaluationBinarization binarization = evaluation_binarization(vae.metadata, "", "checkpoint " + checkpoint);
  const MatrixF X = evaluation_slice(dataset, model.data_dim(), binarization, first_datapoint, num_datapoints);
  const Index count = X.cols();

  ProgressReporter progress;
  // Draws for test point i are keyed by (--seed, i, purpose, substream): substream 0 for log p(x)
  // and the amortized q, then one per family row (family_substream), so a datapoint's row does not
  // depend on the other datapoints, the other families or --threads.
  const RandomStreams streams =
      RandomStreams::consecutive(common.seed, static_cast<std::uint64_t>(first_datapoint), count);
  const auto family_substream = [](const std::string& family) -> std::uint64_t {
    return family == "ffg" ? 1 : family == "full" ? 2 : 3;
  };
  KlQuadratureOptions kl_options;
  kl_options.quadrature = quadrature;
  ElboOptions elbo_options;
  elbo_options.samples = eval_samples;
  elbo_options.kl_form = ElboKlForm::automatic;  // analytic KL for diagonal Gaussians, Monte Carlo otherwise

  // The amortized q: the encoder's Gaussian, through the global flow when the checkpoint has one.
  std::unique_ptr<PosteriorApproximation> amortized;
  if (vae.flow)
    amortized = std::make_unique<FlowPosterior>(FlowPosterior::from_encoder(*vae.encoder, *vae.flow, X));
  else
    amortized = std::make_unique<DiagonalGaussian>(DiagonalGaussian::from_encoder(*vae.encoder, X));
  const std::string amortized_name = vae.flow ? "amortized flow (encoder + global flow)" : "amortized FFG (encoder)";
  const DiagonalGaussian encoder_q = DiagonalGaussian::from_encoder(*vae.encoder, X);
  const DiagonalGaussian initial =
      init == "encoder" ? encoder_q
                        : DiagonalGaussian(MatrixD::Zero(latent_dim, count), MatrixD::Zero(latent_dim, count), "N(0, I)");

  nlohmann::ordered_json configuration;
  configuration["checkpoint"] = checkpoint;
  configuration["architecture"] = vae.architecture.to_json();
  configuration["checkpoint_metadata"] = vae.metadata;
  configuration["families"] = families;
  configuration["amortized_approximation"] = amortized->describe();
  configuration["binarization"] = binarization.name;
  configuration["evaluation_binarization_seed"] = kEvaluationBinarizationSeed;
  configuration["split"] = "test";
  configuration["first_datapoint"] = first_datapoint;
  configuration["num_datapoints"] = count;
  configuration["log_px"] = use_quadrature ? "quadrature" : "ais";
  configuration["elbo_evaluation"] =
      exact_elbos ? nlohmann::ordered_json("quadrature (exact)")
                  : nlohmann::ordered_json({{"samples", eval_samples},
                                            {"kl_form", "analytic for diagonal Gaussians, Monte Carlo otherwise"}});
  configuration["init"] = init;
  configuration["qstar_gaussian"] = {{"samples_per_step", gaussian.samples_per_step},
                                     {"max_steps", gaussian.max_steps},
                                     {"check_interval", gaussian.check_interval},
                                     {"check_samples", gaussian.check_samples},
                                     {"patience", gaussian.patience},
                                     {"learning_rate", gaussian.learning_rate},
                                     {"learning_rate_half_life", gaussian.learning_rate_half_life}};
  configuration["qstar_flow"] = {{"samples", flow.samples},
                                 {"max_steps", flow.max_steps},
                                 {"check_interval", flow.check_interval},
                                 {"patience", flow.patience},
                                 {"learning_rate", flow.learning_rate},
                                 {"num_layers", flow.flow.num_layers},
                                 {"hidden_sizes", flow.flow.hidden_sizes},
                                 {"log_scale_bound", flow.flow.log_scale_bound}};
  if (use_quadrature)
    configuration["quadrature_tolerance"] = quadrature.tolerance;
  else
    configuration["ais"] = ais.to_json();
  configuration["threads"] = common.threads;
  nlohmann::ordered_json document =
      make_result_document("gap_table", configuration, dataset_identity(dataset, "test"), common.seed);
  nlohmann::ordered_json& results = document["results"];
  nlohmann::ordered_json& timings = document["timings"];
  const auto total_start = std::chrono::steady_clock::now();

  // log p(x).
  progress.line("gap-table: log p(x) by " + std::string(use_quadrature ? "quadrature" : "AIS") + " on " +
                std::to_string(count) + " datapoints");
  auto start = std::chrono::steady_clock::now();
  Estimate log_px;
  {
    if (use_quadrature) {
      ExactMarginalLikelihood r = exact_marginal_likelihood(model, X, quadrature);
      log_px = r.log_marginal_likelihood;
      log_px.settings["unconverged_datapoints"] = r.unconverged;
      log_px.settings["datapoints_over_tolerance"] = to_json(r.over_tolerance, first_datapoint);
      std::fputs(over_tolerance_warning(r.over_tolerance, quadrature.tolerance, "log p(x)", first_datapoint).c_str(),
                 stderr);
    } else {
      AnnealedImportanceSamplingResult r = annealed_importance_sampling(model, X, ais, streams);
      log_px = r.estimate;
      log_px.settings["mean_acceptance_rate"] = r.acceptance_rate.mean();
      log_px.settings["mean_effective_sample_size"] = r.effective_sample_size.mean();
    }
  }
  log_px.seconds = seconds_since(start);
  timings["log_px_seconds"] = log_px.seconds;
  results["log_px"] = to_json(log_px, per_datapoint);

  // L[q] of one approximation, from the streams of its row.
  const auto evaluate_elbo = [&](const PosteriorApproximation& q, const RandomStreams& stream) {
    if (exact_elbos) return kl_divergence_by_quadrature(model, q, X, log_px, kl_options, stream).elbo;
    return estimate_elbo(model, q, X, elbo_options, stream);
  };

  progress.line("gap-table: L[q] of the " + amortized_name);
  start = std::chrono::steady_clock::now();
  const Estimate amortized_elbo = evaluate_elbo(*amortized, streams);
  timings["amortized_elbo_seconds"] = seconds_since(start);
  const Estimate inference_gap =
      difference_of_estimates(log_px, amortized_elbo, "inference gap log p(x) - L[q_amortized]",
                 use_quadrature ? "exact" : "biased low (AIS log p(x) is a stochastic lower bound)");
  results["amortized"] = {{"approximation", amortized->describe()},
                          {"elbo", to_json(amortized_elbo, per_datapoint)},
                          {"inference_gap", to_json(inference_gap, per_datapoint)}};

  struct Row {
    std::string family;
    Estimate elbo, approximation_gap, amortization_gap;
    double identity_error = 0.0;
    std::string optimization_summary;
  };
  std::vector<Row> rows;
  // The flow family contains the diagonal Gaussian (identity flow), so a local flow starts from
  // q*_FFG when that row was fitted before it: its optimum can then only be better.
  std::optional<DiagonalGaussian> fitted_ffg;
  for (const std::string& family : families) {
    Row row;
    row.family = family;
    nlohmann::ordered_json optimization;
    const RandomStreams stream = streams.with_substream(family_substream(family));
    progress.line("gap-table: fitting " + family_label(family) + " per datapoint");
    start = std::chrono::steady_clock::now();
    std::unique_ptr<PosteriorApproximation> qstar;
    if (family == "flow") {
      const DiagonalGaussian& flow_start = fitted_ffg ? *fitted_ffg : initial;
      LocalFlowOptimizationResult r = optimize_local_flow(model, X, flow_start, flow, stream);
      Index stopped = 0;
      for (Index s : r.stopped_at_step) stopped += s < flow.max_steps ? 1 : 0;
      optimization = {{"steps", r.steps},
                      {"converged", r.converged},
                      {"datapoints_stopped_by_rule", stopped},
                      {"started_from", fitted_ffg ? "q*_FFG" : initial.describe()},
                      {"start_or_best", r.selection.to_json()},
                      {"check_standard_error_at_decision", check_noise_json(r.decision_standard_error)}};
      row.optimization_summary = std::to_string(r.steps) + " steps, " + std::to_string(stopped) + "/" +
                                 std::to_string(count) + " stopped by rule";
      qstar = std::make_unique<FlowPosterior>(std::move(r.approximation));
    } else {
      LocalOptimizationOptions options = gaussian;
      options.family = family == "ffg" ? LocalGaussianFamily::diagonal : LocalGaussianFamily::full_covariance;
      LocalGaussianOptimization r = optimize_local_gaussian(model, X, initial, options, stream);
      const Index stopped = std::count(r.stopped_by_rule.begin(), r.stopped_by_rule.end(), true);
      optimization = {{"steps", r.steps},
                      {"converged", r.all_stopped_by_rule},
                      {"datapoints_stopped_by_rule", stopped},
                      {"gradient_evaluations", r.gradient_evaluations},
                      {"started_from", initial.describe()},
                      {"start_or_best", r.selection.to_json()},
                      {"check_standard_error_at_decision", check_noise_json(r.decision_standard_error)}};
      row.optimization_summary = std::to_string(r.steps) + " steps, " + std::to_string(stopped) + "/" +
                                 std::to_string(count) + " stopped by rule";
      if (std::holds_alternative<DiagonalGaussian>(r.optimized)) {
        fitted_ffg = std::get<DiagonalGaussian>(r.optimized);
        qstar = std::make_unique<DiagonalGaussian>(*fitted_ffg);
      }
      else
        qstar = std::make_unique<FullCovarianceGaussian>(std::get<FullCovarianceGaussian>(r.optimized));
    }
    const double optimize_seconds = seconds_since(start);
    progress.line("gap-table: L[q*] of " + family_label(family) + " (" + row.optimization_summary + ")");
    start = std::chrono::steady_clock::now();
    row.elbo = evaluate_elbo(*qstar, stream);
    const double elbo_seconds = seconds_since(start);
    row.approximation_gap =
        difference_of_estimates(log_px, row.elbo, "approximation gap log p(x) - L[q*]",
                   use_quadrature ? "exact" : "biased low (AIS log p(x) is a stochastic lower bound)");
    row.amortization_gap = difference_of_estimates(row.elbo, amortized_elbo, "amortization gap L[q*] - L[q_amortized]", "unbiased");
    // The identity inference = approximation + amortization, per datapoint, as computed.
    const VectorD residual = inference_gap.per_datapoint -
                             (row.approximation_gap.per_datapoint + row.amortization_gap.per_datapoint);
    row.identity_error = std::max(residual.cwiseAbs().maxCoeff(),
                                  std::abs(inference_gap.value - row.approximation_gap.value - row.amortization_gap.value));
    nlohmann::ordered_json& r = results[family];
    r["approximation"] = qstar->describe();
    r["elbo"] = to_json(row.elbo, per_datapoint);
    r["approximation_gap"] = to_json(row.approximation_gap, per_datapoint);
    r["amortization_gap"] = to_json(row.amortization_gap, per_datapoint);
    r["amortization_gap_pair"] = "L[" + family_label(family) + "] - L[" + amortized_name + "]";
    r["inference_gap"] = to_json(inference_gap, per_datapoint);
    r["identity_max_abs_error"] = row.identity_error;
    r["optimization"] = optimization;
    timings[family + "_optimization_seconds"] = optimize_seconds;
    timings[family + "_elbo_seconds"] = elbo_seconds;
    rows.push_back(std::move(row));
  }
  timings["total_seconds"] = seconds_since(total_start);

  // The table: rows = families, as mean over the datapoints ± Monte Carlo (or quadrature) error.
  std::printf("%s on %lld test datapoints of %s (from #%lld)\n\n", model.describe().c_str(),
              static_cast<long long>(count), dataset.name.c_str(), static_cast<long long>(first_datapoint));
  std::printf("log p̂(x) by %s: %s nats (data s.e. %.4f)\n", use_quadrature ? "quadrature (exact)" : "AIS",
              cell(log_px).c_str(), log_px.dataset_standard_error);
  std::printf("q* started from %s; ELBOs %s\n\n", init == "encoder" ? "the encoder's q" : "N(0, I)",
              exact_elbos ? "exact (quadrature)" : ("with " + std::to_string(eval_samples) + " samples").c_str());
  const auto print_row = [](const std::vector<std::string>& cells) {
    const size_t widths[] = {38, 20, 20, 20, 20};
    std::string line = "|";
    for (size_t i = 0; i < cells.size(); ++i) line += " " + pad(cells[i], widths[i]) + " |";
    std::printf("%s\n", line.c_str());
  };
  print_row({"q", "L[q]", "approximation gap", "amortization gap", "inference gap"});
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(40, '-').c_str(), std::string(22, '-').c_str(),
              std::string(22, '-').c_str(), std::string(22, '-').c_str(), std::string(22, '-').c_str());
  for (const Row& row : rows)
    print_row({family_label(row.family), cell(row.elbo), cell(row.approximation_gap), cell(row.amortization_gap),
               cell(inference_gap)});
  print_row({amortized_name, cell(amortized_elbo), "", "", cell(inference_gap)});
  std::printf("\napproximation gap = log p(x) - L[q*_F]; amortization gap = L[q*_F] - L[%s] (Cremer et al.'s "
              "pair for the family %s); inference gap = log p(x) - L[%s].\n",
              amortized_name.c_str(), vae.flow ? "flow" : "FFG", amortized_name.c_str());
  for (const Row& row : rows)
    std::printf("identity check %s: max |inference - (approximation + amortization)| = %.2e; q* fit: %s\n",
                row.family.c_str(), row.identity_error, row.optimization_summary.c_str());
  write_result_json(common.out, document);
  std::printf("\nresults: %s\n", common.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_binary("vigap-gap-table", [&] { return gap_table_main(argc, argv); });
}
