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
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

#include "core/io/format_number.hpp"
#include "analyses/aggregate_posterior_report.hpp"
#include "core/data/dataset.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"
#include "core/io/model_loader.hpp"
#include "core/progress_reporter.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/dataset_options.hpp"
#include "experiments/support/evaluation_data.hpp"
#include "experiments/support/picture_and_result.hpp"
#include "experiments/support/svg_plot.hpp"
#include "distributed/seed_replicates.hpp"

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


/// A 2-D picture: one panel of log q(z) per split and one of log p(z), on one grid and one color scale.
std::string draw_density_picture(const AggregatePosteriorReport& report, const std::string& title) {
  const std::vector<AggregatePosteriorSplitReport>& results = report.splits;
  const VectorD& x = report.picture_z1;
  const VectorD& y = report.picture_z2;
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
  for (const AggregatePosteriorSplitReport& r : results) high = std::max(high, r.picture_log_density.maxCoeff());
  const double span = 12.0, low = high - span;  // 12 nats of color range

  std::vector<std::pair<std::string, const MatrixD*>> fields;
  for (const AggregatePosteriorSplitReport& r : results) fields.emplace_back(r.split, &r.picture_log_density);
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
      const AggregatePosteriorSplitReport& r = results[p];
      const AggregatePosteriorDecomposition& dec = r.decomposition();
      heading = "q(z), " + r.split + " (N = " + std::to_string(r.num_datapoints) + ")";
      doc.text(frame.left, top - 10,
               "KL(q(z)‖p(z)) = " + format_number("%.3f", dec.aggregate_kl_to_prior.value) + ", I[n;z] = " +
                   format_number("%.3f", dec.mutual_information.value) + " nats",
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
    doc.text(bx + bar_width + 4, top + panel - k * panel / 4.0 + 4, format_number("%.1f", v), 10);
  }
  doc.text(bx, top - 10, "log density", 10);
  return doc.str();
}

