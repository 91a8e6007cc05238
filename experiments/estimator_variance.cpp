// vigap-estimator-variance: is a single-sample ELBO estimate good enough? For a trained VAE and N
// test datapoints, with R independent replicates per datapoint (estimate_gradient_variance):
//   vs S (ELBO samples): the variance of the ELBO estimate (analytic KL and Monte Carlo KL), and
//     the total variance tr Cov and signal-to-noise ratio of its gradient for the encoder φ
//     (reparameterized with either KL form, and sticking the landing, Roeder et al. 2017) and the
//     decoder θ (the same for all three: only log p(x|z) depends on θ);
//   vs K (IWAE importance samples): the gradient SNR |E ĝ_i| / sd(ĝ_i), averaged over parameters, for
//     the encoder (reparameterized, STL, doubly reparameterized (DReG), Tucker et al. 2018) and the
//     decoder, to compare with Rainforth et al. (2018): encoder SNR O(1/sqrt(K)), decoder O(sqrt(K)).
// Within one S (or K) every estimator sees the same noise (common random numbers). Markdown tables
// on stdout, the JSON result, and a three-panel log-log SVG picture.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "core/data/dataset.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"
#include "core/io/vae_checkpoint.hpp"
#include "core/progress_reporter.hpp"
#include "estimators/gradient_variance.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/dataset_options.hpp"
#include "experiments/support/evaluation_data.hpp"
#include "core/io/markdown_table.hpp"
#include "experiments/support/picture_and_result.hpp"
#include "experiments/support/svg_plot.hpp"

namespace po = boost::program_options;
using namespace vigap;

