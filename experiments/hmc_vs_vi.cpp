// vigap-hmc-vs-vi: is HMC worth its cost against variational families? For test points of a VAE
// with a 2-D latent space, every method gets the same budget of decoder evaluations per datapoint
// (a list of budgets, by default 1e2 ... 1e5) and is measured against the exact posterior p(z|x) and the
// exact log p(x), both by quadrature:
//   posterior: HMC (chains started from the encoder's q), the locally optimized diagonal and
//     full-covariance Gaussians q*, the local affine-coupling flow (all started from the encoder's
//     q), and the amortized q itself (0 decoder evaluations); distances: binned total variation on
//     a grid around p(z|x) (HMC: histogram of its draws, next to the same statistic for as many
//     independent exact draws), the posterior mean and covariance errors in posterior standard
//     deviations, and for the variational families the exact KL(q‖p(z|x)) by quadrature;
//   log p(x): AIS from the prior, AIS from the encoder's q, and importance sampling from q with
//     the same budget; error against quadrature, with standard errors.
// Markdown tables on stdout, JSON result, an SVG picture of every quantity against the budget.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/data/dataset.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"
#include "core/io/vae_checkpoint.hpp"
#include "core/math/mean_and_standard_error.hpp"
#include "core/progress_reporter.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/local_flow_optimization.hpp"
#include "core/variational/local_gaussian_optimization.hpp"
#include "estimators/annealed_importance_sampling.hpp"
#include "estimators/exact_posterior.hpp"
#include "estimators/importance_sampling.hpp"
#include "estimators/kl_divergence_quadrature.hpp"
#include "estimators/posterior_discrepancy.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/dataset_options.hpp"
#include "analyses/decoder_evaluation_budget.hpp"
#include "experiments/support/evaluation_data.hpp"
#include "core/io/markdown_table.hpp"
#include "experiments/support/picture_and_result.hpp"
#include "experiments/support/svg_plot.hpp"
#include "samplers/hmc_sampler.hpp"

namespace po = boost::program_options;
using namespace vigap;

namespace {

/// "\n<title>\n\n" and the Markdown table.
void print_titled_table(const std::string& title, const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::printf("\n%s\n\n", title.c_str());
  print_markdown_table(header, rows);
}

/// A number for JSON: null when it is NaN or infinite (JSON has neither).
nlohmann::ordered_json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json();
}

/// {"mean", "standard_error" (spread over datapoints, sd / sqrt(B); null for B = 1), "per_datapoint"}.
nlohmann::ordered_json summary_json(const VectorD& values) {
  const MeanAndStandardError stats = mean_and_standard_error(values);
  nlohmann::ordered_json j;
  j["mean"] = number_or_null(stats.mean);
  j["standard_error"] = values.size() > 1 ? number_or_null(stats.standard_error) : nlohmann::ordered_json();
  nlohmann::ordered_json per = nlohmann::ordered_json::array();
  for (Index b = 0; b < values.size(); ++b) per.push_back(number_or_null(values(b)));
  j["per_datapoint"] = std::move(per);
  return j;
}

/// Distances of one method at one budget from the exact posterior, one value per datapoint.
struct PosteriorDistances {
  std::optional<Index> budget;   ///< none: the amortized q (no budget)
  bool feasible = true;          ///< false: the budget buys nothing of this method
  double decoder_evaluations = 0.0;  ///< mean per datapoint actually spent
  VectorD total_variation, mean_error, covariance_error;
  std::optional<Estimate> kl_divergence;  ///< variational families: exact KL(q‖p(z|x))
  /// HMC: the same statistics for as many independent exact draws as HMC kept (the floor any
  /// sampler with that many draws would show).
  VectorD iid_total_variation, iid_mean_error, iid_covariance_error;
  nlohmann::ordered_json details = nlohmann::ordered_json::object();
};

nlohmann::ordered_json to_json(const PosteriorDistances& r) {
  nlohmann::ordered_json j;
  j["budget"] = r.budget ? nlohmann::ordered_json(*r.budget) : nlohmann::ordered_json();
  j["feasible"] = r.feasible;
  if (!r.feasible) return j;
  j["decoder_evaluations_per_datapoint"] = r.decoder_evaluations;
  j["total_variation"] = summary_json(r.total_variation);
  j["mean_error_in_posterior_sd"] = summary_json(r.mean_error);
  j["covariance_error_whitened_frobenius"] = summary_json(r.covariance_error);
  if (r.kl_divergence) j["kl_divergence_to_posterior"] = to_json(*r.kl_divergence, true);
  if (r.iid_total_variation.size() > 0) {
    j["iid_exact_draws_total_variation"] = summary_json(r.iid_total_variation);
    j["iid_exact_draws_mean_error_in_posterior_sd"] = summary_json(r.iid_mean_error);
    j["iid_exact_draws_covariance_error_whitened_frobenius"] = summary_json(r.iid_covariance_error);
  }
  j["details"] = r.details;
  return j;
}

/// A log p(x) estimator at one budget: its error against quadrature per datapoint.
struct LogMarginalErrors {
  Index budget = 0;
  bool feasible = true;
  double decoder_evaluations = 0.0;
  Estimate error;  ///< per_datapoint: log p̂(x_b) - log p(x_b), with the estimator's standard errors
  double mean_absolute_error = 0.0;
  nlohmann::ordered_json settings;
};

nlohmann::ordered_json to_json(const LogMarginalErrors& r) {
  nlohmann::ordered_json j;
  j["budget"] = r.budget;
  j["feasible"] = r.feasible;
  if (!r.feasible) return j;
  j["decoder_evaluations_per_datapoint"] = r.decoder_evaluations;
  j["error"] = to_json(r.error, true);
  j["mean_absolute_error"] = r.mean_absolute_error;
  j["settings"] = r.settings;
  return j;
}