/// Bars of per-unit activity (log10 scale) per split with the threshold, and per-unit mean KL.
std::string draw_activity_picture(const AggregatePosteriorReport& report, const std::string& title) {
  const std::vector<AggregatePosteriorSplitReport>& results = report.splits;
  const Index d = results.front().units.activity.size();
  const double left = 80, top = 90, plot_height = 260, row_gap = 90;
  const double group = std::max(18.0, 24.0 * static_cast<double>(results.size()));
  const double plot_width = std::max(300.0, group * static_cast<double>(d));
  svg::Document doc(left + plot_width + 220, top + 2 * plot_height + row_gap + 60);
  doc.text(14, 24, title, 16, "start", 0.0, "#000000", "bold");
  std::string summary;
  for (const AggregatePosteriorSplitReport& r : results) {
    const AggregatePosteriorDecomposition& dec = r.decomposition();
    summary += (summary.empty() ? "" : ";   ") + r.split + " (N = " + std::to_string(r.num_datapoints) +
               "): KL(q(z)‖p(z)) = " + format_number("%.3f", dec.aggregate_kl_to_prior.value) + ", I[n;z] = " +
               format_number("%.3f", dec.mutual_information.value) + " (log N = " +
               format_number("%.3f", std::log(static_cast<double>(r.num_datapoints))) + ") nats";
  }
  doc.text(14, 44, summary, 12, "start", 0.0, "#333333");
  const double bar = (group - 6) / static_cast<double>(results.size());
  // Activity on a log scale, floored at 1e-6.
  double high = 1e-2, low_floor = 1e-6;
  for (const AggregatePosteriorSplitReport& r : results) high = std::max(high, r.units.activity.maxCoeff());
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
  for (const AggregatePosteriorSplitReport& r : results) kl_high = std::max(kl_high, r.mean_kl_to_prior_per_unit.maxCoeff());
  k.y_min = 0;
  k.y_max = kl_high * 1.1;
  doc.text(left, k.top - 14, "mean over x of KL(q(z_j|x) ‖ p(z_j)) per unit j (nats)", 13);
  for (size_t s = 0; s < results.size(); ++s)
    for (Index j = 0; j < d; ++j) {
      const double v = results[s].mean_kl_to_prior_per_unit(j);
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

/// The command line of vigap-aggregate-posterior: the report's options and the binary's own.
struct AggregatePosteriorCommandLine {
  CommonOptions common;
  DatasetOptions data;
  AggregatePosteriorReportOptions options;
  std::string checkpoint, splits_text = "test,train", method = "auto", binarization_override,
                          picture = "aggregate_posterior.svg";
  Index num_datapoints = 0;
};

/// Parses and validates the command line; false after --help.
bool parse_aggregate_posterior_command_line(int argc, char** argv, AggregatePosteriorCommandLine& c) {
  AggregatePosteriorReportOptions& o = c.options;
  AggregateQuadratureOptions& quadrature = o.quadrature;
  AggregateMonteCarloOptions& monte_carlo = o.monte_carlo;
  po::options_description d("Options");
  add_common_options(d, c.common, "aggregate_posterior.json", true);
  add_dataset_options(d, c.data);
  d.add_options()
      ("checkpoint", po::value(&c.checkpoint)->required(), "VAE checkpoint (safetensors) with a Gaussian encoder (no flow)")
      ("splits", po::value(&c.splits_text)->default_value(c.splits_text), "comma-separated splits: test, train")
      ("num-datapoints", po::value(&c.num_datapoints)->default_value(c.num_datapoints),
       "the first N datapoints of each split (0: all; else >= 2)")
      ("method", po::value(&c.method)->default_value(c.method),
       "auto (latent dim <= 2: quadrature with a Monte Carlo check; else Monte Carlo), quadrature or monte-carlo")
      ("binarization", po::value(&c.binarization_override)->default_value(""),
       "dynamic, threshold or none (default: as the checkpoint was trained)")
      ("picture", po::value(&c.picture)->default_value(c.picture), "path of the SVG picture")
      ("picture-grid-nodes", po::value(&o.picture_grid_nodes)->default_value(o.picture_grid_nodes),
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
      ("active-threshold", po::value(&o.active_threshold)->default_value(o.active_threshold),
       "a unit is active if Cov_x(E_q[z_j|x]) exceeds this (Burda et al. 2015: 0.01)");
  if (!parse_command_line(argc, argv, "vigap-aggregate-posterior",
                          "Compares the aggregate posterior q(z) = mean_n q(z|x_n) with the prior p(z): KL(q(z)||p(z)), "
                          "I[n;z], the Hoffman-Johnson identity, active units, and a picture.",
                          d, c.common))
    return false;
  parse_splits(c.splits_text);
  o.method = parse_aggregate_posterior_method(c.method, "--method");
  if (c.num_datapoints < 0 || c.num_datapoints == 1)
    throw std::invalid_argument("--num-datapoints must be 0 (all) or >= 2, found " + std::to_string(c.num_datapoints));
  o.validate();
  return true;
}

/// Each split of the dataset, checked against the checkpoint and --num-datapoints (bad input
/// fails before any work).
std::vector<Dataset> load_splits(const DatasetOptions& data, const std::vector<std::string>& splits, Index data_dim,
                                 Index num_datapoints) {
  std::vector<Dataset> datasets;
  for (const std::string& split : splits) {
    datasets.push_back(load_dataset(data, split));
    const Dataset& dataset = datasets.back();
    if (dataset.dimension() != data_dim)
      throw std::invalid_argument("dataset " + dataset.name + " has dimension " + std::to_string(dataset.dimension()) +
                                  ", the checkpoint's model expects " + std::to_string(data_dim));
    if (dataset.size() < 2)
      throw std::invalid_argument("dataset " + dataset.name + " (" + split + ") has fewer than 2 datapoints");
    if (num_datapoints > dataset.size())
      throw std::invalid_argument("--num-datapoints " + std::to_string(num_datapoints) +
                                  " asks for more datapoints than the " + split + " split of " + dataset.name +
                                  " has: " + std::to_string(dataset.size()) + " exist (0: all of them)");
  }
  return datasets;
}

int aggregate_posterior_main(int argc, char** argv) {
  AggregatePosteriorCommandLine c;
  if (!parse_aggregate_posterior_command_line(argc, argv, c)) return 0;
  const CommonOptions& common = c.common;
  const std::string& checkpoint = c.checkpoint;
  const std::vector<std::string> splits = parse_splits(c.splits_text);
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(common.out);
  check_writable_output_path(c.picture);

  const LoadedModel loaded = load_model(checkpoint);
  const AmortizedApproximation& q = loaded.require_gaussian_amortized(
      "vigap-aggregate-posterior",
      "the aggregate posterior is computed for diagonal Gaussian encoders only (the aggregate of flow posteriors is not "
      "separable on a grid and its density costs N flow inversions per point)");
  const Index latent_dim = loaded.generative_model().latent_dim();
  if (c.options.method == AggregatePosteriorMethod::quadrature && latent_dim > 2)
    throw std::invalid_argument("--method quadrature needs latent dimension <= 2; " + checkpoint + " has latent dimension " +
                                std::to_string(latent_dim) + " (use --method monte-carlo or auto)");
  const EvaluationBinarization binarization =
      evaluation_binarization(loaded.metadata, c.binarization_override, "checkpoint " + checkpoint);
  const std::vector<Dataset> datasets = load_splits(c.data, splits, loaded.generative_model().data_dim(), c.num_datapoints);

  nlohmann::ordered_json configuration;
  configuration["checkpoint"] = checkpoint;
  configuration["architecture"] = loaded.architecture;
  configuration["checkpoint_metadata"] = loaded.metadata;
  configuration["splits"] = splits;
  configuration["num_datapoints_requested"] = c.num_datapoints;
  configuration["datapoints"] = "the first N of each split, binarized as every binary does (fixed evaluation seed)";
  configuration["binarization"] = binarization.name;
  configuration["evaluation_binarization_seed"] = kEvaluationBinarizationSeed;
  configuration.update(c.options.to_json());
  configuration["threads"] = common.threads;
  nlohmann::ordered_json dataset_json = nlohmann::ordered_json::object();
  for (size_t s = 0; s < splits.size(); ++s) dataset_json[splits[s]] = dataset_identity(datasets[s], splits[s]);
  nlohmann::ordered_json document =
      make_result_document("aggregate_posterior", configuration, dataset_json, common.seed);

  std::printf("%s; %s\n", loaded.generative_model().describe().c_str(), q.describe().c_str());
  // The encoder's q(z|x) on the first N datapoints of each split.
  std::vector<EncodedSplit> encoded;
  nlohmann::ordered_json encoder_seconds = nlohmann::ordered_json::object();
  const ProgressReporter progress;
  for (size_t s = 0; s < splits.size(); ++s) {
    const Index count = c.num_datapoints == 0 ? datasets[s].size() : c.num_datapoints;
    const auto start = std::chrono::steady_clock::now();
    progress.update("aggregate-posterior: " + splits[s] + ": encoding " + std::to_string(count) + " datapoints");
    const MatrixF binary = binarize_evaluation_set(datasets[s].images, binarization);
    const MatrixF X = binary.leftCols(count);
    encoded.push_back({splits[s], datasets[s].name, q.gaussian_base(X)});
    encoder_seconds[splits[s]] = seconds_since(start);
  }
  progress.finish();
  Rng rng(common.seed);
  const AggregatePosteriorReport report = compute_aggregate_posterior_report(encoded, c.options, rng, progress);
  const nlohmann::ordered_json report_timings = report.timings_json();
  nlohmann::ordered_json& timings = document["timings"];
  for (const std::string& split : splits) {
    timings[split]["encoder_seconds"] = encoder_seconds[split];
    if (report_timings.contains(split)) timings[split].update(report_timings[split]);
  }
  document["results"] = report.results_json();
  std::printf("\n%s", report.to_markdown().c_str());

  const std::string title = "Aggregate posterior of " + std::filesystem::path(checkpoint).filename().string() + " (" +
                            c.data.dataset + ")";
  const std::string svg = latent_dim == 2 ? draw_density_picture(report, title) : draw_activity_picture(report, title);
  write_picture_and_result(c.picture, svg, common.out, document);
  std::printf("picture: %s\nresults: %s\n", c.picture.c_str(), common.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // --seeds: the study once per seed, summarized across seeds (distributed/seed_replicates.hpp).
  const ReplicatedBinary binary{"vigap-aggregate-posterior",
                                {{"--out", "aggregate_posterior.json", false},
                                 {"--picture", "aggregate_posterior.svg", false}},
                                /*accepts_resume=*/false, /*validation_only=*/VIGAP_FUZZ_VALIDATION_ONLY};
  return run_binary("vigap-aggregate-posterior", [&] { return run_over_seeds(binary, argc, argv, aggregate_posterior_main); });
}
