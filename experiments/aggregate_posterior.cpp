// vigap-aggregate-posterior: does the prior p(z) match the aggregate posterior
// q(z) = (1/N) Σ_n q(z|x_n) of a VAE's encoder? For each split (test, train) it computes
//   (1/N) Σ_n KL(q(z|x_n) ‖ p(z))   (the ELBO's average KL term; analytic),
//   I[n; z]                          (index-code mutual information, <= log N),
//   KL(q(z) ‖ p(z))                  (how far the aggregate posterior is from the prior),
// each on its own, and the residual of Hoffman & Johnson's (2016) identity
//   (1/N) Σ_n KL(q(z|x_n) ‖ p(z)) = I[n; z] + KL(q(z) ‖ p(z)):
// exact by quadrature for latent dimension <= 2 (with a Monte Carlo cross-check), Monte Carlo
// with standard errors above; plus the active units (Burda et al. 2015). Markdown table on
// stdout, JSON result, an SVG picture (2-D: log q(z) per split next to log p(z) on one grid and
// color scale; otherwise per-unit activity bars), progress on stderr.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numbers>
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
#include "estimators/active_units.hpp"
#include "estimators/aggregate_posterior.hpp"
#include "estimators/aggregate_posterior_decomposition.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/dataset_options.hpp"
#include "experiments/support/evaluation_data.hpp"
#include "core/io/markdown_table.hpp"
#include "experiments/support/picture_and_result.hpp"
#include "experiments/support/svg_plot.hpp"

namespace po = boost::program_options;
using namespace vigap;

namespace {

const std::vector<std::string> kSplitColors{"#1f77b4", "#ff7f0e"};  // bars of the first and second split

/// "test,train" -> {"test", "train"} without duplicates. Throws std::invalid_argument naming --splits.
std::vector<std::string> parse_splits(const std::string& text) {
  std::vector<std::string> splits;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (item != "test" && item != "train")
      throw std::invalid_argument("--splits expects a comma-separated list of test and train, found '" + text + "'");
    if (std::find(splits.begin(), splits.end(), item) == splits.end()) splits.push_back(item);
  }
  if (splits.empty()) throw std::invalid_argument("--splits expects at least one of test and train, found '" + text + "'");
  return splits;
}

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

/// "1.2345 ± 0.0012" (the error printed with 2 significant digits; "± 0" for exact, "± n/a" when unknown).
std::string with_error(double value, double error) {
  if (!std::isfinite(error)) return format("%.4f", value) + " ± n/a";
  if (error == 0.0) return format("%.4f", value) + " (exact)";
  return format("%.4f", value) + " ± " + format("%.2g", error);
}

nlohmann::ordered_json to_json_vector(const VectorD& v) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (Index i = 0; i < v.size(); ++i) a.push_back(v(i));
  return a;
}

/// The q-quantile (0..1) of the values.
double quantile(std::vector<double> values, double q) {
  const size_t k = static_cast<size_t>(std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(k), values.end());
  return values[k];
}

/// Everything computed for one split.
struct SplitResult {
  std::string split;
  std::string dataset_name;
  Index num_datapoints = 0;
  ActiveUnits units;
  VectorD mean_kl_per_unit;
  std::optional<AggregatePosteriorDecomposition> quadrature, monte_carlo;
  std::optional<AggregatePosterior> aggregate;  // kept for the picture (d = 2)
  MatrixD log_density_on_picture_grid;          // n x n (d = 2)
};