/// "0.123 ± 0.004" (mean ± standard error over datapoints), or "n/a".
std::string cell(const VectorD& values, bool feasible, const char* pattern = "%.3f") {
  if (!feasible || values.size() == 0) return "n/a";
  const MeanAndStandardError s = mean_and_standard_error(values);
  char mean[32], se[32];
  std::snprintf(mean, sizeof mean, pattern, s.mean);
  std::snprintf(se, sizeof se, pattern, s.standard_error);
  return std::string(mean) + " ± " + se;
}

// ---------------------------------------------------------------------------------------------
// The picture: quantities against decoder evaluations per datapoint (log axis).

struct Series {
  std::string label, color, dash;
  std::vector<std::pair<double, double>> points;  ///< (evaluations, value); value > 0 on a log y axis
  std::optional<double> flat;                     ///< a horizontal line (the amortized q)
};

std::string compact_count(double v) {
  char buffer[32];
  if (v >= 1e6) std::snprintf(buffer, sizeof buffer, "%gM", v / 1e6);
  else if (v >= 1e3) std::snprintf(buffer, sizeof buffer, "%gk", v / 1e3);
  else std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

/// One panel: log10 x axis from x_min to x_max, y linear from 0 or log10, the series as lines
/// with dots; the frame's coordinates are log10 of the data on the log axes.
void draw_panel(svg::Document& doc, double left, double top, double width, double height, const std::string& title,
                const std::string& y_label, const std::vector<Series>& series, bool log_y, double x_min, double x_max) {
  svg::Frame frame;
  frame.left = left + 62;
  frame.top = top + 30;
  frame.width = width - 80;
  frame.height = height - 80;
  frame.x_min = std::log10(x_min);
  frame.x_max = std::log10(x_max);
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const Series& s : series) {
    for (const auto& [x, y] : s.points)
      if (std::isfinite(y) && (!log_y || y > 0)) lo = std::min(lo, y), hi = std::max(hi, y);
    if (s.flat && std::isfinite(*s.flat) && (!log_y || *s.flat > 0)) lo = std::min(lo, *s.flat), hi = std::max(hi, *s.flat);
  }
  if (!std::isfinite(lo)) lo = log_y ? 1e-3 : 0.0, hi = 1.0;
  if (log_y) {
    frame.y_min = std::floor(std::log10(lo));
    frame.y_max = std::max(frame.y_min + 1, std::ceil(std::log10(hi)));
  } else {
    frame.y_min = std::min(0.0, lo);
    frame.y_max = hi > frame.y_min ? hi * 1.05 : frame.y_min + 1;
  }
  const auto to_y = [&](double y) { return log_y ? std::log10(std::max(y, std::pow(10.0, frame.y_min))) : y; };

  doc.text(left + width / 2, top + 16, title, 13, "middle", 0.0, "#000000", "bold");
  doc.rect(frame.left, frame.top, frame.width, frame.height, "#ffffff", "#444444", 1.0);
  // x ticks at powers of 10 (and 3x between them when the range is short).
  for (double k = std::ceil(frame.x_min - 1e-9); k <= frame.x_max + 1e-9; k += 1.0) {
    const double px = frame.px(k);
    doc.line(px, frame.top, px, frame.top + frame.height, "#dddddd", 1.0);
    doc.text(px, frame.top + frame.height + 16, compact_count(std::pow(10.0, k)), 11, "middle");
  }
  doc.text(frame.left + frame.width / 2, frame.top + frame.height + 34, "decoder evaluations per datapoint (log scale)",
           11, "middle");
  if (log_y) {
    for (double k = frame.y_min; k <= frame.y_max + 1e-9; k += 1.0) {
      const double py = frame.py(k);
      doc.line(frame.left, py, frame.left + frame.width, py, "#dddddd", 1.0);
      char label[32];
      std::snprintf(label, sizeof label, "%g", std::pow(10.0, k));
      doc.text(frame.left - 6, py + 4, label, 11, "end");
    }
  } else {
    const std::vector<double> ticks = svg::nice_ticks(frame.y_min, frame.y_max, 5);
    const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
    for (double t : ticks) {
      const double py = frame.py(t);
      doc.line(frame.left, py, frame.left + frame.width, py, "#dddddd", 1.0);
      doc.text(frame.left - 6, py + 4, svg::format_tick(t, step), 11, "end");
    }
  }
  doc.text(left + 14, frame.top + frame.height / 2, y_label, 11, "middle", -90.0);
  doc.begin_clip(frame.left, frame.top, frame.width, frame.height);
  for (const Series& s : series) {
    if (s.flat) {
      const double py = frame.py(to_y(*s.flat));
      doc.line(frame.left, py, frame.left + frame.width, py, s.color, 2.0, s.dash);
      continue;
    }
    std::vector<std::pair<double, double>> pixels;
    for (const auto& [x, y] : s.points)
      if (x > 0 && std::isfinite(y)) pixels.emplace_back(frame.px(std::log10(x)), frame.py(to_y(y)));
    if (pixels.size() > 1) doc.polyline(pixels, s.color, 2.0, false, s.dash);
    for (const auto& [px, py] : pixels) doc.circle(px, py, 3.0, s.color);
  }
  doc.end_clip();
}

// Colors of the methods.
const std::string kHmc = "#d62728", kQStarDiagonal = "#1f77b4", kQStarFull = "#17becf", kFlow = "#9467bd",
                  kAmortized = "#ff7f0e", kAisPrior = "#2ca02c", kAisQ = "#8c564b", kIsQ = "#e377c2";

