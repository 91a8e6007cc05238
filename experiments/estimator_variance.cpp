// vigap-estimator-variance: is a single-sample ELBO estimate good enough? For a trained VAE and N
// test datapoints, with R independent replicates per datapoint (estimate_gradient_variance):
//   vs S (ELBO samples): the variance of the ELBO estimate (analytic KL and Monte Carlo KL), and
//     the total variance tr Cov and signal-to-noise ratio of its gradient for the encoder φ
//     (reparameterized with either KL form, and sticking the landing, Roeder et al. 2017) and the
//     decoder θ (the same for all three: only log p(x|z) depends on θ);
//   vs K (IWAE importance samples): the gradient SNR |E ĝ_i| / sd(ĝ_i), averaged over parameters, for
//     the encoder (reparameterized, STL, doubly reparameterized (DReG), Tucker et al. 2018) and the
//     decoder, to compare with Rainforth et al. (2018): encoder SNR O(1/sqrt(K)), decoder O(sqrt(K)).
// Within one S (or K) every estimator sees the same noise (common random numbers). The study is
// analyses/estimator_variance_study; this binary loads, calls it and writes Markdown tables on
// stdout, the JSON result, and a three-panel log-log SVG picture.
// Under `mpirun -np N` the datapoints are handed out in blocks (--block-size) to every rank and
// rank 0 writes the one JSON and picture, with the same `results`; each finished block is
// journaled in <out>.journal, and --resume after a crash computes only the blocks missing there.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "analyses/estimator_variance_block.hpp"
#include "analyses/estimator_variance_study.hpp"
#include "analyses/run_cost_forecast.hpp"
#include "core/io/format_number.hpp"
#include "core/data/dataset.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"
#include "core/io/model_loader.hpp"
#include "core/progress_reporter.hpp"
#include "distributed/datapoint_block_run.hpp"
#include "distributed/mpi_session.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/dataset_options.hpp"
#include "experiments/support/evaluation_data.hpp"
#include "experiments/support/picture_and_result.hpp"
#include "experiments/support/svg_plot.hpp"
#include "distributed/seed_replicates.hpp"

namespace po = boost::program_options;
using namespace vigap;