/// A 2-D picture: one panel of log q(z) per split and one of log p(z), on one grid and one color scale.
std::string draw_density_picture(const std::vector<SplitResult>& results, const VectorD& x, const VectorD& y,
                                 const std::string& title) {
  const double panel = 360, gap = 60, left = 70, top = 92, bar_width = 16;
  const Index panels = static_cast<Index>(results.size()) + 1;
  svg::Document doc(left + panels * (panel + gap) + 70, top + panel + 70);
  doc.text(14, 24, title, 16, "start", 0.0, "#000000", "bold");
  doc.text(14, 46,
           "log density on one grid and color scale (" + std::to_string(x.size()) + " x " + std::to_string(y.size()) +
               " nodes); white circles: p(z) = N(0, I) at 1, 2, 3 standard deviations",
           12);
  // log p on the grid.
  MatrixD log_prior(x.size(), y.size());
  for (Index j = 0; j < y.size(); ++j)
    for (Index i = 0; i < x.size(); ++i) log_prior(i, j) = -std::log(2.0 * std::numbers::pi) - 0.5 * (x(i) * x(i) + y(j) * y(j));
  double high = log_prior.maxCoeff();
  for (const SplitResult& r : results) high = std::max(high, r.log_density_on_picture_grid.maxCoeff());
  const double span = 12.0, low = high - span;  // 12 nats of color range

  std::vector<std::pair<std::string, const MatrixD*>> fields;
  for (const SplitResult& r : results) fields.emplace_back(r.split, &r.log_density_on_picture_grid);
  fields.emplace_back("prior", &log_prior);
  const double hx = (x(1) - x(0)) / 2, hy = (y(1) - y(0)) / 2;
  for (size_t p = 0; p < fields.size(); ++p) {
    svg::Frame frame;
    frame.left = left + static_cast<double>(p) * (panel + gap);
    frame.top = top;
    frame.width = frame.height = panel;
    frame.x_min = x(0) - hx;
    frame.x_max = x(x.size() - 1) + hx;
    frame.y_min = y(0) - hy;
    frame.y_max = y(y.size() - 1) + hy;
    const MatrixD& values = *fields[p].second;
    std::string heading;
    if (fields[p].first == "prior") {
      heading = "p(z) = N(0, I)";
    } else {
      const SplitResult& r = results[p];
      const AggregatePosteriorDecomposition& dec = r.quadrature ? *r.quadrature : *r.monte_carlo;
      heading = "q(z), " + r.split + " (N = " + std::to_string(r.num_datapoints) + ")";
      doc.text(frame.left, top - 10,
               "KL(q(z)‖p(z)) = " + format("%.3f", dec.aggregate_kl_to_prior.value) + ", I[n;z] = " +
                   format("%.3f", dec.mutual_information.value) + " nats",
               11, "start", 0.0, "#333333");
    }
    doc.text(frame.left, top - 28, heading, 14, "start", 0.0, "#000000", "bold");
    doc.begin_clip(frame.left, frame.top, frame.width, frame.height);
    doc.rect(frame.left, frame.top, frame.width, frame.height, svg::heat_color(0.0).hex());
    const double cell_w = frame.px(x(0) + 2 * hx) - frame.px(x(0)), cell_h = frame.py(y(0)) - frame.py(y(0) + 2 * hy);
    for (Index j = 0; j < y.size(); ++j)
      for (Index i = 0; i < x.size(); ++i) {
        const double t = (values(i, j) - low) / span;
        if (!(t > 0.0)) continue;
        // Cells slightly oversized so that no hairline gaps show between them.
        doc.rect(frame.px(x(i)) - cell_w / 2, frame.py(y(j)) - cell_h / 2, cell_w + 0.3, cell_h + 0.3,
                 svg::heat_color(t).hex());
      }
    const MatrixD identity = MatrixD::Identity(2, 2);
    for (const double radius : {1.0, 2.0, 3.0})
      doc.polyline(svg::to_pixels(frame, svg::gaussian_ellipse(0.0, 0.0, identity, radius)), "#ffffff", 1.2, true,
                   radius == 1.0 ? "" : "5,4");
    doc.end_clip();
    svg::draw_axes(doc, frame, "z1", "z2", 5);
  }
  // Color bar.
  const double bx = left + static_cast<double>(panels) * (panel + gap) - gap + 20;
  for (int k = 0; k < 100; ++k)
    doc.rect(bx, top + panel - (k + 1) * panel / 100.0, bar_width, panel / 100.0 + 0.5, svg::heat_color(k / 99.0).hex());
  for (int k = 0; k <= 4; ++k) {
    const double v = low + span * k / 4.0;
    doc.text(bx + bar_width + 4, top + panel - k * panel / 4.0 + 4, format("%.1f", v), 10);
  }
  doc.text(bx, top - 10, "log density", 10);
  return doc.str();
}