int hmc_vs_vi_main(int argc, char** argv) {
  CommonOptions common;
  DatasetOptions data;
  std::string checkpoint, budgets_text = "100,300,1000,3000,10000,30000,100000", hmc_init = "encoder",
                          picture = "hmc_vs_vi.svg";
  Index num_datapoints = 30, first_datapoint = 0, grid_nodes = 101, cells_per_bin = 5, vi_draws = 20000;
  double grid_half_width = 5.0, warmup_fraction = 0.5;
  HmcOptions hmc;
  LocalOptimizationOptions gaussian;
  gaussian.samples_per_step = 10;
  gaussian.check_samples = 100;
  gaussian.patience = 1000000000;  // the budget is the stopping rule (as for HMC)
  LocalFlowOptions flow;
  flow.samples = 10;
  flow.learning_rate = 3e-3;
  flow.patience = 1000000000;  // the budget is the stopping rule
  AisOptions ais;
  ais.chains = 8;
  ais.show_progress = false;

  po::options_description d("Options");
  add_common_options(d, common, "hmc_vs_vi.json");
  add_dataset_options(d, data);
  d.add_options()
      ("checkpoint", po::value(&checkpoint)->required(), "VAE checkpoint with latent dimension 2 (vigap-train)")
      ("num-datapoints", po::value(&num_datapoints)->default_value(num_datapoints), "test datapoints (>= 1)")
      ("first-datapoint", po::value(&first_datapoint)->default_value(first_datapoint), "index of the first one")
      ("budgets", po::value(&budgets_text)->default_value(budgets_text),
       "decoder evaluations per datapoint, increasing, comma-separated")
      ("picture", po::value(&picture)->default_value(picture), "path of the SVG picture")
      ("hmc-chains", po::value(&hmc.chains)->default_value(hmc.chains), "HMC chains per datapoint (>= 2)")
      ("hmc-leapfrog-steps", po::value(&hmc.leapfrog_steps)->default_value(hmc.leapfrog_steps),
       "leapfrog steps per HMC transition")
      ("hmc-warmup-fraction", po::value(&warmup_fraction)->default_value(warmup_fraction),
       "share of HMC's iterations spent on warm-up (discarded), in [0, 1)")
      ("hmc-init", po::value(&hmc_init)->default_value(hmc_init), "HMC chains start at draws of: encoder or prior")
      ("vi-samples", po::value(&gaussian.samples_per_step)->default_value(gaussian.samples_per_step),
       "reparameterized samples per step of q* and of the local flow")
      ("qstar-learning-rate", po::value(&gaussian.learning_rate)->default_value(gaussian.learning_rate),
       "Adam's initial learning rate for q*")
      ("qstar-check-samples", po::value(&gaussian.check_samples)->default_value(gaussian.check_samples),
       "most samples of each q* check (counted in its budget; budget / 20 below that)")
      ("flow-learning-rate", po::value(&flow.learning_rate)->default_value(flow.learning_rate),
       "Adam's learning rate for the local flow")
      ("flow-layers", po::value(&flow.flow.num_layers)->default_value(flow.flow.num_layers),
       "coupling layers of the local flow")
      ("ais-chains", po::value(&ais.chains)->default_value(ais.chains), "AIS chains (weights) per datapoint")
      ("ais-leapfrog-steps", po::value(&ais.leapfrog_steps)->default_value(ais.leapfrog_steps),
       "leapfrog steps per AIS transition")
      ("grid-nodes", po::value(&grid_nodes)->default_value(grid_nodes),
       "nodes per axis of the total-variation grid (>= 11)")
      ("grid-half-width", po::value(&grid_half_width)->default_value(grid_half_width),
       "half-width of that grid in exact posterior standard deviations per axis (>= 2)")
      ("tv-cells-per-bin", po::value(&cells_per_bin)->default_value(cells_per_bin),
       "grid cells per histogram bin side for the total variation (>= 1)")
      ("vi-draws", po::value(&vi_draws)->default_value(vi_draws),
       "draws of each variational q for its moments (free: no decoder evaluations; >= 2)");
  if (!parse_command_line(argc, argv, "vigap-hmc-vs-vi",
                          "HMC against the amortized q, q* and a local flow at equal decoder evaluations, measured "
                          "against the exact posterior and log p(x) of a 2-D latent VAE.",
                          d, common))
    return 0;

  const std::vector<Index> budgets = parse_size_list(budgets_text, "--budgets");
  if (budgets.empty()) throw std::invalid_argument("--budgets expects at least one budget, found '" + budgets_text + "'");
  for (size_t i = 0; i < budgets.size(); ++i)
    if (budgets[i] < 1 || (i > 0 && budgets[i] <= budgets[i - 1]))
      throw std::invalid_argument("--budgets must be positive and increasing, found '" + budgets_text + "'");
  if (num_datapoints < 1) throw std::invalid_argument("--num-datapoints must be >= 1, found " + std::to_string(num_datapoints));
  if (first_datapoint < 0) throw std::invalid_argument("--first-datapoint must be >= 0, found " + std::to_string(first_datapoint));
  if (hmc.chains < 2) throw std::invalid_argument("--hmc-chains must be >= 2 (moments and R-hat), found " + std::to_string(hmc.chains));
  if (hmc_init != "encoder" && hmc_init != "prior")
    throw std::invalid_argument("--hmc-init must be encoder or prior, found '" + hmc_init + "'");
  if (grid_nodes < 11) throw std::invalid_argument("--grid-nodes must be >= 11, found " + std::to_string(grid_nodes));
  if (!(grid_half_width >= 2.0) || !std::isfinite(grid_half_width))
    throw std::invalid_argument("--grid-half-width must be >= 2 (posterior standard deviations), found " +
                                std::to_string(grid_half_width));
  if (cells_per_bin < 1) throw std::invalid_argument("--tv-cells-per-bin must be >= 1, found " + std::to_string(cells_per_bin));
  if (vi_draws < 2) throw std::invalid_argument("--vi-draws must be >= 2, found " + std::to_string(vi_draws));
  flow.samples = gaussian.samples_per_step;
  hmc.validate();
  gaussian.validate();
  flow.validate();
  ais.validate();
  // Rejects a bad warm-up fraction before any work.
  hmc_options_for_budget(hmc, budgets.back(), warmup_fraction);
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(common.out);
  check_writable_output_path(picture);

  const Vae vae = load_vae_checkpoint(checkpoint);
  const GenerativeModel& model = vae.decoder;
  if (model.latent_dim() != 2)
    throw std::invalid_argument("vigap-hmc-vs-vi needs a checkpoint with latent dimension 2 (exact posteriors on a grid); " +
                                checkpoint + " has latent dimension " + std::to_string(model.latent_dim()));
  if (!vae.encoder) throw std::invalid_argument("checkpoint " + checkpoint + " has no encoder: q, q* and AIS from q need one");
  const Dataset dataset = load_dataset(data, "test");
  const EvaluationBinarization binarization = evaluation_binarization(vae.metadata, "", "checkpoint " + checkpoint);
  const MatrixF X = evaluation_slice(dataset, model.data_dim(), binarization, first_datapoint, num_datapoints);
  const Index B = X.cols();

  const auto total_start = std::chrono::steady_clock::now();
  const ProgressReporter progress;
  // Draws for test point i are keyed by (--seed, i, purpose, substream); each method of each
  // budget row has its own substream (row_streams), so a datapoint's figures depend neither on
  // the other datapoints, nor on the other budgets or methods, nor on --threads.
  const RandomStreams streams = RandomStreams::consecutive(common.seed, static_cast<std::uint64_t>(first_datapoint), B);
  enum Method : std::uint64_t { amortized_q = 0, hmc_method = 1, diagonal_q = 2, full_q = 3, flow_q = 4,
                                ais_prior_method = 5, ais_q_method = 6, is_q_method = 7 };
  const auto row_streams = [&streams](Index budget, Method method) {
    return streams.with_substream(static_cast<std::uint64_t>(budget) * 16 + method);
  };
  nlohmann::ordered_json configuration;
  configuration["checkpoint"] = checkpoint;
  configuration["architecture"] = vae.architecture.to_json();
  configuration["checkpoint_metadata"] = vae.metadata;
  configuration["split"] = "test";
  configuration["first_datapoint"] = first_datapoint;
  configuration["num_datapoints"] = B;
  configuration["binarization"] = binarization.name;
  configuration["evaluation_binarization_seed"] = kEvaluationBinarizationSeed;
  configuration["budgets"] = budgets;
  configuration["cost_measure"] =
      "decoder evaluations per datapoint: latent columns through the decoder (forward + backward for gradients; "
      "forward-only columns of q* checks and importance sampling counted as full evaluations); the encoder costs 0";
  configuration["hmc"] = {{"chains", hmc.chains},
                          {"leapfrog_steps", hmc.leapfrog_steps},
                          {"warmup_fraction", warmup_fraction},
                          {"initial_latents", hmc_init == "encoder" ? "one draw of the encoder's q per chain" : "one draw of the prior per chain"},
                          {"options", hmc.to_json()},
                          {"budget_rule", "iterations I = floor((budget / chains - 1) / leapfrog_steps), warmup floor(fraction I), draws the rest"}};
  configuration["q_star"] = {{"initial", "encoder"},
                             {"samples_per_step", gaussian.samples_per_step},
                             {"learning_rate", gaussian.learning_rate},
                             {"learning_rate_half_life", gaussian.learning_rate_half_life},
                             {"check_interval", gaussian.check_interval},
                             {"check_samples", gaussian.check_samples},
                             {"check_samples_rule", "min(check_samples, max(2, floor(budget / 20))): q* keeps the parameters of its best check, and checks of fewer samples keep lucky early ones"},
                             {"patience", "none: the budget is the stopping rule"},
                             {"budget_rule", "largest max_steps with samples_per_step * steps + check_samples * checks <= budget"}};
  configuration["local_flow"] = {{"initial", "encoder (identity flow)"},
                                 {"samples_per_step", flow.samples},
                                 {"learning_rate", flow.learning_rate},
                                 {"layers", flow.flow.num_layers},
                                 {"check_interval", flow.check_interval},
                                 {"patience", "none: the budget is the stopping rule; keeps the parameters of its best windowed training ELBO"},
                                 {"budget_rule", "max_steps = floor(budget / samples_per_step)"}};
  configuration["ais"] = {{"options", ais.to_json()},
                          {"budget_rule", "largest T with (chains + pilot_chains) (1 + (T - 1) leapfrog_steps) <= budget; n/a when T < 2"}};
  configuration["importance_sampling"] = {{"proposal", "encoder q"}, {"samples", "= budget"}};
  configuration["distances"] = {
      {"grid", {{"nodes_per_axis", grid_nodes}, {"half_width_posterior_sd", grid_half_width}, {"center", "E[z|x]"}}},
      {"total_variation", "binned on tv_cells_per_bin^2 grid cells plus one outside bin; densities: exact cell masses; "
                          "HMC: histogram of its draws (compare with iid exact draws of the same number)"},
      {"tv_cells_per_bin", cells_per_bin},
      {"moments", "variational q: from vi_draws draws; HMC: from its draws; errors whitened by Cov[z|x]"},
      {"vi_draws", vi_draws},
      {"kl", "exact KL(q || p(z|x)) by quadrature (kl_divergence_by_quadrature)"}};
  configuration["threads"] = common.threads;
  nlohmann::ordered_json document =
      make_result_document("hmc_vs_vi", configuration, dataset_identity(dataset, "test"), common.seed);
  nlohmann::ordered_json& timings = document["timings"];

  std::printf("%s: %lld test datapoints of %s from #%lld; budgets %s decoder evaluations per datapoint\n",
              model.describe().c_str(), static_cast<long long>(B), dataset.name.c_str(),
              static_cast<long long>(first_datapoint), budgets_text.c_str());

  // The truth: log p(x), E[z|x], Cov[z|x] by quadrature, and p(z|x) on each datapoint's grid.
  auto start = std::chrono::steady_clock::now();
  const ExactPosterior exact(model, X);
  const Estimate& exact_log_px = exact.log_marginal_likelihood();
  const Index G = grid_nodes * grid_nodes;
  std::vector<GridBins2d> bins(static_cast<size_t>(B));
  std::vector<MatrixD> exact_covariance = exact.covariance();
  MatrixD all_points(2, B * G);
  for (Index b = 0; b < B; ++b) {
    const VectorD m = exact.mean().col(b);
    const VectorD s = exact_covariance[static_cast<size_t>(b)].diagonal().cwiseSqrt();
    GridBins2d& g = bins[static_cast<size_t>(b)];
    g.x = VectorD::LinSpaced(grid_nodes, m(0) - grid_half_width * s(0), m(0) + grid_half_width * s(0));
    g.y = VectorD::LinSpaced(grid_nodes, m(1) - grid_half_width * s(1), m(1) + grid_half_width * s(1));
    g.cells_per_bin = cells_per_bin;
    all_points.middleCols(b * G, G) = g.points();
  }
  std::vector<VectorD> exact_mass(static_cast<size_t>(B));
  {
    const VectorD log_joint = model.log_joint(X, all_points, G);
    for (Index b = 0; b < B; ++b)
      exact_mass[static_cast<size_t>(b)] =
          (log_joint.segment(b * G, G).array() - exact_log_px.per_datapoint(b)).exp() * bins[static_cast<size_t>(b)].cell_area();
  }
  timings["exact_seconds"] = seconds_since(start);

  const DiagonalGaussian q = DiagonalGaussian::from_encoder(*vae.encoder, X);
  KlQuadratureOptions kl_options;

  // Distances of an approximation with a density: cell masses on the grid, moments from draws, exact KL.
  const auto measure_density = [&](const PosteriorApproximation& approximation, PosteriorDistances& r,
                                   const RandomStreams& stream) {
    r.total_variation.resize(B);
    r.mean_error.resize(B);
    r.covariance_error.resize(B);
    const VectorD log_density = approximation.log_density(all_points, G);
    BatchRng draw_generators = stream.generators(StreamPurpose::approximation_draws);
    const MatrixD draws = approximation.sample(vi_draws, draw_generators);
    for (Index b = 0; b < B; ++b) {
      const size_t bs = static_cast<size_t>(b);
      const VectorD mass = log_density.segment(b * G, G).array().exp() * bins[bs].cell_area();
      r.total_variation(b) = total_variation_of_masses(mass, bins[bs], exact_mass[bs]);
      VectorD mean;
      MatrixD covariance;
      sample_mean_and_covariance(draws.middleCols(b * vi_draws, vi_draws), mean, covariance);
      const MomentDiscrepancy m = moment_discrepancy(mean, covariance, exact.mean().col(b), exact_covariance[bs]);
      r.mean_error(b) = m.mean_error;
      r.covariance_error(b) = m.covariance_error;
    }
    r.kl_divergence = kl_divergence_by_quadrature(model, approximation, X, exact_log_px, kl_options, stream).kl_divergence;
  };
  const auto mean_per_datapoint = [&](Index total) { return static_cast<double>(total) / static_cast<double>(B); };

  // The amortized q: no decoder evaluations.
  start = std::chrono::steady_clock::now();
  PosteriorDistances amortized;
  {
    measure_density(q, amortized, row_streams(0, amortized_q));
  }
  timings["amortized_seconds"] = seconds_since(start);

  // Independent exact draws for HMC's floor: as many per datapoint as the largest HMC run keeps.
  Index max_hmc_draws = 2;
  for (Index budget : budgets)
    if (const auto o = hmc_options_for_budget(hmc, budget, warmup_fraction)) max_hmc_draws = std::max(max_hmc_draws, o->chains * o->draws);
  BatchRng exact_generators = streams.generators(StreamPurpose::exact_posterior_sampling);
  const MatrixD exact_draws = exact.sample(max_hmc_draws, exact_generators);

  std::vector<PosteriorDistances> hmc_rows, diagonal_rows, full_rows, flow_rows;
  std::vector<LogMarginalErrors> ais_prior_rows, ais_q_rows, is_q_rows;
  double hmc_seconds = 0, diagonal_seconds = 0, full_seconds = 0, flow_seconds = 0, ais_prior_seconds = 0,
         ais_q_seconds = 0, is_seconds = 0;
  const auto log_marginal_errors = [&](const Estimate& estimate, LogMarginalErrors& r) {
    r.error = estimate;
    r.error.estimator = estimate.estimator + " minus quadrature";
    r.error.per_datapoint = estimate.per_datapoint - exact_log_px.per_datapoint;
    r.error.summarize();
    r.mean_absolute_error = r.error.per_datapoint.cwiseAbs().mean();
  };

  for (Index budget : budgets) {
    if (progress.enabled()) progress.update("budget " + std::to_string(budget) + ": HMC");
    // HMC.
    start = std::chrono::steady_clock::now();
    {
      PosteriorDistances r;
      r.budget = budget;
      const RandomStreams stream = row_streams(budget, hmc_method);
      std::optional<HmcOptions> options = hmc_options_for_budget(hmc, budget, warmup_fraction);
      r.feasible = options.has_value();
      if (r.feasible) {
        BatchRng initial_generators = stream.generators(StreamPurpose::approximation_draws);
        options->initial_latents = hmc_init == "encoder"
                                       ? q.sample(options->chains, initial_generators)
                                       : standard_normal_matrix(2, B * options->chains, initial_generators);
        const HmcResult chains = hmc_sample_posterior(model, X, *options, stream);
        r.decoder_evaluations = mean_per_datapoint(chains.gradient_evaluations);
        const Index n = options->chains * options->draws;
        r.total_variation.resize(B), r.mean_error.resize(B), r.covariance_error.resize(B);
        r.iid_total_variation.resize(B), r.iid_mean_error.resize(B), r.iid_covariance_error.resize(B);
        for (Index b = 0; b < B; ++b) {
          const size_t bs = static_cast<size_t>(b);
          const MatrixD draws = chains.draws_of(b);
          const MatrixD iid = exact_draws.middleCols(b * max_hmc_draws, n);
          for (const auto& [sample, tv, me, ce] :
               {std::tuple{&draws, &r.total_variation, &r.mean_error, &r.covariance_error},
                std::tuple{&iid, &r.iid_total_variation, &r.iid_mean_error, &r.iid_covariance_error}}) {
            (*tv)(b) = total_variation_of_draws(*sample, bins[bs], exact_mass[bs]);
            VectorD mean;
            MatrixD covariance;
            sample_mean_and_covariance(*sample, mean, covariance);
            const MomentDiscrepancy m = moment_discrepancy(mean, covariance, exact.mean().col(b), exact_covariance[bs]);
            (*me)(b) = m.mean_error;
            (*ce)(b) = m.covariance_error;
          }
        }
        const double max_r_hat = chains.diagnostics.r_hat.size() > 0 ? chains.diagnostics.r_hat.maxCoeff() : NAN;
        // Per datapoint, the smaller bulk ESS of its two coordinates: how many independent draws
        // HMC's n are worth (the TV of n correlated draws is about that of ESS independent ones).
        nlohmann::ordered_json min_ess = nlohmann::ordered_json::array();
        for (Index b = 0; b < B; ++b) min_ess.push_back(number_or_null(chains.diagnostics.bulk_ess.col(b).minCoeff()));
        r.details = {{"warmup", options->warmup},
                     {"draws_per_chain", options->draws},
                     {"draws_per_datapoint", n},
                     {"mean_acceptance_rate", chains.acceptance_rate.mean()},
                     {"divergences", chains.divergences},
                     {"max_r_hat", number_or_null(max_r_hat)},
                     {"min_bulk_effective_sample_size_per_datapoint", min_ess}};
      }
      hmc_rows.push_back(std::move(r));
    }
    hmc_seconds += seconds_since(start);

    // Local Gaussians q* (diagonal, full covariance), started from the encoder's q.
    for (const LocalGaussianFamily family : {LocalGaussianFamily::diagonal, LocalGaussianFamily::full_covariance}) {
      if (progress.enabled()) progress.update("budget " + std::to_string(budget) + ": q* " + to_string(family));
      start = std::chrono::steady_clock::now();
      PosteriorDistances r;
      r.budget = budget;
      const RandomStreams stream =
          row_streams(budget, family == LocalGaussianFamily::diagonal ? diagonal_q : full_q);
      LocalOptimizationOptions base = gaussian;
      base.family = family;
      // Checks take about 10% of a small budget, at most check_samples (their noise decides which
      // parameters are kept: see the configuration's q_star.check_samples_rule).
      base.check_samples = std::clamp<Index>(budget / 20, 2, gaussian.check_samples);
      const std::optional<LocalOptimizationOptions> options = local_gaussian_options_for_budget(base, budget);
      r.feasible = options.has_value();
      if (r.feasible) {
        const LocalGaussianOptimization fit = optimize_local_gaussian(model, X, q, *options, stream);
        r.decoder_evaluations = mean_per_datapoint(fit.gradient_evaluations + fit.likelihood_evaluations);
        measure_density(fit.approximation(), r, stream);
        Index stopped = 0;
        for (bool s : fit.stopped_by_rule) stopped += s;
        r.details = {{"max_steps", options->max_steps}, {"steps", fit.steps}, {"stopped_by_patience", stopped}};
      }
      const double seconds = seconds_since(start);
      if (family == LocalGaussianFamily::diagonal) {
        diagonal_rows.push_back(std::move(r));
        diagonal_seconds += seconds;
      } else {
        full_rows.push_back(std::move(r));
        full_seconds += seconds;
      }
    }

    // The local flow, started from the encoder's q with identity flows.
    if (progress.enabled()) progress.update("budget " + std::to_string(budget) + ": local flow");
    start = std::chrono::steady_clock::now();
    {
      PosteriorDistances r;
      r.budget = budget;
      const RandomStreams stream = row_streams(budget, flow_q);
      const std::optional<LocalFlowOptions> options = local_flow_options_for_budget(flow, budget);
      r.feasible = options.has_value();
      if (r.feasible) {
        const LocalFlowOptimizationResult fit = optimize_local_flow(model, X, q, *options, stream);
        r.decoder_evaluations = static_cast<double>(fit.steps * options->samples);
        measure_density(fit.approximation, r, stream);
        r.details = {{"max_steps", options->max_steps}, {"steps", fit.steps}, {"all_stopped_by_patience", fit.converged}};
      }
      flow_rows.push_back(std::move(r));
    }
    flow_seconds += seconds_since(start);

    // log p(x): AIS from the prior, AIS from q, importance sampling from q.
    if (progress.enabled()) progress.update("budget " + std::to_string(budget) + ": AIS and importance sampling");
    for (const bool from_q : {false, true}) {
      start = std::chrono::steady_clock::now();
      LogMarginalErrors r;
      r.budget = budget;
      const RandomStreams stream = row_streams(budget, from_q ? ais_q_method : ais_prior_method);
      const std::optional<AisOptions> options = ais_options_for_budget(ais, budget);
      r.feasible = options.has_value();
      if (r.feasible) {
        const AnnealedImportanceSamplingResult result = from_q ? annealed_importance_sampling(model, q, X, *options, stream)
                                                               : annealed_importance_sampling(model, X, *options, stream);
        r.decoder_evaluations = mean_per_datapoint(result.gradient_evaluations);
        log_marginal_errors(result.estimate, r);
        r.settings = {{"annealing_steps", options->num_annealing_steps},
                      {"chains", options->chains},
                      {"pilot_chains", options->pilot_chains},
                      {"leapfrog_steps", options->leapfrog_steps},
                      {"mean_acceptance_rate", result.acceptance_rate.mean()}};
      }
      (from_q ? ais_q_rows : ais_prior_rows).push_back(std::move(r));
      (from_q ? ais_q_seconds : ais_prior_seconds) += seconds_since(start);
    }
    start = std::chrono::steady_clock::now();
    {
      LogMarginalErrors r;
      r.budget = budget;
      const RandomStreams stream = row_streams(budget, is_q_method);
      r.feasible = budget >= 2;  // a standard error needs two weights
      if (r.feasible) {
        ImportanceSamplingOptions options;
        options.samples = budget;
        const ImportanceSamplingResult result =
            estimate_log_marginal_likelihood_by_importance_sampling(model, q, X, options, stream);
        r.decoder_evaluations = static_cast<double>(budget);
        log_marginal_errors(result.log_marginal_likelihood, r);
        r.settings = {{"samples", budget}, {"mean_effective_sample_size", result.effective_sample_size.mean()}};
      }
      is_q_rows.push_back(std::move(r));
    }
    is_seconds += seconds_since(start);
    if (progress.enabled()) progress.line("budget " + std::to_string(budget) + " done");
  }
  progress.finish();
  timings["hmc_seconds"] = hmc_seconds;
  timings["q_star_diagonal_seconds"] = diagonal_seconds;
  timings["q_star_full_covariance_seconds"] = full_seconds;
  timings["local_flow_seconds"] = flow_seconds;
  timings["ais_prior_seconds"] = ais_prior_seconds;
  timings["ais_encoder_seconds"] = ais_q_seconds;
  timings["importance_sampling_seconds"] = is_seconds;

  // JSON.
  nlohmann::ordered_json& results = document["results"];
  results["exact_log_marginal_likelihood"] = to_json(exact_log_px, true);
  results["exact_unconverged_datapoints"] = exact.quadrature().unconverged;
  nlohmann::ordered_json& posterior = results["posterior"];
  posterior["amortized_q"] = to_json(amortized);
  const auto rows_json = [](const auto& rows) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (const auto& r : rows) a.push_back(to_json(r));
    return a;
  };
  posterior["hmc"] = rows_json(hmc_rows);
  posterior["q_star_diagonal"] = rows_json(diagonal_rows);
  posterior["q_star_full_covariance"] = rows_json(full_rows);
  posterior["local_flow"] = rows_json(flow_rows);
  nlohmann::ordered_json& log_px = results["log_marginal_likelihood"];
  log_px["ais_from_prior"] = rows_json(ais_prior_rows);
  log_px["ais_from_encoder_q"] = rows_json(ais_q_rows);
  log_px["importance_sampling_from_encoder_q"] = rows_json(is_q_rows);

  // Tables: rows are budgets; every cell a mean over datapoints ± its standard error across them.
  std::printf("\nexact log p(x) (quadrature): %.3f ± %.3f (data s.e.); %lld datapoints unconverged\n", exact_log_px.value,
              exact_log_px.dataset_standard_error, static_cast<long long>(exact.quadrature().unconverged));
  const auto posterior_table = [&](const std::string& title, const std::function<const VectorD&(const PosteriorDistances&)>& get,
                                   const std::function<const VectorD&(const PosteriorDistances&)>& get_iid) {
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < budgets.size(); ++i)
      rows.push_back({std::to_string(budgets[i]), cell(get(hmc_rows[i]), hmc_rows[i].feasible),
                      cell(get_iid(hmc_rows[i]), hmc_rows[i].feasible), cell(get(diagonal_rows[i]), diagonal_rows[i].feasible),
                      cell(get(full_rows[i]), full_rows[i].feasible), cell(get(flow_rows[i]), flow_rows[i].feasible)});
    print_titled_table(title, {"budget", "HMC", "iid exact, same n", "q* diagonal", "q* full cov.", "local flow"}, rows);
    std::printf("amortized q (encoder, 0 decoder evaluations): %s\n", cell(get(amortized), true).c_str());
  };
  posterior_table("Binned total variation to p(z|x) (mean ± s.e. over datapoints)",
                  [](const PosteriorDistances& r) -> const VectorD& { return r.total_variation; },
                  [](const PosteriorDistances& r) -> const VectorD& { return r.iid_total_variation; });
  posterior_table("Posterior mean error ‖L⁻¹(m - E[z|x])‖ in posterior standard deviations",
                  [](const PosteriorDistances& r) -> const VectorD& { return r.mean_error; },
                  [](const PosteriorDistances& r) -> const VectorD& { return r.iid_mean_error; });
  {
    std::vector<std::vector<std::string>> rows;
    const auto kl = [](const PosteriorDistances& r) { return r.feasible && r.kl_divergence ? r.kl_divergence->per_datapoint : VectorD(); };
    for (size_t i = 0; i < budgets.size(); ++i)
      rows.push_back({std::to_string(budgets[i]), cell(kl(diagonal_rows[i]), diagonal_rows[i].feasible, "%.4f"),
                      cell(kl(full_rows[i]), full_rows[i].feasible, "%.4f"), cell(kl(flow_rows[i]), flow_rows[i].feasible, "%.4f")});
    print_titled_table("Exact KL(q‖p(z|x)) in nats (quadrature)", {"budget", "q* diagonal", "q* full cov.", "local flow"}, rows);
    std::printf("amortized q (encoder, 0 decoder evaluations): %s\n", cell(kl(amortized), true, "%.4f").c_str());
  }
  {
    const auto bias = [](const LogMarginalErrors& r) -> std::string {
      if (!r.feasible) return "n/a";
      char text[96];
      std::snprintf(text, sizeof text, "%+.3f ± %.3f (|err| %.3f)", r.error.value, r.error.monte_carlo_standard_error,
                    r.mean_absolute_error);
      return text;
    };
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < budgets.size(); ++i)
      rows.push_back({std::to_string(budgets[i]), bias(ais_prior_rows[i]), bias(ais_q_rows[i]), bias(is_q_rows[i])});
    print_titled_table("log p̂(x) - log p(x) in nats: mean ± Monte Carlo s.e. (mean |error|)",
                {"budget", "AIS from prior", "AIS from q", "IS from q"}, rows);
  }
  std::printf("\nbudget = decoder evaluations per datapoint allowed; n/a: the budget buys no draw / step / transition.\n");

  // Picture: four panels against the decoder evaluations actually spent.
  const double x_min = std::pow(10.0, std::floor(std::log10(static_cast<double>(budgets.front())))) / 1.5;
  const double x_max = static_cast<double>(budgets.back()) * 1.6;
  const auto curve = [](const std::vector<PosteriorDistances>& rows, const std::function<double(const PosteriorDistances&)>& value) {
    std::vector<std::pair<double, double>> points;
    for (const auto& r : rows)
      if (r.feasible) points.emplace_back(r.decoder_evaluations, value(r));
    return points;
  };
  const auto mean_of = [](const VectorD& v) { return v.size() ? v.mean() : NAN; };
  const auto tv = [&](const PosteriorDistances& r) { return mean_of(r.total_variation); };
  const auto iid_tv = [&](const PosteriorDistances& r) { return mean_of(r.iid_total_variation); };
  const auto me = [&](const PosteriorDistances& r) { return mean_of(r.mean_error); };
  const auto iid_me = [&](const PosteriorDistances& r) { return mean_of(r.iid_mean_error); };
  const auto kl = [&](const PosteriorDistances& r) { return r.kl_divergence ? r.kl_divergence->value : NAN; };
  const auto vi_series = [&](const std::function<double(const PosteriorDistances&)>& value) {
    return std::vector<Series>{{"q* diagonal", kQStarDiagonal, "", curve(diagonal_rows, value), std::nullopt},
                               {"q* full covariance", kQStarFull, "", curve(full_rows, value), std::nullopt},
                               {"local flow", kFlow, "", curve(flow_rows, value), std::nullopt},
                               {"amortized q (0 evaluations)", kAmortized, "7,4", {}, value(amortized)}};
  };
  std::vector<Series> tv_series = vi_series(tv), me_series = vi_series(me), kl_series = vi_series(kl);
  tv_series.push_back({"HMC", kHmc, "", curve(hmc_rows, tv), std::nullopt});
  tv_series.push_back({"iid exact draws, HMC's n", kHmc, "3,3", curve(hmc_rows, iid_tv), std::nullopt});
  me_series.push_back({"HMC", kHmc, "", curve(hmc_rows, me), std::nullopt});
  me_series.push_back({"iid exact draws, HMC's n", kHmc, "3,3", curve(hmc_rows, iid_me), std::nullopt});
  std::vector<Series> lp_series;
  for (const auto& [rows, label, color] : {std::tuple{&ais_prior_rows, "AIS from prior", kAisPrior},
                                           std::tuple{&ais_q_rows, "AIS from q", kAisQ},
                                           std::tuple{&is_q_rows, "IS from q", kIsQ}}) {
    Series s{label, color, "", {}, std::nullopt};
    for (const auto& r : *rows)
      if (r.feasible) s.points.emplace_back(r.decoder_evaluations, r.mean_absolute_error);
    lp_series.push_back(std::move(s));
  }
  const double panel_w = 520, panel_h = 360, header = 96;
  svg::Document doc(2 * panel_w + 20, header + 2 * panel_h + 10);
  doc.text(14, 24,
           "HMC vs variational inference at equal decoder evaluations: " + std::filesystem::path(checkpoint).filename().string() +
               ", " + std::to_string(B) + " test points of " + dataset.name,
           15, "start", 0.0, "#000000", "bold");
  {
    const std::vector<std::tuple<std::string, std::string, std::string>> legend{
        {kHmc, "", "HMC"},
        {kHmc, "3,3", "iid exact draws (HMC's n)"},
        {kQStarDiagonal, "", "q* diagonal"},
        {kQStarFull, "", "q* full covariance"},
        {kFlow, "", "local flow"},
        {kAmortized, "7,4", "amortized q (0 evaluations)"},
        {kAisPrior, "", "AIS from prior"},
        {kAisQ, "", "AIS from q"},
        {kIsQ, "", "IS from q"}};
    for (size_t i = 0; i < legend.size(); ++i) {
      const auto& [color, dash, label] = legend[i];
      svg::draw_legend_entry(doc, 14 + static_cast<double>(i % 5) * 210, 50 + static_cast<double>(i / 5) * 22, color, dash, label);
    }
  }
  draw_panel(doc, 10, header, panel_w, panel_h, "binned total variation to p(z|x)", "TV (mean over datapoints)", tv_series,
             false, x_min, x_max);
  draw_panel(doc, 10 + panel_w, header, panel_w, panel_h, "posterior mean error", "‖L⁻¹(m - E[z|x])‖ (posterior sd)",
             me_series, true, x_min, x_max);
  draw_panel(doc, 10, header + panel_h, panel_w, panel_h, "exact KL(q ‖ p(z|x)), variational families", "nats", kl_series,
             true, x_min, x_max);
  draw_panel(doc, 10 + panel_w, header + panel_h, panel_w, panel_h, "log p(x) estimates vs quadrature",
             "mean |log p̂(x) - log p(x)| (nats)", lp_series, true, x_min, x_max);
  timings["total_seconds"] = seconds_since(total_start);

  write_picture_and_result(picture, doc.str(), common.out, document);
  std::printf("picture: %s\nresults: %s\n", picture.c_str(), common.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_binary("vigap-hmc-vs-vi", [&] { return hmc_vs_vi_main(argc, argv); });
}