namespace {

/// One estimator of the study: its key in the JSON, label, objective and which gradients it measures.
struct Variant {
  std::string key, label;
  TrainingObjective objective;
  KlEstimator kl;
  EncoderGradient gradient;
  bool decoder;
};

const std::vector<Variant> kElboVariants{
    {"elbo_analytic_kl", "ELBO, analytic KL, reparameterized", TrainingObjective::elbo, KlEstimator::analytic,
     EncoderGradient::reparameterized, true},
    {"elbo_monte_carlo_kl", "ELBO, Monte Carlo KL, reparameterized", TrainingObjective::elbo, KlEstimator::monte_carlo,
     EncoderGradient::reparameterized, false},
    {"elbo_stl", "ELBO, Monte Carlo KL, sticking the landing", TrainingObjective::elbo, KlEstimator::monte_carlo,
     EncoderGradient::sticking_the_landing, false}};

const std::vector<Variant> kIwaeVariants{
    {"iwae_reparameterized", "IWAE, reparameterized", TrainingObjective::iwae, KlEstimator::monte_carlo,
     EncoderGradient::reparameterized, true},
    {"iwae_stl", "IWAE, sticking the landing (biased)", TrainingObjective::iwae, KlEstimator::monte_carlo,
     EncoderGradient::sticking_the_landing, false},
    {"iwae_dreg", "IWAE, doubly reparameterized", TrainingObjective::iwae, KlEstimator::monte_carlo,
     EncoderGradient::doubly_reparameterized, false}};

/// The results of one sweep: results[i][v] for sample count i and variant v.
using Sweep = std::vector<std::vector<GradientVarianceResult>>;

Sweep run_sweep(const GaussianEncoder& encoder, const MlpDecoderModel& decoder, const MatrixF& X,
                const std::vector<Index>& counts, const std::vector<Variant>& variants, Index replicates,
                const RandomStreams& streams, std::uint64_t sweep_id, const ProgressReporter& progress,
                const std::string& letter) {
  Sweep sweep;
  for (Index count : counts) {
    // Substream (sweep, count): the same noise for every variant of this count (common random
    // numbers), per datapoint, whatever the other counts of the list.
    const RandomStreams stream = streams.with_substream((sweep_id << 32) | static_cast<std::uint64_t>(count));
    std::vector<GradientVarianceResult> row;
    for (const Variant& v : variants) {
      progress.update("estimator-variance: " + v.label + ", " + letter + " = " + std::to_string(count) + " (" +
                      std::to_string(X.cols()) + " datapoints x " + std::to_string(replicates) + " replicates)");
      GradientVarianceOptions options;
      options.objective.objective = v.objective;
      options.objective.kl_estimator = v.kl;
      options.objective.samples = count;
      options.objective.encoder_gradient = v.gradient;
      options.replicates = replicates;
      options.decoder_gradient = v.decoder;
      row.push_back(estimate_gradient_variance(encoder, decoder, X, options, stream));
    }
    sweep.push_back(std::move(row));
  }
  progress.finish();
  return sweep;
}

/// Least-squares slope of log y against log x (NaN with fewer than two usable points).
double log_log_slope(const std::vector<Index>& xs, const std::vector<double>& ys) {
  std::vector<std::pair<double, double>> points;
  for (size_t i = 0; i < xs.size(); ++i)
    if (ys[i] > 0.0 && std::isfinite(ys[i])) points.emplace_back(std::log(static_cast<double>(xs[i])), std::log(ys[i]));
  if (points.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  double mx = 0, my = 0;
  for (const auto& [x, y] : points) mx += x, my += y;
  mx /= static_cast<double>(points.size());
  my /= static_cast<double>(points.size());
  double sxy = 0, sxx = 0;
  for (const auto& [x, y] : points) sxy += (x - mx) * (y - my), sxx += (x - mx) * (x - mx);
  return sxx > 0 ? sxy / sxx : std::numeric_limits<double>::quiet_NaN();
}

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

/// "value ± dataset s.e." with three significant digits.
std::string cell(const Estimate& e) {
  return format("%.3g", e.value) + " ± " + format("%.2g", e.dataset_standard_error);
}

// ---- The picture: three log-log panels. ----

/// One curve of a panel: values (with ± standard errors) at the sample counts.
struct Curve {
  std::string label, color, dash;
  std::vector<double> values, errors;
};

/// "1", "10", "0.01", "1e+05": a power of ten compactly.
std::string power_label(int k) {
  if (k >= -2 && k <= 4) return format("%g", std::pow(10.0, k));
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
        if (at >= low && at <= high) t.emplace_back(at, m == 1 ? power_label(k) : format("%g", m * std::pow(10.0, k)));
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

std::vector<double> values_of(const Sweep& sweep, size_t variant, const Estimate GradientStatistics::*field,
                              bool decoder, bool error) {
  std::vector<double> out;
  for (const auto& row : sweep) {
    const GradientStatistics& g = decoder ? row[variant].decoder : row[variant].encoder;
    const Estimate& e = g.*field;
    out.push_back(error ? e.dataset_standard_error : e.value);
  }
  return out;
}

std::vector<double> objective_variance_of(const Sweep& sweep, size_t variant, bool error) {
  std::vector<double> out;
  for (const auto& row : sweep)
    out.push_back(error ? row[variant].objective_variance.dataset_standard_error : row[variant].objective_variance.value);
  return out;
}

Curve gradient_curve(const Sweep& sweep, size_t variant, const Estimate GradientStatistics::*field, bool decoder,
                     const std::string& label, const std::string& color, const std::string& dash = "") {
  return Curve{label, color, dash, values_of(sweep, variant, field, decoder, false),
               values_of(sweep, variant, field, decoder, true)};
}

std::string draw_picture(const Sweep& elbo, const std::vector<Index>& samples, const Sweep& iwae,
                         const std::vector<Index>& ks, const std::string& title, Index iwae_count, double snr_floor) {
  const double panel_width = 330, panel_height = 270, gap = 110, left = 90, top = 70;
  const bool have_iwae = !iwae.empty();
  const int panels = have_iwae ? 3 : 2;
  svg::Document doc(left + panels * panel_width + (panels - 1) * gap + 30, top + panel_height + 150);
  doc.rect(0, 0, doc.width(), doc.height(), "#ffffff");
  doc.text(doc.width() / 2, 24, title, 15, "middle", 0.0, "#000000", "bold");

  draw_log_log_panel(doc, left, top, panel_width, panel_height, "Variance of the ELBO estimate", "S (samples)",
                     "Var[ELBO estimate] (nats²)", samples,
                     {Curve{"analytic KL", kEncoderColor, "", objective_variance_of(elbo, 0, false),
                            objective_variance_of(elbo, 0, true)},
                      Curve{"Monte Carlo KL", kEncoderAltColor, "6,4", objective_variance_of(elbo, 1, false),
                            objective_variance_of(elbo, 1, true)}},
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
                       "IWAE-K gradient SNR (" + std::to_string(iwae_count) + " test points)",
                       "K (importance samples)", "SNR |E g| / sd(g), mean over parameters", ks,
                       {gradient_curve(iwae, 0, &GradientStatistics::mean_snr, false, "encoder, reparameterized",
                                       kEncoderColor),
                        gradient_curve(iwae, 1, &GradientStatistics::mean_snr, false, "encoder, STL (biased)",
                                       kStlColor, "6,4"),
                        gradient_curve(iwae, 2, &GradientStatistics::mean_snr, false, "encoder, DReG", kDregColor),
                        gradient_curve(iwae, 0, &GradientStatistics::mean_snr, true, "decoder", kDecoderColor)},
                       {{0.5, "√K", 3}, {-0.5, "1/√K", 0}}, snr_floor, "noise floor of the SNR estimate");
  }
  return doc.str();
}

int estimator_variance_main(int argc, char** argv) {
  CommonOptions common;
  DatasetOptions data;
  std::string checkpoint, samples_text = "1,2,5,10,50,100", iwae_text = "1,5,10,50,100,1000",
                          picture = "estimator_variance.svg";
  Index num_datapoints = 100, first_datapoint = 0, replicates = 100, iwae_datapoints = 25;
  bool per_datapoint = false;

  po::options_description d("Options");
  add_common_options(d, common, "estimator_variance.json");
  add_dataset_options(d, data);
  d.add_options()
      ("checkpoint", po::value(&checkpoint)->required(), "VAE checkpoint (safetensors) written by vigap-train")
      ("num-datapoints", po::value(&num_datapoints)->default_value(num_datapoints), "test datapoints (>= 1)")
      ("first-datapoint", po::value(&first_datapoint)->default_value(first_datapoint), "index of the first one")
      ("samples", po::value(&samples_text)->default_value(samples_text),
       "comma-separated ELBO sample counts S (increasing, >= 1)")
      ("iwae-samples", po::value(&iwae_text)->default_value(iwae_text),
       "comma-separated IWAE sample counts K (increasing, >= 1; 'none' skips the IWAE sweep)")
      ("iwae-num-datapoints", po::value(&iwae_datapoints)->default_value(iwae_datapoints),
       "datapoints of the IWAE sweep: the first ones of the ELBO sweep's (0: all of them; K = 1000 costs as much "
       "as the whole ELBO sweep per datapoint)")
      ("replicates", po::value(&replicates)->default_value(replicates),
       "R, independent replicates of each estimate per datapoint (>= 4)")
      ("picture", po::value(&picture)->default_value(picture), "path of the SVG picture")
      ("per-datapoint", po::bool_switch(&per_datapoint), "write every datapoint's value to the JSON");
  if (!parse_command_line(argc, argv, "vigap-estimator-variance",
                          "Variance of the ELBO estimate and of its encoder/decoder gradients against S, and the "
                          "gradient SNR of IWAE-K against K (with sticking-the-landing and DReG).",
                          d, common))
    return 0;

  const auto parse_counts = [](const std::string& text, const std::string& option, bool allow_empty) {
    const std::vector<Index> counts = parse_size_list(text, option);
    if (counts.empty() && !allow_empty) throw std::invalid_argument(option + " expects at least one sample count, found '" + text + "'");
    for (size_t i = 0; i < counts.size(); ++i)
      if (counts[i] < 1 || (i > 0 && counts[i] <= counts[i - 1]))
        throw std::invalid_argument(option + " expects increasing sample counts >= 1, found '" + text + "'");
    return counts;
  };
  const std::vector<Index> samples = parse_counts(samples_text, "--samples", false);
  const std::vector<Index> ks = parse_counts(iwae_text, "--iwae-samples", true);
  if (num_datapoints < 1)
    throw std::invalid_argument("--num-datapoints must be >= 1, found " + std::to_string(num_datapoints));
  if (first_datapoint < 0)
    throw std::invalid_argument("--first-datapoint must be >= 0, found " + std::to_string(first_datapoint));
  if (iwae_datapoints < 0)
    throw std::invalid_argument("--iwae-num-datapoints must be >= 0 (0: all), found " + std::to_string(iwae_datapoints));
  if (replicates < 4) throw std::invalid_argument("--replicates must be >= 4, found " + std::to_string(replicates));
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(common.out);
  check_writable_output_path(picture);

  const Vae vae = load_vae_checkpoint(checkpoint);
  if (!vae.encoder)
    throw std::invalid_argument("checkpoint " + checkpoint + " has no encoder: the gradient study needs q(z|x)");
  if (vae.flow)
    throw std::invalid_argument("checkpoint " + checkpoint +
                                " has a flow posterior: vigap-estimator-variance supports Gaussian encoders only");
  const MlpDecoderModel& decoder = vae.decoder;
  const GaussianEncoder& encoder = *vae.encoder;

  Dataset dataset = load_dataset(data, "test");
  const EvaluationBinarization binarization = evaluation_binarization(vae.metadata, "", "checkpoint " + checkpoint);
  const MatrixF X = evaluation_slice(dataset, decoder.data_dim(), binarization, first_datapoint, num_datapoints);
  const Index count = X.cols();

  nlohmann::ordered_json configuration;
  configuration["checkpoint"] = checkpoint;
  configuration["architecture"] = vae.architecture.to_json();
  configuration["checkpoint_metadata"] = vae.metadata;
  configuration["binarization"] = binarization.name;
  configuration["evaluation_binarization_seed"] = kEvaluationBinarizationSeed;
  configuration["split"] = "test";
  configuration["first_datapoint"] = first_datapoint;
  configuration["num_datapoints"] = count;
  configuration["elbo_samples"] = samples;
  configuration["iwae_samples"] = ks;
  const Index iwae_count = iwae_datapoints == 0 ? count : std::min(iwae_datapoints, count);
  configuration["iwae_num_datapoints"] = iwae_count;
  configuration["replicates"] = replicates;
  configuration["snr_noise_floor"] = std::sqrt(2.0 / std::numbers::pi / static_cast<double>(replicates));
  configuration["noise"] =
      "within one S (or K) every estimator sees the same noise (common random numbers); each S and K its own stream";
  configuration["decoder_gradient_note"] =
      "the decoder gradient of the ELBO is the same for the analytic-KL, Monte-Carlo-KL and STL estimators (only "
      "log p(x|z) depends on theta), so it is reported once, under elbo_analytic_kl; likewise for IWAE under "
      "iwae_reparameterized";
  configuration["standard_errors"] =
      "value is the mean over datapoints of per-datapoint statistics over R replicates; dataset_standard_error = "
      "sd over datapoints / sqrt(N) (it contains each datapoint's Monte Carlo error); monte_carlo_standard_error is "
      "the error due to the replicates alone (conservative for tr Cov; null for the SNR summaries)";
  configuration["threads"] = common.threads;
  nlohmann::ordered_json document =
      make_result_document("estimator_variance", configuration, dataset_identity(dataset, "test"), common.seed);
  nlohmann::ordered_json& results = document["results"];
  nlohmann::ordered_json& timings = document["timings"];

  ProgressReporter progress;
  // Draws for test point i are keyed by (--seed, i = first_datapoint + b, purpose, substream).
  const RandomStreams streams =
      RandomStreams::consecutive(common.seed, static_cast<std::uint64_t>(first_datapoint), X.cols());
  const auto total_start = std::chrono::steady_clock::now();
  auto start = std::chrono::steady_clock::now();
  const Sweep elbo = run_sweep(encoder, decoder, X, samples, kElboVariants, replicates, streams, 0, progress, "S");
  timings["elbo_sweep_seconds"] = seconds_since(start);
  start = std::chrono::steady_clock::now();
  const Sweep iwae = run_sweep(encoder, decoder, X.leftCols(iwae_count), ks, kIwaeVariants, replicates,
                               streams.slice(0, iwae_count), 1, progress, "K");
  timings["iwae_sweep_seconds"] = seconds_since(start);
  timings["total_seconds"] = seconds_since(total_start);

  const auto sweep_json = [&](const Sweep& sweep, const std::vector<Index>& counts, const std::vector<Variant>& variants,
                              const std::string& letter, const std::string& timing_key) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (size_t i = 0; i < counts.size(); ++i) {
      nlohmann::ordered_json entry;
      entry[letter] = counts[i];
      for (size_t v = 0; v < variants.size(); ++v) {
        nlohmann::ordered_json j = to_json(sweep[i][v], per_datapoint);
        j["label"] = variants[v].label;
        entry[variants[v].key] = std::move(j);
        timings[timing_key][variants[v].key + "_" + letter + std::to_string(counts[i]) + "_seconds"] =
            sweep[i][v].seconds;
      }
      list.push_back(std::move(entry));
    }
    return list;
  };
  results["elbo_vs_samples"] = sweep_json(elbo, samples, kElboVariants, "S", "elbo_sweep");
  if (!ks.empty()) results["iwae_vs_samples"] = sweep_json(iwae, ks, kIwaeVariants, "K", "iwae_sweep");

  // Log-log slopes (least squares over the sweep): descriptive, no standard error.
  nlohmann::ordered_json slopes;
  slopes["elbo_variance_analytic_kl_vs_S"] = log_log_slope(samples, objective_variance_of(elbo, 0, false));
  slopes["encoder_total_variance_analytic_kl_vs_S"] =
      log_log_slope(samples, values_of(elbo, 0, &GradientStatistics::total_variance, false, false));
  slopes["encoder_total_variance_stl_vs_S"] =
      log_log_slope(samples, values_of(elbo, 2, &GradientStatistics::total_variance, false, false));
  slopes["decoder_total_variance_vs_S"] =
      log_log_slope(samples, values_of(elbo, 0, &GradientStatistics::total_variance, true, false));
  if (ks.size() >= 2) {
    slopes["encoder_mean_snr_reparameterized_vs_K"] =
        log_log_slope(ks, values_of(iwae, 0, &GradientStatistics::mean_snr, false, false));
    slopes["encoder_mean_snr_stl_vs_K"] = log_log_slope(ks, values_of(iwae, 1, &GradientStatistics::mean_snr, false, false));
    slopes["encoder_mean_snr_dreg_vs_K"] = log_log_slope(ks, values_of(iwae, 2, &GradientStatistics::mean_snr, false, false));
    slopes["decoder_mean_snr_vs_K"] = log_log_slope(ks, values_of(iwae, 0, &GradientStatistics::mean_snr, true, false));
  }
  for (auto it = slopes.begin(); it != slopes.end(); ++it)
    if (!std::isfinite(it.value().get<double>())) it.value() = nullptr;
  results["log_log_slopes"] = slopes;

  // Tables: mean over datapoints ± dataset standard error.
  std::printf("%s on %lld test datapoints of %s (from #%lld), R = %lld replicates per datapoint\n",
              decoder.describe().c_str(), static_cast<long long>(count), dataset.name.c_str(),
              static_cast<long long>(first_datapoint), static_cast<long long>(replicates));
  std::printf("values: mean over datapoints ± s.e. over datapoints; tr Var = trace of the gradient covariance; "
              "SNR = mean over parameters of |E g_i| / sd(g_i) (noise floor ~%.3f)\n\n",
              std::sqrt(2.0 / std::numbers::pi / static_cast<double>(replicates)));
  std::printf("ELBO estimator against S (encoder %lld parameters, decoder %lld):\n\n",
              static_cast<long long>(encoder.network().num_parameters()),
              static_cast<long long>(decoder.network().num_parameters()));
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto& r = elbo[i];
    rows.push_back({std::to_string(samples[i]), cell(r[0].objective_variance), cell(r[1].objective_variance),
                    cell(r[0].encoder.total_variance), cell(r[1].encoder.total_variance),
                    cell(r[2].encoder.total_variance), cell(r[0].decoder.total_variance), cell(r[0].encoder.mean_snr),
                    cell(r[2].encoder.mean_snr), cell(r[0].decoder.mean_snr)});
  }
  print_markdown_table({"S", "Var ELBO (analytic KL)", "Var ELBO (MC KL)", "tr Var enc (analytic)", "tr Var enc (MC KL)",
               "tr Var enc (STL)", "tr Var dec", "SNR enc (analytic)", "SNR enc (STL)", "SNR dec"},
              rows);
  if (!ks.empty()) {
    std::printf("\nIWAE-K gradient against K (%lld datapoints):\n\n", static_cast<long long>(iwae_count));
    rows.clear();
    for (size_t i = 0; i < ks.size(); ++i) {
      const auto& r = iwae[i];
      rows.push_back({std::to_string(ks[i]), cell(r[0].objective_mean), cell(r[0].encoder.mean_snr),
                      cell(r[1].encoder.mean_snr), cell(r[2].encoder.mean_snr), cell(r[0].decoder.mean_snr),
                      cell(r[0].encoder.total_variance), cell(r[2].encoder.total_variance),
                      cell(r[0].decoder.total_variance)});
    }
    print_markdown_table({"K", "IWAE_K", "SNR enc (reparam.)", "SNR enc (STL)", "SNR enc (DReG)", "SNR dec",
                 "tr Var enc (reparam.)", "tr Var enc (DReG)", "tr Var dec"},
                rows);
  }
  std::printf("\nlog-log slopes:");
  for (auto it = slopes.begin(); it != slopes.end(); ++it)
    std::printf(" %s %s;", it.key().c_str(),
                it.value().is_null() ? "n/a" : format("%+.2f", it.value().get<double>()).c_str());
  std::printf("\n");

  const std::string svg = draw_picture(
      elbo, samples, iwae, ks,
      "Estimator variance of " + std::filesystem::path(checkpoint).filename().string() + " (" + dataset.name + ", " +
          std::to_string(count) + " test points, R = " + std::to_string(replicates) + ")",
      iwae_count, std::sqrt(2.0 / std::numbers::pi / static_cast<double>(replicates)));
  write_picture_and_result(picture, svg, common.out, document);
  std::printf("picture: %s\nresults: %s\n", picture.c_str(), common.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_binary("vigap-estimator-variance", [&] { return estimator_variance_main(argc, argv); });
}