/// Bars of per-unit activity (log10 scale) per split with the threshold, and per-unit mean KL.
std::string draw_activity_picture(const std::vector<SplitResult>& results, const std::string& title) {
  const Index d = results.front().units.activity.size();
  const double left = 80, top = 90, plot_height = 260, row_gap = 90;
  const double group = std::max(18.0, 24.0 * static_cast<double>(results.size()));
  const double plot_width = std::max(300.0, group * static_cast<double>(d));
  svg::Document doc(left + plot_width + 220, top + 2 * plot_height + row_gap + 60);
  doc.text(14, 24, title, 16, "start", 0.0, "#000000", "bold");
  std::string summary;
  for (const SplitResult& r : results) {
    const AggregatePosteriorDecomposition& dec = r.quadrature ? *r.quadrature : *r.monte_carlo;
    summary += (summary.empty() ? "" : ";   ") + r.split + " (N = " + std::to_string(r.num_datapoints) +
               "): KL(q(z)‖p(z)) = " + format("%.3f", dec.aggregate_kl_to_prior.value) + ", I[n;z] = " +
               format("%.3f", dec.mutual_information.value) + " (log N = " +
               format("%.3f", std::log(static_cast<double>(r.num_datapoints))) + ") nats";
  }
  doc.text(14, 44, summary, 12, "start", 0.0, "#333333");
  const double bar = (group - 6) / static_cast<double>(results.size());
  // Activity on a log scale, floored at 1e-6.
  double high = 1e-2, low_floor = 1e-6;
  for (const SplitResult& r : results) high = std::max(high, r.units.activity.maxCoeff());
  svg::Frame a;
  a.left = left;
  a.top = top;
  a.width = plot_width;
  a.height = plot_height;
  a.x_min = 0;
  a.x_max = static_cast<double>(d);
  a.y_min = std::log10(low_floor);
  a.y_max = std::ceil(std::log10(high) + 0.1);
  doc.text(left, top - 14, "activity Cov_x(E_q[z_j|x]) per unit j (log10; active above the dashed line)", 13);
  for (size_t s = 0; s < results.size(); ++s)
    for (Index j = 0; j < d; ++j) {
      const double v = std::log10(std::max(low_floor, results[s].units.activity(j)));
      const double x0 = a.px(static_cast<double>(j)) + 3 + bar * static_cast<double>(s);
      doc.rect(x0, a.py(v), bar - 1, a.py(a.y_min) - a.py(v), kSplitColors[s % kSplitColors.size()]);
    }
  const double threshold = std::log10(results.front().units.threshold);
  doc.line(a.left, a.py(threshold), a.left + a.width, a.py(threshold), "#000000", 1.2, "6,4");
  svg::draw_axes(doc, a, "latent unit j", "log10 activity", 5);
  // Mean KL per unit.
  svg::Frame k = a;
  k.top = top + plot_height + row_gap;
  double kl_high = 0.1;
  for (const SplitResult& r : results) kl_high = std::max(kl_high, r.mean_kl_per_unit.maxCoeff());
  k.y_min = 0;
  k.y_max = kl_high * 1.1;
  doc.text(left, k.top - 14, "mean over x of KL(q(z_j|x) ‖ p(z_j)) per unit j (nats)", 13);
  for (size_t s = 0; s < results.size(); ++s)
    for (Index j = 0; j < d; ++j) {
      const double v = results[s].mean_kl_per_unit(j);
      const double x0 = k.px(static_cast<double>(j)) + 3 + bar * static_cast<double>(s);
      doc.rect(x0, k.py(v), bar - 1, k.py(0) - k.py(v), kSplitColors[s % kSplitColors.size()]);
    }
  svg::draw_axes(doc, k, "latent unit j", "nats", 5);
  for (size_t s = 0; s < results.size(); ++s)
    svg::draw_legend_entry(doc, left + plot_width + 30, top + 20 + 20 * static_cast<double>(s),
                           kSplitColors[s % kSplitColors.size()], "",
                           results[s].split + ": " + std::to_string(results[s].units.count) + " active");
  return doc.str();
}