namespace {


// ---- The picture: three log-log panels. ----

/// One curve of a panel: values (with ± standard errors) at the sample counts.
struct Curve {
  std::string label, color, dash;
  std::vector<double> values, errors;
};

/// "1", "10", "0.01", "1e+05": a power of ten compactly.
std::string power_label(int k) {
  if (k >= -2 && k <= 4) return format_number("%g", std::pow(10.0, k));
  return "1e" + std::to_string(k);
}

/// A dotted reference line of slope `slope` (in log-log) through the first point of curve `curve`.
struct ReferenceSlope {
  double slope;
  std::string label;
  size_t curve;
};

/// A log-log panel at (left, top): axes with ticks at powers of ten (and 2, 5 times them when the
/// range spans less than two decades), ±1 s.e. bars, dotted reference slopes, an optional dashed
/// horizontal line at `floor` (when > 0), the curves, a legend and a title.
void draw_log_log_panel(svg::Document& doc, double left, double top, double width, double height,
                        const std::string& title, const std::string& x_label, const std::string& y_label,
                        const std::vector<Index>& xs, const std::vector<Curve>& curves,
                        const std::vector<ReferenceSlope>& reference_slopes, double floor = 0.0,
                        const std::string& floor_label = "") {
  double y_low = std::numeric_limits<double>::infinity(), y_high = -y_low;
  for (const Curve& c : curves)
    for (double v : c.values)
      if (v > 0 && std::isfinite(v)) y_low = std::min(y_low, std::log10(v)), y_high = std::max(y_high, std::log10(v));
  if (!std::isfinite(y_low)) y_low = 0, y_high = 1;
  if (floor > 0) y_low = std::min(y_low, std::log10(floor));
  if (y_high - y_low < 0.5) y_low -= 0.25, y_high += 0.25;
  const double y_pad = 0.08 * (y_high - y_low);
  svg::Frame f;
  f.left = left;
  f.top = top;
  f.width = width;
  f.height = height;
  f.x_min = std::log10(static_cast<double>(xs.front())) - 0.1;
  f.x_max = std::log10(static_cast<double>(xs.back())) + 0.1;
  if (f.x_max - f.x_min < 0.5) f.x_min -= 0.25, f.x_max += 0.25;
  f.y_min = y_low - y_pad;
  f.y_max = y_high + y_pad;

  doc.text(left + width / 2, top - 10, title, 14, "middle", 0.0, "#000000", "bold");
  doc.rect(f.left, f.top, f.width, f.height, "none", "#333333", 1.0);
  const auto ticks = [](double low, double high) {
    std::vector<std::pair<double, std::string>> t;
    const bool minor = high - low < 2.0;
    for (int k = static_cast<int>(std::floor(low)); k <= static_cast<int>(std::ceil(high)); ++k)
      for (double m : minor ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
        const double at = k + std::log10(m);
        if (at >= low && at <= high) t.emplace_back(at, m == 1 ? power_label(k) : format_number("%g", m * std::pow(10.0, k)));
      }
    return t;
  };
  const double bottom = f.top + f.height;
  for (const auto& [at, label] : ticks(f.x_min, f.x_max)) {
    doc.line(f.px(at), bottom, f.px(at), bottom + 5, "#333333");
    doc.line(f.px(at), f.top, f.px(at), bottom, "#e4e4e4", 0.8);
    doc.text(f.px(at), bottom + 17, label, 11, "middle");
  }
  for (const auto& [at, label] : ticks(f.y_min, f.y_max)) {
    doc.line(f.left - 5, f.py(at), f.left, f.py(at), "#333333");
    doc.line(f.left, f.py(at), f.left + f.width, f.py(at), "#e4e4e4", 0.8);
    doc.text(f.left - 8, f.py(at) + 4, label, 11, "end");
  }
  doc.text(f.left + f.width / 2, bottom + 34, x_label, 13, "middle", 0.0, "#000000", "italic");
  doc.text(f.left - 52, f.top + f.height / 2, y_label, 13, "middle", -90.0, "#000000", "italic");

  doc.begin_clip(f.left, f.top, f.width, f.height);
  for (const ReferenceSlope& r : reference_slopes) {
    if (r.curve >= curves.size() || !(curves[r.curve].values.front() > 0)) continue;
    const double x0 = std::log10(static_cast<double>(xs.front())), y0 = std::log10(curves[r.curve].values.front());
    const double x1 = std::log10(static_cast<double>(xs.back())), y1 = y0 + r.slope * (x1 - x0);
    doc.line(f.px(x0), f.py(y0), f.px(x1), f.py(y1), "#888888", 1.2, "2,3");
    doc.text(f.px(x1) - 4, f.py(y1) + (r.slope > 0 ? 14 : -6), r.label, 11, "end", 0.0, "#666666");
  }
  if (floor > 0) {
    doc.line(f.left, f.py(std::log10(floor)), f.left + f.width, f.py(std::log10(floor)), "#aaaaaa", 1.0, "8,4");
    doc.text(f.left + 4, f.py(std::log10(floor)) - 4, floor_label, 10, "start", 0.0, "#777777");
  }
  for (const Curve& c : curves) {
    std::vector<std::pair<double, double>> points;
    for (size_t i = 0; i < xs.size(); ++i) {
      const double v = c.values[i];
      if (!(v > 0) || !std::isfinite(v)) continue;
      const double x = std::log10(static_cast<double>(xs[i]));
      points.emplace_back(x, std::log10(v));
      const double e = c.errors[i];
      if (std::isfinite(e) && e > 0) {
        const double lo = v - e > 0 ? std::log10(v - e) : f.y_min, hi = std::log10(v + e);
        doc.line(f.px(x), f.py(lo), f.px(x), f.py(hi), c.color, 1.2);
      }
      doc.circle(f.px(x), f.py(std::log10(v)), 3.0, c.color);
    }
    doc.polyline(svg::to_pixels(f, points), c.color, 2.0, false, c.dash);
  }
  doc.end_clip();
  double ly = bottom + 56;
  for (const Curve& c : curves) {
    svg::draw_legend_entry(doc, left, ly, c.color, c.dash, c.label);
    ly += 17;
  }
}

const char* kEncoderColor = "#1f5fbf";
const char* kEncoderAltColor = "#7fa8e0";
const char* kStlColor = "#2a9d4b";
const char* kDregColor = "#8e44ad";
const char* kDecoderColor = "#c0392b";

Curve gradient_curve(const EstimatorVarianceSweep& sweep, size_t variant, const Estimate GradientStatistics::*field,
                     bool decoder, const std::string& label, const std::string& color, const std::string& dash = "") {
  return Curve{label, color, dash, sweep.gradient_values(variant, field, decoder, false),
               sweep.gradient_values(variant, field, decoder, true)};
}

/// The three panels of a study: Var[ELBO] and tr Cov of the gradients against S, the IWAE
/// gradient SNR against K (when that sweep ran).
std::string draw_picture(const EstimatorVarianceStudy& study, const std::string& title) {
  const EstimatorVarianceSweep& elbo = study.elbo;
  const EstimatorVarianceSweep& iwae = study.iwae;
  const std::vector<Index>& samples = elbo.counts;
  const std::vector<Index>& ks = iwae.counts;
  const double panel_width = 330, panel_height = 270, gap = 110, left = 90, top = 70;
  const bool have_iwae = !ks.empty();
  const int panels = have_iwae ? 3 : 2;
  svg::Document doc(left + panels * panel_width + (panels - 1) * gap + 30, top + panel_height + 150);
  doc.rect(0, 0, doc.width(), doc.height(), "#ffffff");
  doc.text(doc.width() / 2, 24, title, 15, "middle", 0.0, "#000000", "bold");

  draw_log_log_panel(doc, left, top, panel_width, panel_height, "Variance of the ELBO estimate", "S (samples)",
                     "Var[ELBO estimate] (nats²)", samples,
                     {Curve{"analytic KL", kEncoderColor, "", elbo.objective_variances(0, false),
                            elbo.objective_variances(0, true)},
                      Curve{"Monte Carlo KL", kEncoderAltColor, "6,4", elbo.objective_variances(1, false),
                            elbo.objective_variances(1, true)}},
                     {{-1.0, "1/S", 0}});
  const double left2 = left + panel_width + gap;
  draw_log_log_panel(doc, left2, top, panel_width, panel_height, "ELBO gradient: total variance tr Cov",
                     "S (samples)", "tr Cov[gradient]", samples,
                     {gradient_curve(elbo, 0, &GradientStatistics::total_variance, false,
                                     "encoder, reparam., analytic KL", kEncoderColor),
                      gradient_curve(elbo, 1, &GradientStatistics::total_variance, false,
                                     "encoder, reparam., Monte Carlo KL", kEncoderAltColor, "6,4"),
                      gradient_curve(elbo, 2, &GradientStatistics::total_variance, false,
                                     "encoder, sticking the landing", kStlColor),
                      gradient_curve(elbo, 0, &GradientStatistics::total_variance, true, "decoder", kDecoderColor)},
                     {{-1.0, "1/S", 0}});
  if (have_iwae) {
    const double left3 = left2 + panel_width + gap;
    draw_log_log_panel(doc, left3, top, panel_width, panel_height,
                       "IWAE-K gradient SNR (" + std::to_string(study.iwae_datapoints) + " test points)",
                       "K (importance samples)", "SNR |E g| / sd(g), mean over parameters", ks,
                       {gradient_curve(iwae, 0, &GradientStatistics::mean_snr, false, "encoder, reparameterized",
                                       kEncoderColor),
                        gradient_curve(iwae, 1, &GradientStatistics::mean_snr, false, "encoder, STL (biased)",
                                       kStlColor, "6,4"),
                        gradient_curve(iwae, 2, &GradientStatistics::mean_snr, false, "encoder, DReG", kDregColor),
                        gradient_curve(iwae, 0, &GradientStatistics::mean_snr, true, "decoder", kDecoderColor)},
                       {{0.5, "√K", 3}, {-0.5, "1/√K", 0}}, study.snr_noise_floor, "noise floor of the SNR estimate");
  }
  return doc.str();
}

/// The binary's own options (the study's are in EstimatorVarianceStudyOptions).
struct Arguments {
  CommonOptions common;
  DatasetOptions data;
  EstimatorVarianceStudyOptions study;
  BlockRunSettings blocks;
  std::string checkpoint, samples_text = "1,2,5,10,50,100", iwae_text = "1,5,10,50,100,1000",
                          picture = "estimator_variance.svg";
  Index num_datapoints = 100, first_datapoint = 0;
  bool per_datapoint = false;
};

/// Parses and checks the command line; false after --help or --version.
bool parse_arguments(int argc, char** argv, Arguments& a) {
  po::options_description d("Options");
  add_common_options(d, a.common, "estimator_variance.json", true);
  add_dataset_options(d, a.data);
  add_block_run_options(d, a.blocks);
  d.add_options()
      ("checkpoint", po::value(&a.checkpoint)->required(), "VAE checkpoint (safetensors) written by vigap-train")
      ("num-datapoints", po::value(&a.num_datapoints)->default_value(a.num_datapoints), "test datapoints (>= 1)")
      ("first-datapoint", po::value(&a.first_datapoint)->default_value(a.first_datapoint), "index of the first one")
      ("samples", po::value(&a.samples_text)->default_value(a.samples_text),
       "comma-separated ELBO sample counts S (increasing, >= 1)")
      ("iwae-samples", po::value(&a.iwae_text)->default_value(a.iwae_text),
       "comma-separated IWAE sample counts K (increasing, >= 1; 'none' skips the IWAE sweep)")
      ("iwae-num-datapoints", po::value(&a.study.iwae_datapoints)->default_value(a.study.iwae_datapoints),
       "datapoints of the IWAE sweep: the first ones of the ELBO sweep's (0: all of them; K = 1000 costs as much "
       "as the whole ELBO sweep per datapoint)")
      ("replicates", po::value(&a.study.replicates)->default_value(a.study.replicates),
       "R, independent replicates of each estimate per datapoint (>= 4)")
      ("picture", po::value(&a.picture)->default_value(a.picture), "path of the SVG picture")
      ("per-datapoint", po::bool_switch(&a.per_datapoint), "write every datapoint's value to the JSON");
  if (!parse_command_line(argc, argv, "vigap-estimator-variance",
                          "Variance of the ELBO estimate and of its encoder/decoder gradients against S, and the "
                          "gradient SNR of IWAE-K against K (with sticking-the-landing and DReG).",
                          d, a.common))
    return false;
  a.study.elbo_samples = parse_size_list(a.samples_text, "--samples");
  a.study.iwae_samples = parse_size_list(a.iwae_text, "--iwae-samples");
  a.study.validate();
  if (a.num_datapoints < 1)
    throw std::invalid_argument("--num-datapoints must be >= 1, found " + std::to_string(a.num_datapoints));
  if (a.first_datapoint < 0)
    throw std::invalid_argument("--first-datapoint must be >= 0, found " + std::to_string(a.first_datapoint));
  validate(a.blocks);
  return true;
}

int estimator_variance_main(int argc, char** argv) {
  Arguments a;
  if (!parse_arguments(argc, argv, a)) return 0;
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(a.common.out);
  check_writable_output_path(a.picture);

  const LoadedModel loaded = load_model(a.checkpoint);
  const std::string why = "the gradient study differentiates the encoder's Gaussian q(z|x) (vae_objective), and its "
                          "objectives of a flow posterior are not implemented for every estimator (STL, DReG)";
  loaded.require_gaussian_amortized("vigap-estimator-variance", why);
  const TrainableEncoder& encoder = loaded.require_trainable_encoder("vigap-estimator-variance", why);
  const TrainableDecoder& decoder = loaded.require_trainable_decoder("vigap-estimator-variance", why);
  Dataset dataset = load_dataset(a.data, "test");
  const EvaluationBinarization binarization = evaluation_binarization(loaded.metadata, "", "checkpoint " + a.checkpoint);
  const MatrixF X = evaluation_slice(dataset, decoder.data_dim(), binarization, a.first_datapoint, a.num_datapoints);

  nlohmann::ordered_json configuration;
  configuration["checkpoint"] = a.checkpoint;
  configuration["architecture"] = loaded.architecture;
  configuration["checkpoint_metadata"] = loaded.metadata;
  configuration["binarization"] = binarization.name;
  configuration["evaluation_binarization_seed"] = kEvaluationBinarizationSeed;
  configuration["split"] = "test";
  configuration["first_datapoint"] = a.first_datapoint;
  configuration["num_datapoints"] = X.cols();
  configuration.update(a.study.to_json(X.cols()));
  configuration["threads"] = a.common.threads;
  const nlohmann::ordered_json dataset_json = dataset_identity(dataset, "test");

  // Blocks of datapoints, spread over the MPI ranks (or one after another here), journaled.
  const DatapointBlocks plan{a.first_datapoint, X.cols(), a.blocks.block_size};
  // The run's cost, before it starts: every rank times the decoder at once, as the run will load
  // the machine; rank 0's forecast is printed and goes to "execution", never `results`.
  mpi_barrier();
  const RunCostForecast forecast = forecast_run_cost(
      loaded.generative_model(), X, estimator_variance_run_cost(a.study, X.cols()), mpi_place().size,
      plan.num_blocks(), a.blocks.block_size);
  if (mpi_place().rank == 0 && forecast.worth_printing(false))
    std::fputs(forecast.summary("vigap-estimator-variance").c_str(), stderr);
  const Index iwae_count = a.study.iwae_count(X.cols());
  const auto compute_block = [&](Index first, Index count) {
    // Draws for test point i are keyed by (--seed, i, purpose, substream): the same in any block.
    const RandomStreams streams = RandomStreams::consecutive(a.common.seed, static_cast<std::uint64_t>(first), count);
    const Index iwae_datapoints = iwae_datapoints_of_block(a.first_datapoint, iwae_count, first, count);
    // Quiet inside a block: the run shows datapoints done across ranks instead.
    return compute_estimator_variance_block(encoder, decoder, X.middleCols(first - a.first_datapoint, count), a.study,
                                            streams, first, iwae_datapoints)
        .to_json();
  };
  const std::string journal = journal_path(a.common.out);
  BlockRunReport report;
  const nlohmann::ordered_json identity = block_run_identity("vigap-estimator-variance", a.common.seed, configuration,
                                                             a.checkpoint, dataset_json, X, plan);
  const auto parts = run_datapoint_blocks_as<EstimatorVarianceBlock>(
      plan, a.blocks, journal, identity, "estimator-variance", compute_block, estimator_variance_block_from_json, &report);
  if (!parts) return 0;  // another rank than 0: rank 0 writes the result
  const EstimatorVarianceStudy study = assemble_estimator_variance_study(*parts);

  nlohmann::ordered_json document =
      make_result_document("estimator_variance", configuration, dataset_json, a.common.seed);
  document["results"] = study.results_json(a.per_datapoint);
  document["timings"] = study.timings_json();
  document["execution"] = report.to_json();
  document["execution"]["cost"] = forecast.to_json();

  std::printf("%s on %lld test datapoints of %s (from #%lld), R = %lld replicates per datapoint\n%s",
              study.model.c_str(), static_cast<long long>(X.cols()), dataset.name.c_str(),
              static_cast<long long>(a.first_datapoint), static_cast<long long>(study.replicates),
              study.to_markdown().c_str());
  const std::string svg = draw_picture(
      study, "Estimator variance of " + std::filesystem::path(a.checkpoint).filename().string() + " (" + dataset.name +
                 ", " + std::to_string(X.cols()) + " test points, R = " + std::to_string(study.replicates) + ")");
  write_picture_and_result(a.picture, svg, a.common.out, document);
  remove_journal(journal);
  std::printf("picture: %s\nresults: %s\n", a.picture.c_str(), a.common.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // --seeds: the study once per seed, summarized across seeds (distributed/seed_replicates.hpp).
  const ReplicatedBinary binary{"vigap-estimator-variance",
                                {{"--out", "estimator_variance.json", false},
                                 {"--picture", "estimator_variance.svg", false}},
                                /*accepts_resume=*/true, /*validation_only=*/VIGAP_FUZZ_VALIDATION_ONLY};
  return run_distributable_binary("vigap-estimator-variance", [&] { return run_over_seeds(binary, argc, argv, estimator_variance_main); });
}
