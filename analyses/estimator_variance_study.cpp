#include "analyses/estimator_variance_study.hpp"

#include "analyses/estimator_variance_block.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <utility>

#include "core/io/format_number.hpp"
#include "core/io/markdown_table.hpp"
#include "core/progress_reporter.hpp"

namespace vigap {

namespace {


std::string comma_list(const std::vector<Index>& counts) {
  std::string text;
  for (size_t i = 0; i < counts.size(); ++i) text += (i > 0 ? "," : "") + std::to_string(counts[i]);
  return text;
}

void check_counts(const std::vector<Index>& counts, const std::string& option, bool allow_empty) {
  if (counts.empty() && !allow_empty)
    throw std::invalid_argument(option + " expects at least one sample count, found '" + comma_list(counts) + "'");
  for (size_t i = 0; i < counts.size(); ++i)
    if (counts[i] < 1 || (i > 0 && counts[i] <= counts[i - 1]))
      throw std::invalid_argument(option + " expects increasing sample counts >= 1, found '" + comma_list(counts) + "'");
}

}  // namespace

void EstimatorVarianceStudyOptions::validate() const {
  check_counts(elbo_samples, "--samples", false);
  check_counts(iwae_samples, "--iwae-samples", true);
  if (iwae_datapoints < 0)
    throw std::invalid_argument("--iwae-num-datapoints must be >= 0 (0: all), found " + std::to_string(iwae_datapoints));
  if (replicates < 4) throw std::invalid_argument("--replicates must be >= 4, found " + std::to_string(replicates));
}

Index EstimatorVarianceStudyOptions::iwae_count(Index num_datapoints) const {
  return iwae_datapoints == 0 ? num_datapoints : std::min(iwae_datapoints, num_datapoints);
}

double EstimatorVarianceStudyOptions::snr_noise_floor() const {
  return std::sqrt(2.0 / std::numbers::pi / static_cast<double>(replicates));
}

nlohmann::ordered_json EstimatorVarianceStudyOptions::to_json(Index num_datapoints) const {
  nlohmann::ordered_json j;
  j["elbo_samples"] = elbo_samples;
  j["iwae_samples"] = iwae_samples;
  j["iwae_num_datapoints"] = iwae_count(num_datapoints);
  j["replicates"] = replicates;
  j["snr_noise_floor"] = snr_noise_floor();
  j["noise"] =
      "within one S (or K) every estimator sees the same noise (common random numbers); each S and K its own stream";
  j["decoder_gradient_note"] =
      "the decoder gradient of the ELBO is the same for the analytic-KL, Monte-Carlo-KL and STL estimators (only "
      "log p(x|z) depends on theta), so it is reported once, under elbo_analytic_kl; likewise for IWAE under "
      "iwae_reparameterized";
  j["standard_errors"] =
      "value is the mean over datapoints of per-datapoint statistics over R replicates; dataset_standard_error = "
      "sd over datapoints / sqrt(N) (it contains each datapoint's Monte Carlo error); monte_carlo_standard_error is "
      "the error due to the replicates alone (conservative for tr Cov; null for the SNR summaries)";
  return j;
}

const std::vector<EstimatorVariant>& elbo_variance_variants() {
  static const std::vector<EstimatorVariant> variants{
      {"elbo_analytic_kl", "ELBO, analytic KL, reparameterized", TrainingObjective::elbo, KlEstimator::analytic,
       EncoderGradient::reparameterized, true},
      {"elbo_monte_carlo_kl", "ELBO, Monte Carlo KL, reparameterized", TrainingObjective::elbo,
       KlEstimator::monte_carlo, EncoderGradient::reparameterized, false},
      {"elbo_stl", "ELBO, Monte Carlo KL, sticking the landing", TrainingObjective::elbo, KlEstimator::monte_carlo,
       EncoderGradient::sticking_the_landing, false}};
  return variants;
}

const std::vector<EstimatorVariant>& iwae_variance_variants() {
  static const std::vector<EstimatorVariant> variants{
      {"iwae_reparameterized", "IWAE, reparameterized", TrainingObjective::iwae, KlEstimator::monte_carlo,
       EncoderGradient::reparameterized, true},
      {"iwae_stl", "IWAE, sticking the landing (biased)", TrainingObjective::iwae, KlEstimator::monte_carlo,
       EncoderGradient::sticking_the_landing, false},
      {"iwae_dreg", "IWAE, doubly reparameterized", TrainingObjective::iwae, KlEstimator::monte_carlo,
       EncoderGradient::doubly_reparameterized, false}};
  return variants;
}

nlohmann::ordered_json EstimatorVarianceSweep::to_json(bool per_datapoint) const {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (size_t i = 0; i < counts.size(); ++i) {
    nlohmann::ordered_json entry;
    entry[letter] = counts[i];
    for (size_t v = 0; v < variants.size(); ++v) {
      nlohmann::ordered_json j = vigap::to_json(results[i][v], per_datapoint);
      j["label"] = variants[v].label;
      entry[variants[v].key] = std::move(j);
    }
    list.push_back(std::move(entry));
  }
  return list;
}

nlohmann::ordered_json EstimatorVarianceSweep::timings_json() const {
  nlohmann::ordered_json t = nlohmann::ordered_json::object();
  for (size_t i = 0; i < counts.size(); ++i)
    for (size_t v = 0; v < variants.size(); ++v)
      t[variants[v].key + "_" + letter + std::to_string(counts[i]) + "_seconds"] = results[i][v].seconds;
  return t;
}

std::vector<double> EstimatorVarianceSweep::gradient_values(size_t variant, const Estimate GradientStatistics::*field,
                                                            bool decoder, bool error) const {
  std::vector<double> out;
  for (const auto& row : results) {
    const GradientStatistics& g = decoder ? row[variant].decoder : row[variant].encoder;
    const Estimate& e = g.*field;
    out.push_back(error ? e.dataset_standard_error : e.value);
  }
  return out;
}

std::vector<double> EstimatorVarianceSweep::objective_variances(size_t variant, bool error) const {
  std::vector<double> out;
  for (const auto& row : results)
    out.push_back(error ? row[variant].objective_variance.dataset_standard_error : row[variant].objective_variance.value);
  return out;
}

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

EstimatorVarianceStudy compute_estimator_variance_study(const TrainableEncoder& encoder, const TrainableDecoder& decoder,
                                                        const MatrixF& X, const EstimatorVarianceStudyOptions& options,
                                                        const RandomStreams& streams, const ProgressReporter& progress) {
  // One block of every datapoint, through the assembly a split run uses: the same code, the same bits.
  return assemble_estimator_variance_study({compute_estimator_variance_block(
      encoder, decoder, X, options, streams, 0, options.iwae_count(X.cols()), progress)});
}

nlohmann::ordered_json EstimatorVarianceStudy::results_json(bool per_datapoint) const {
  nlohmann::ordered_json results;
  results["elbo_vs_samples"] = elbo.to_json(per_datapoint);
  if (!iwae.counts.empty()) results["iwae_vs_samples"] = iwae.to_json(per_datapoint);
  nlohmann::ordered_json slopes;
  for (const LogLogSlope& s : log_log_slopes)
    slopes[s.name] = std::isfinite(s.value) ? nlohmann::ordered_json(s.value) : nlohmann::ordered_json(nullptr);
  results["log_log_slopes"] = slopes;
  return results;
}

nlohmann::ordered_json EstimatorVarianceStudy::timings_json() const {
  nlohmann::ordered_json t;
  t["elbo_sweep_seconds"] = elbo.seconds;
  t["iwae_sweep_seconds"] = iwae.seconds;
  t["total_seconds"] = seconds;
  t["elbo_sweep"] = elbo.timings_json();
  if (!iwae.counts.empty()) t["iwae_sweep"] = iwae.timings_json();
  return t;
}

namespace {


/// "value ± dataset s.e." with three significant digits.
std::string cell(const Estimate& e) {
  return format_number("%.3g", e.value) + " ± " + format_number("%.2g", e.dataset_standard_error);
}

}  // namespace

std::string EstimatorVarianceStudy::to_markdown() const {
  char line[512];
  std::string out;
  std::snprintf(line, sizeof line,
                "values: mean over datapoints ± s.e. over datapoints; tr Var = trace of the gradient covariance; "
                "SNR = mean over parameters of |E g_i| / sd(g_i) (noise floor ~%.3f)\n\n",
                snr_noise_floor);
  out += line;
  std::snprintf(line, sizeof line, "ELBO estimator against S (encoder %lld parameters, decoder %lld):\n\n",
                static_cast<long long>(encoder_parameters), static_cast<long long>(decoder_parameters));
  out += line;
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < elbo.counts.size(); ++i) {
    const auto& r = elbo.results[i];
    rows.push_back({std::to_string(elbo.counts[i]), cell(r[0].objective_variance), cell(r[1].objective_variance),
                    cell(r[0].encoder.total_variance), cell(r[1].encoder.total_variance),
                    cell(r[2].encoder.total_variance), cell(r[0].decoder.total_variance), cell(r[0].encoder.mean_snr),
                    cell(r[2].encoder.mean_snr), cell(r[0].decoder.mean_snr)});
  }
  out += markdown_table({"S", "Var ELBO (analytic KL)", "Var ELBO (MC KL)", "tr Var enc (analytic)",
                         "tr Var enc (MC KL)", "tr Var enc (STL)", "tr Var dec", "SNR enc (analytic)",
                         "SNR enc (STL)", "SNR dec"},
                        rows);
  if (!iwae.counts.empty()) {
    std::snprintf(line, sizeof line, "\nIWAE-K gradient against K (%lld datapoints):\n\n",
                  static_cast<long long>(iwae_datapoints));
    out += line;
    rows.clear();
    for (size_t i = 0; i < iwae.counts.size(); ++i) {
      const auto& r = iwae.results[i];
      rows.push_back({std::to_string(iwae.counts[i]), cell(r[0].objective_mean), cell(r[0].encoder.mean_snr),
                      cell(r[1].encoder.mean_snr), cell(r[2].encoder.mean_snr), cell(r[0].decoder.mean_snr),
                      cell(r[0].encoder.total_variance), cell(r[2].encoder.total_variance),
                      cell(r[0].decoder.total_variance)});
    }
    out += markdown_table({"K", "IWAE_K", "SNR enc (reparam.)", "SNR enc (STL)", "SNR enc (DReG)", "SNR dec",
                           "tr Var enc (reparam.)", "tr Var enc (DReG)", "tr Var dec"},
                          rows);
  }
  out += "\nlog-log slopes:";
  for (const LogLogSlope& s : log_log_slopes)
    out += " " + s.name + " " + (std::isfinite(s.value) ? format_number("%+.2f", s.value) : std::string("n/a")) + ";";
  out += "\n";
  return out;
}

}  // namespace vigap