int aggregate_posterior_main(int argc, char** argv) {
  CommonOptions common;
  DatasetOptions data;
  std::string checkpoint, splits_text = "test,train", method = "auto", binarization_override,
                          picture = "aggregate_posterior.svg";
  Index num_datapoints = 0, picture_nodes = 121;
  double active_threshold = 0.01;
  AggregateQuadratureOptions quadrature;
  AggregateMonteCarloOptions monte_carlo;
  monte_carlo.outer_components = 10000;

  po::options_description d("Options");
  add_common_options(d, common, "aggregate_posterior.json");
  add_dataset_options(d, data);
  d.add_options()
      ("checkpoint", po::value(&checkpoint)->required(), "VAE checkpoint (safetensors) with a Gaussian encoder (no flow)")
      ("splits", po::value(&splits_text)->default_value(splits_text), "comma-separated splits: test, train")
      ("num-datapoints", po::value(&num_datapoints)->default_value(num_datapoints),
       "the first N datapoints of each split (0: all; else >= 2)")
      ("method", po::value(&method)->default_value(method),
       "auto (latent dim <= 2: quadrature with a Monte Carlo check; else Monte Carlo), quadrature or monte-carlo")
      ("binarization", po::value(&binarization_override)->default_value(""),
       "dynamic, threshold or none (default: as the checkpoint was trained)")
      ("picture", po::value(&picture)->default_value(picture), "path of the SVG picture")
      ("picture-grid-nodes", po::value(&picture_nodes)->default_value(picture_nodes),
       "nodes per axis of the 2-D picture's grid (>= 11)")
      ("nodes-per-sd", po::value(&quadrature.nodes_per_standard_deviation)->default_value(quadrature.nodes_per_standard_deviation),
       "quadrature: grid nodes per smallest component standard deviation (>= 0.5)")
      ("box-half-width", po::value(&quadrature.box_half_width)->default_value(quadrature.box_half_width),
       "quadrature: the box reaches this many component standard deviations beyond the extreme means (>= 3)")
      ("max-grid-nodes", po::value(&quadrature.max_nodes_per_dimension)->default_value(quadrature.max_nodes_per_dimension),
       "quadrature: at most this many nodes per axis (odd, >= 5)")
      ("mc-samples", po::value(&monte_carlo.samples_per_component)->default_value(monte_carlo.samples_per_component),
       "Monte Carlo: draws per outer datapoint (>= 1; >= 2 for the stratified standard error)")
      ("mc-outer-points", po::value(&monte_carlo.outer_components)->default_value(monte_carlo.outer_components),
       "Monte Carlo: outer datapoints drawn without replacement (0: all); log q(z) always uses all N")
      ("active-threshold", po::value(&active_threshold)->default_value(active_threshold),
       "a unit is active if Cov_x(E_q[z_j|x]) exceeds this (Burda et al. 2015: 0.01)");
  if (!parse_command_line(argc, argv, "vigap-aggregate-posterior",
                          "Compares the aggregate posterior q(z) = mean_n q(z|x_n) with the prior p(z): KL(q(z)||p(z)), "
                          "I[n;z], the Hoffman-Johnson identity, active units, and a picture.",
                          d, common))
    return 0;

  const std::vector<std::string> splits = parse_splits(splits_text);
  if (method != "auto" && method != "quadrature" && method != "monte-carlo")
    throw std::invalid_argument("--method expects auto, quadrature or monte-carlo, found '" + method + "'");
  if (num_datapoints < 0 || num_datapoints == 1)
    throw std::invalid_argument("--num-datapoints must be 0 (all) or >= 2, found " + std::to_string(num_datapoints));
  if (picture_nodes < 11)
    throw std::invalid_argument("--picture-grid-nodes must be >= 11, found " + std::to_string(picture_nodes));
  if (!(active_threshold >= 0.0) || !std::isfinite(active_threshold))
    throw std::invalid_argument("--active-threshold must be finite and >= 0, found " + std::to_string(active_threshold));
  try {
    quadrature.validate();
    monte_carlo.validate();
  } catch (const std::invalid_argument& e) {
    // Name the command-line options rather than the struct fields.
    std::string message = e.what();
    for (const auto& [field, option] :
         {std::pair<std::string, std::string>{"AggregateQuadratureOptions::nodes_per_standard_deviation", "--nodes-per-sd"},
          {"AggregateQuadratureOptions::box_half_width", "--box-half-width"},
          {"AggregateQuadratureOptions::max_nodes_per_dimension", "--max-grid-nodes"},
          {"AggregateMonteCarloOptions::samples_per_component", "--mc-samples"},
          {"AggregateMonteCarloOptions::outer_components", "--mc-outer-points"}})
      if (message.rfind(field, 0) == 0) message = option + message.substr(field.size());
    throw std::invalid_argument(message);
  }
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(common.out);
  check_writable_output_path(picture);

  const Vae vae = load_vae_checkpoint(checkpoint);
  if (!vae.encoder) throw std::invalid_argument("checkpoint " + checkpoint + " has no encoder: q(z|x) needs one");
  if (vae.flow)
    throw std::invalid_argument(
        "checkpoint " + checkpoint + " has a flow after the encoder (" + std::to_string(vae.architecture.flow_layers) +
        " coupling layers): vigap-aggregate-posterior handles diagonal Gaussian encoders only (the aggregate of flow "
        "posteriors is not separable on a grid and its density costs N flow inversions per point)");
  const Index latent_dim = vae.architecture.latent_dim;
  if (method == "quadrature" && latent_dim > 2)
    throw std::invalid_argument("--method quadrature needs latent dimension <= 2; " + checkpoint + " has latent dimension " +
                                std::to_string(latent_dim) + " (use --method monte-carlo or auto)");
  const bool use_quadrature = latent_dim <= 2 && method != "monte-carlo";
  const bool use_monte_carlo = method == "monte-carlo" || (method == "auto");
  const EvaluationBinarization binarization =
      evaluation_binarization(vae.metadata, binarization_override, "checkpoint " + checkpoint);

  // Load every split first (bad input fails before any work).
  std::vector<Dataset> datasets;
  for (const std::string& split : splits) {
    datasets.push_back(load_dataset(data, split));
    if (datasets.back().dimension() != vae.architecture.data_dim)
      throw std::invalid_argument("dataset " + datasets.back().name + " has dimension " +
                                  std::to_string(datasets.back().dimension()) + ", the checkpoint's model expects " +
                                  std::to_string(vae.architecture.data_dim));
    if (datasets.back().size() < 2)
      throw std::invalid_argument("dataset " + datasets.back().name + " (" + split + ") has fewer than 2 datapoints");
    if (num_datapoints > datasets.back().size())
      throw std::invalid_argument("--num-datapoints " + std::to_string(num_datapoints) +
                                  " asks for more datapoints than the " + split + " split of " + datasets.back().name +
                                  " has: " + std::to_string(datasets.back().size()) +
                                  " exist (0: all of them)");
  }

  Rng rng(common.seed);
  nlohmann::ordered_json configuration;
  configuration["checkpoint"] = checkpoint;
  configuration["architecture"] = vae.architecture.to_json();
  configuration["checkpoint_metadata"] = vae.metadata;
  configuration["splits"] = splits;
  configuration["num_datapoints_requested"] = num_datapoints;
  configuration["datapoints"] = "the first N of each split, binarized as every binary does (fixed evaluation seed)";
  configuration["binarization"] = binarization.name;
  configuration["evaluation_binarization_seed"] = kEvaluationBinarizationSeed;
  configuration["method"] = method;
  configuration["quadrature"] = quadrature.to_json();
  configuration["monte_carlo"] = monte_carlo.to_json();
  configuration["active_threshold"] = active_threshold;
  configuration["picture_grid_nodes"] = picture_nodes;
  configuration["prior"] = "N(0, I)";
  configuration["threads"] = common.threads;
  nlohmann::ordered_json dataset_json = nlohmann::ordered_json::object();
  for (size_t s = 0; s < splits.size(); ++s) dataset_json[splits[s]] = dataset_identity(datasets[s], splits[s]);
  nlohmann::ordered_json document =
      make_result_document("aggregate_posterior", configuration, dataset_json, common.seed);
  nlohmann::ordered_json& timings = document["timings"];
  const ProgressReporter progress;

  std::printf("%s; encoder %s\n", vae.decoder.describe().c_str(), vae.encoder->describe().c_str());
  std::vector<SplitResult> results;
  for (size_t s = 0; s < splits.size(); ++s) {
    const Dataset& dataset = datasets[s];
    SplitResult r;
    r.split = splits[s];
    r.dataset_name = dataset.name;
    r.num_datapoints = num_datapoints == 0 ? dataset.size() : num_datapoints;
    Rng split_stream = split_rng(rng);  // one stream per split, in the order of --splits
    auto start = std::chrono::steady_clock::now();
    progress.update("aggregate-posterior: " + r.split + ": encoding " + std::to_string(r.num_datapoints) + " datapoints");
    const MatrixF binary = binarize_evaluation_set(dataset.images, binarization);
    const MatrixF X = binary.leftCols(r.num_datapoints);
    const DiagonalGaussian q = DiagonalGaussian::from_encoder(*vae.encoder, X);
    r.aggregate.emplace(q);
    timings[r.split]["encoder_seconds"] = seconds_since(start);
    r.units = active_units(q.mean(), active_threshold);
    r.mean_kl_per_unit = r.aggregate->mean_kl_to_prior_per_unit();
    if (use_quadrature) {
      progress.update("aggregate-posterior: " + r.split + ": quadrature");
      r.quadrature = aggregate_posterior_decomposition_by_quadrature(*r.aggregate, quadrature);
      timings[r.split]["quadrature_seconds"] = r.quadrature->seconds;
    }
    if (use_monte_carlo) {
      progress.update("aggregate-posterior: " + r.split + ": Monte Carlo");
      Rng mc_rng = split_rng(split_stream);
      r.monte_carlo = aggregate_posterior_decomposition_by_monte_carlo(*r.aggregate, monte_carlo, mc_rng);
      timings[r.split]["monte_carlo_seconds"] = r.monte_carlo->seconds;
    }
    results.push_back(std::move(r));
  }
  progress.finish();

  // The 2-D picture's grid: the prior's ±3.5 box widened to hold the bulk of every split's components.
  VectorD grid_x, grid_y;
  if (latent_dim == 2) {
    std::array<double, 2> lower{-3.5, -3.5}, upper{3.5, 3.5};
    for (const SplitResult& r : results)
      for (Index j = 0; j < 2; ++j) {
        const RowVectorD lo = r.aggregate->mean().row(j) - 2.0 * r.aggregate->standard_deviation().row(j);
        const RowVectorD hi = r.aggregate->mean().row(j) + 2.0 * r.aggregate->standard_deviation().row(j);
        lower[j] = std::min(lower[j], quantile(std::vector<double>(lo.data(), lo.data() + lo.size()), 0.001));
        upper[j] = std::max(upper[j], quantile(std::vector<double>(hi.data(), hi.data() + hi.size()), 0.999));
      }
    // A square box centred on 0 (the prior's circles stay circles).
    const double half = std::max({-lower[0], -lower[1], upper[0], upper[1]});
    grid_x = grid_y = VectorD::LinSpaced(picture_nodes, -half, half);
    for (SplitResult& r : results) {
      // Cell averages: components narrower than a cell are shown by their mass, not aliased.
      const MatrixD density = r.aggregate->cell_averaged_density_on_grid(grid_x, grid_y);
      // Underflow (far from every component) is drawn as background: clamp to 1e-300.
      r.log_density_on_picture_grid = density.cwiseMax(1e-300).array().log().matrix();
    }
  }

  // Table.
  std::printf("\n| %-5s | %6s | %-11s | %-21s | %-20s | %-20s | %-19s | %-20s | %6s |\n", "split", "N", "method",
              "mean KL(q(z|x)||p)", "I[n;z]", "KL(q(z)||p(z))", "I + KL - mean KL", "H[q(z)]", "active");
  std::printf("|-------|--------|-------------|-----------------------|----------------------|----------------------|---------------------|----------------------|--------|\n");
  nlohmann::ordered_json split_json = nlohmann::ordered_json::object();
  for (const SplitResult& r : results) {
    nlohmann::ordered_json j;
    j["dataset"] = r.dataset_name;
    j["num_datapoints"] = r.num_datapoints;
    j["mutual_information_upper_bound_log_n"] = std::log(static_cast<double>(r.num_datapoints));
    j["mean_kl_to_prior"] = r.aggregate->mean_kl_to_prior();
    j["mean_kl_to_prior_per_unit"] = to_json_vector(r.mean_kl_per_unit);
    j["active_units"] = to_json(r.units);
    j["component_standard_deviation_range"] = {r.aggregate->standard_deviation().minCoeff(),
                                               r.aggregate->standard_deviation().maxCoeff()};
    for (const auto* dec : {r.quadrature ? &*r.quadrature : nullptr, r.monte_carlo ? &*r.monte_carlo : nullptr}) {
      if (dec == nullptr) continue;
      j[dec->method == "quadrature" ? "quadrature" : "monte_carlo"] = to_json(*dec);
      std::printf("| %-5s | %6lld | %-11s | %s | %s | %s | %s | %s | %3lld/%-2lld |\n", r.split.c_str(),
                  static_cast<long long>(r.num_datapoints), dec->method.c_str(),
                  pad(with_error(dec->mean_kl_to_prior, 0.0), 21).c_str(),
                  pad(with_error(dec->mutual_information.value, dec->mutual_information.error), 20).c_str(),
                  pad(with_error(dec->aggregate_kl_to_prior.value, dec->aggregate_kl_to_prior.error), 20).c_str(),
                  pad(format("%.1e", dec->identity_residual.value) + " ± " + format("%.1e", dec->identity_residual.error), 19)
                      .c_str(),
                  pad(with_error(dec->aggregate_entropy.value, dec->aggregate_entropy.error), 20).c_str(),
                  static_cast<long long>(r.units.count), static_cast<long long>(latent_dim));
    }
    if (latent_dim == 2) {
      nlohmann::ordered_json rows = nlohmann::ordered_json::array();
      for (Index b = 0; b < grid_y.size(); ++b)
        rows.push_back(to_json_vector(r.log_density_on_picture_grid.col(b)));
      j["picture_log_density"] = std::move(rows);
    }
    split_json[r.split] = std::move(j);
  }
  std::printf("\nErrors: quadrature rows give the quadrature's own error estimate, Monte Carlo rows one standard error. "
              "I[n;z] <= log N (%s). Active: units with Cov_x(E_q[z_j|x]) > %g.\n",
              [&] {
                std::string s;
                for (const SplitResult& r : results)
                  s += (s.empty() ? "" : ", ") + r.split + " " + format("%.3f", std::log(static_cast<double>(r.num_datapoints)));
                return s;
              }()
                  .c_str(),
              active_threshold);
  for (const SplitResult& r : results) {
    std::printf("%s activity per unit:", r.split.c_str());
    for (Index u = 0; u < r.units.activity.size(); ++u) std::printf(" %.3g", r.units.activity(u));
    std::printf("\n");
  }

  nlohmann::ordered_json& json_results = document["results"];
  json_results["splits"] = std::move(split_json);
  if (latent_dim == 2)
    json_results["picture_grid"] = {{"z1", to_json_vector(grid_x)},
                                    {"z2", to_json_vector(grid_y)},
                                    {"layout", "splits.<split>.picture_log_density[j][i] is the log of q's mean density over "
                                               "the cell centred on (z1[i], z2[j]) (exact cell mass / cell area)"}};

  const std::string title = "Aggregate posterior of " + std::filesystem::path(checkpoint).filename().string() + " (" +
                            data.dataset + ")";
  const std::string svg = latent_dim == 2 ? draw_density_picture(results, grid_x, grid_y, title)
                                          : draw_activity_picture(results, title);
  write_picture_and_result(picture, svg, common.out, document);
  std::printf("picture: %s\nresults: %s\n", picture.c_str(), common.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_binary("vigap-aggregate-posterior", [&] { return aggregate_posterior_main(argc, argv); });
}
