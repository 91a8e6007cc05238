#include "analyses/run_cost_forecast.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <utility>

#include "core/elapsed_seconds.hpp"

namespace vigap {

nlohmann::ordered_json DecoderThroughput::to_json() const {
  return {{"columns_per_second", columns_per_second},
          {"columns_per_call", columns_per_call},
          {"calls", calls},
          {"seconds", seconds}};
}

DecoderThroughput measure_decoder_throughput(const GenerativeModel& model, const MatrixF& X, Index samples_per_datapoint,
                                             double min_seconds, Rng& rng) {
  if (X.cols() < 1) throw std::invalid_argument("measure_decoder_throughput: no datapoint to time the decoder on");
  if (samples_per_datapoint < 1)
    throw std::invalid_argument("measure_decoder_throughput: samples per datapoint must be >= 1, found " +
                                std::to_string(samples_per_datapoint));
  if (!(min_seconds > 0.0))
    throw std::invalid_argument("measure_decoder_throughput: min_seconds must be > 0, found " + std::to_string(min_seconds));
  const MatrixD Z = standard_normal_matrix(model.latent_dim(), X.cols() * samples_per_datapoint, rng);
  MatrixD grad(Z.rows(), Z.cols());
  model.log_likelihood_with_gradient(X, Z, samples_per_datapoint, grad);  // warm-up, not timed
  DecoderThroughput t;
  t.columns_per_call = Z.cols();
  const auto start = std::chrono::steady_clock::now();
  do {
    model.log_likelihood_with_gradient(X, Z, samples_per_datapoint, grad);
    ++t.calls;
    t.seconds = seconds_since(start);
  } while (t.calls < 2 || t.seconds < min_seconds);
  t.columns_per_second = static_cast<double>(t.calls * t.columns_per_call) / t.seconds;
  return t;
}

Index forecast_call_width(Index samples_per_datapoint, Index block_size, Index num_datapoints) {
  const Index S = std::min<Index>(std::max<Index>(1, samples_per_datapoint), 10000);
  return S * std::max<Index>(1, std::min({block_size, num_datapoints, 10000 / S}));
}

RunCostForecast forecast_run_cost(const GenerativeModel& model, const MatrixF& X, RunCost cost, int ranks, Index blocks,
                                  Index block_size) {
  RunCostForecast forecast;
  forecast.cost = std::move(cost);
  forecast.ranks = ranks;
  forecast.blocks = blocks;
  forecast.stage_columns_per_second.assign(forecast.cost.stages.size(), 0.0);
  if (forecast.cost.total() == 0) return forecast;
  // The distinct widths, narrowest first, each with the samples per datapoint that give it.
  std::vector<std::pair<Index, Index>> widths;  // (width, samples per datapoint)
  for (const RunCostStage& s : forecast.cost.stages) {
    if (!s.counted || s.decoder_evaluations == 0) continue;
    const Index S = std::min<Index>(std::max<Index>(1, s.samples_per_datapoint), 10000);
    const Index width = forecast_call_width(S, block_size, X.cols());
    if (std::none_of(widths.begin(), widths.end(), [&](const auto& w) { return w.first == width; }))
      widths.emplace_back(width, S);
  }
  std::sort(widths.begin(), widths.end());
  Rng rng(0x636f7374);  // the calibration's own stream ("cost")
  const double seconds_per_width = std::max(0.1, 0.3 / static_cast<double>(widths.size()));
  for (const auto& [width, S] : widths)
    forecast.throughputs.push_back(measure_decoder_throughput(model, X.leftCols(width / S), S, seconds_per_width, rng));
  for (std::size_t i = 0; i < forecast.cost.stages.size(); ++i) {
    const RunCostStage& s = forecast.cost.stages[i];
    if (!s.counted || s.decoder_evaluations == 0) continue;
    const Index width = forecast_call_width(s.samples_per_datapoint, block_size, X.cols());
    for (const DecoderThroughput& t : forecast.throughputs)
      if (t.columns_per_call == width) forecast.stage_columns_per_second[i] = t.columns_per_second;
  }
  return forecast;
}

namespace {

/// Σ over the counted stages of their evaluations (the minimum ones, or the upper bounds) at their
/// rates, on min(ranks, blocks) ranks.
double forecast_seconds(const RunCostForecast& f, bool minimum, int ranks) {
  double seconds = 0.0;
  for (std::size_t i = 0; i < f.cost.stages.size(); ++i) {
    const RunCostStage& s = f.cost.stages[i];
    const double rate = i < f.stage_columns_per_second.size() ? f.stage_columns_per_second[i] : 0.0;
    if (!s.counted || !(rate > 0.0)) continue;
    const Index evaluations = minimum && s.upper_bound ? s.minimum_decoder_evaluations : s.decoder_evaluations;
    seconds += static_cast<double>(evaluations) / rate;
  }
  const double parallel = static_cast<double>(std::max<Index>(1, std::min<Index>(ranks, f.blocks)));
  return seconds / parallel;
}

}  // namespace

double RunCostForecast::seconds(int on_ranks) const {
  return forecast_seconds(*this, false, on_ranks);
}

double RunCostForecast::minimum_seconds(int on_ranks) const {
  return forecast_seconds(*this, true, on_ranks);
}

bool RunCostForecast::worth_printing(bool protocol_given) const { return protocol_given || seconds(ranks) > 10.0; }

namespace {

std::string scientific(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2e", value);
  return buffer;
}

std::string hours_text(double seconds) {
  char buffer[48];
  if (seconds < 60.0)
    std::snprintf(buffer, sizeof buffer, "%.1f s", seconds);
  else if (seconds < 3600.0)
    std::snprintf(buffer, sizeof buffer, "%.1f min", seconds / 60.0);
  else
    std::snprintf(buffer, sizeof buffer, "%.2f h", seconds / 3600.0);
  return buffer;
}

constexpr int kRankCounts[] = {1, 2, 4, 8, 16, 32};

}  // namespace

nlohmann::ordered_json RunCostForecast::to_json() const {
  nlohmann::ordered_json j = cost.to_json();
  for (std::size_t i = 0; i < cost.stages.size() && i < stage_columns_per_second.size(); ++i)
    if (stage_columns_per_second[i] > 0.0) j["stages"][i]["columns_per_second"] = stage_columns_per_second[i];
  j["throughput"] = nlohmann::ordered_json::array();
  for (const DecoderThroughput& t : throughputs) j["throughput"].push_back(t.to_json());
  j["ranks"] = ranks;
  j["blocks"] = blocks;
  j["forecast_seconds"] = seconds(ranks);
  if (cost.upper_bound()) j["forecast_minimum_seconds"] = minimum_seconds(ranks);
  nlohmann::ordered_json by_ranks = nlohmann::ordered_json::object();
  for (int n : kRankCounts) by_ranks[std::to_string(n)] = seconds(n) / 3600.0;
  j["forecast_hours_by_ranks"] = by_ranks;
  j["assumes"] = "linear scaling over ranks up to the number of blocks; each stage at the rate of a gradient call "
                 "of its own width (forward-only columns cost as much as gradient ones; AIS's momenta and a flow's "
                 "layers are not counted); q* fits run to max_steps where upper_bound";
  return j;
}

std::string RunCostForecast::summary(const std::string& program) const {
  std::string stages;
  for (const RunCostStage& s : cost.stages) {
    if (!stages.empty()) stages += "; ";
    std::string count = "not counted";
    if (s.counted && s.upper_bound)
      count = scientific(static_cast<double>(s.minimum_decoder_evaluations)) + " to " +
              scientific(static_cast<double>(s.decoder_evaluations));
    else if (s.counted)
      count = scientific(static_cast<double>(s.decoder_evaluations));
    stages += s.name + " " + count;
  }
  std::string text = program + ": cost: " +
                     (cost.upper_bound() ? scientific(static_cast<double>(cost.minimum_total())) + " to " : "") +
                     scientific(static_cast<double>(cost.total())) + " decoder evaluations (" + stages + ")\n";
  // An upper bound is shown as the range it spans: "between 12.0 s and 1.58 h".
  const auto span = [&](int n) {
    return cost.upper_bound() ? "between " + hours_text(minimum_seconds(n)) + " and " + hours_text(seconds(n))
                              : hours_text(seconds(n));
  };
  // The measured rates, slowest to fastest, and the widths they were measured at.
  double slowest = 0.0, fastest = 0.0;
  std::string calls;
  for (const DecoderThroughput& t : throughputs) {
    slowest = slowest == 0.0 ? t.columns_per_second : std::min(slowest, t.columns_per_second);
    fastest = std::max(fastest, t.columns_per_second);
    calls += (calls.empty() ? "" : ", ") + std::to_string(t.columns_per_call);
  }
  const std::string rates =
      slowest == fastest ? scientific(fastest) : scientific(slowest) + " to " + scientific(fastest);
  text += program + ": at " + rates + " evaluations/s measured here (" + calls + " columns a call): " + span(ranks) +
          " on this run's " + std::to_string(ranks) + " rank" + (ranks == 1 ? "" : "s") + " (" +
          std::to_string(blocks) + " block" + (blocks == 1 ? "" : "s") + ")";
  for (int n : kRankCounts)
    if (n != ranks && n <= std::max<Index>(blocks, 1)) text += "; " + span(n) + " on " + std::to_string(n);
  text += "\n";
  return text;
}

}  // namespace vigap
