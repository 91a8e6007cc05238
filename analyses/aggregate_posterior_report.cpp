#include "analyses/aggregate_posterior_report.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <utility>

#include "core/io/json_array.hpp"
#include "core/io/format_number.hpp"
#include "core/io/markdown_table.hpp"
#include "core/progress_reporter.hpp"
#include "estimators/aggregate_posterior.hpp"

namespace vigap {

AggregatePosteriorMethod parse_aggregate_posterior_method(const std::string& text, const std::string& option) {
  if (text == "auto") return AggregatePosteriorMethod::automatic;
  if (text == "quadrature") return AggregatePosteriorMethod::quadrature;
  if (text == "monte-carlo") return AggregatePosteriorMethod::monte_carlo;
  throw std::invalid_argument(option + " expects auto, quadrature or monte-carlo, found '" + text + "'");
}

std::string to_string(AggregatePosteriorMethod method) {
  switch (method) {
    case AggregatePosteriorMethod::automatic: return "auto";
    case AggregatePosteriorMethod::quadrature: return "quadrature";
    case AggregatePosteriorMethod::monte_carlo: return "monte-carlo";
  }
  return "?";
}

AggregateMonteCarloOptions AggregatePosteriorReportOptions::default_monte_carlo() {
  AggregateMonteCarloOptions monte_carlo;
  monte_carlo.outer_components = 10000;
  return monte_carlo;
}

void AggregatePosteriorReportOptions::validate() const {
  if (picture_grid_nodes < 11)
    throw std::invalid_argument("--picture-grid-nodes must be >= 11, found " + std::to_string(picture_grid_nodes));
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
}

bool AggregatePosteriorReportOptions::uses_quadrature(Index latent_dim) const {
  return latent_dim <= 2 && method != AggregatePosteriorMethod::monte_carlo;
}

bool AggregatePosteriorReportOptions::uses_monte_carlo() const {
  return method == AggregatePosteriorMethod::monte_carlo || method == AggregatePosteriorMethod::automatic;
}

nlohmann::ordered_json AggregatePosteriorReportOptions::to_json() const {
  nlohmann::ordered_json j;
  j["method"] = vigap::to_string(method);
  j["quadrature"] = quadrature.to_json();
  j["monte_carlo"] = monte_carlo.to_json();
  j["active_threshold"] = active_threshold;
  j["picture_grid_nodes"] = picture_grid_nodes;
  j["prior"] = "N(0, I)";
  return j;
}

namespace {


/// "1.2345 ± 0.0012" (the error printed with 2 significant digits; "(exact)" for 0, "± n/a" when unknown).
std::string with_error(double value, double error) {
  if (!std::isfinite(error)) return format_number("%.4f", value) + " ± n/a";
  if (error == 0.0) return format_number("%.4f", value) + " (exact)";
  return format_number("%.4f", value) + " ± " + format_number("%.2g", error);
}


/// The q-quantile (0..1) of the values.
double quantile(std::vector<double> values, double q) {
  const size_t k = static_cast<size_t>(std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(k), values.end());
  return values[k];
}

void check_splits(const std::vector<EncodedSplit>& splits, const AggregatePosteriorReportOptions& options) {
  options.validate();
  if (splits.empty()) throw std::invalid_argument("compute_aggregate_posterior_report: no splits");
  const Index latent_dim = splits.front().q.latent_dim();
  for (const EncodedSplit& s : splits) {
    if (s.q.latent_dim() != latent_dim)
      throw std::invalid_argument("compute_aggregate_posterior_report: split " + s.split + " has latent dimension " +
                                  std::to_string(s.q.latent_dim()) + ", split " + splits.front().split + " " +
                                  std::to_string(latent_dim));
    if (s.q.num_datapoints() < 2)
      throw std::invalid_argument("compute_aggregate_posterior_report: split " + s.split + " has fewer than 2 datapoints");
  }
  if (options.method == AggregatePosteriorMethod::quadrature && latent_dim > 2)
    throw std::invalid_argument("--method quadrature needs latent dimension <= 2, found latent dimension " +
                                std::to_string(latent_dim) + " (use --method monte-carlo or auto)");
}

/// The 2-D picture's grid: the prior's ±3.5 box widened to hold the bulk of every split's
/// components, square and centred on 0 (the prior's circles stay circles).
VectorD picture_grid(const std::vector<AggregatePosterior>& aggregates, Index nodes) {
  std::array<double, 2> lower{-3.5, -3.5}, upper{3.5, 3.5};
  for (const AggregatePosterior& a : aggregates)
    for (Index j = 0; j < 2; ++j) {
      const RowVectorD lo = a.mean().row(j) - 2.0 * a.standard_deviation().row(j);
      const RowVectorD hi = a.mean().row(j) + 2.0 * a.standard_deviation().row(j);
      lower[j] = std::min(lower[j], quantile(std::vector<double>(lo.data(), lo.data() + lo.size()), 0.001));
      upper[j] = std::max(upper[j], quantile(std::vector<double>(hi.data(), hi.data() + hi.size()), 0.999));
    }
  const double half = std::max({-lower[0], -lower[1], upper[0], upper[1]});
  return VectorD::LinSpaced(nodes, -half, half);
}

}  // namespace

AggregatePosteriorReport compute_aggregate_posterior_report(const std::vector<EncodedSplit>& splits,
                                                            const AggregatePosteriorReportOptions& options, Rng& rng,
                                                            const ProgressReporter& progress) {
  check_splits(splits, options);
  AggregatePosteriorReport report;
  report.latent_dim = splits.front().q.latent_dim();
  report.active_threshold = options.active_threshold;
  std::vector<AggregatePosterior> aggregates;
  for (const EncodedSplit& s : splits) {
    AggregatePosteriorSplitReport r;
    r.split = s.split;
    r.dataset_name = s.dataset_name;
    r.num_datapoints = s.q.num_datapoints();
    Rng split_stream = split_rng(rng);  // one stream per split, in the order given
    const AggregatePosterior& aggregate = aggregates.emplace_back(s.q);
    r.units = active_units(s.q.mean(), options.active_threshold);
    r.mean_kl_to_prior_per_unit = aggregate.mean_kl_to_prior_per_unit();
    r.mean_kl_to_prior = aggregate.mean_kl_to_prior();
    r.component_standard_deviation_min = aggregate.standard_deviation().minCoeff();
    r.component_standard_deviation_max = aggregate.standard_deviation().maxCoeff();
    if (options.uses_quadrature(report.latent_dim)) {
      progress.update("aggregate-posterior: " + r.split + ": quadrature");
      r.quadrature = aggregate_posterior_decomposition_by_quadrature(aggregate, options.quadrature);
    }
    if (options.uses_monte_carlo()) {
      progress.update("aggregate-posterior: " + r.split + ": Monte Carlo");
      Rng mc_rng = split_rng(split_stream);
      r.monte_carlo = aggregate_posterior_decomposition_by_monte_carlo(aggregate, options.monte_carlo, mc_rng);
    }
    report.splits.push_back(std::move(r));
  }
  progress.finish();
  if (report.latent_dim == 2) {
    report.picture_z1 = report.picture_z2 = picture_grid(aggregates, options.picture_grid_nodes);
    for (std::size_t s = 0; s < aggregates.size(); ++s) {
      // Cell averages: components narrower than a cell are shown by their mass, not aliased.
      const MatrixD density = aggregates[s].cell_averaged_density_on_grid(report.picture_z1, report.picture_z2);
      // Underflow (far from every component) is drawn as background: clamp to 1e-300.
      report.splits[s].picture_log_density = density.cwiseMax(1e-300).array().log().matrix();
    }
  }
  return report;
}

nlohmann::ordered_json AggregatePosteriorReport::results_json() const {
  nlohmann::ordered_json split_json = nlohmann::ordered_json::object();
  for (const AggregatePosteriorSplitReport& r : splits) {
    nlohmann::ordered_json j;
    j["dataset"] = r.dataset_name;
    j["num_datapoints"] = r.num_datapoints;
    j["mutual_information_upper_bound_log_n"] = std::log(static_cast<double>(r.num_datapoints));
    j["mean_kl_to_prior"] = r.mean_kl_to_prior;
    j["mean_kl_to_prior_per_unit"] = to_json_array(r.mean_kl_to_prior_per_unit);
    j["active_units"] = to_json(r.units);
    j["component_standard_deviation_range"] = {r.component_standard_deviation_min, r.component_standard_deviation_max};
    if (r.quadrature) j["quadrature"] = to_json(*r.quadrature);
    if (r.monte_carlo) j["monte_carlo"] = to_json(*r.monte_carlo);
    if (latent_dim == 2) {
      nlohmann::ordered_json rows = nlohmann::ordered_json::array();
      for (Index b = 0; b < picture_z2.size(); ++b) rows.push_back(to_json_array(r.picture_log_density.col(b)));
      j["picture_log_density"] = std::move(rows);
    }
    split_json[r.split] = std::move(j);
  }
  nlohmann::ordered_json results;
  results["splits"] = std::move(split_json);
  if (latent_dim == 2)
    results["picture_grid"] = {{"z1", to_json_array(picture_z1)},
                               {"z2", to_json_array(picture_z2)},
                               {"layout", "splits.<split>.picture_log_density[j][i] is the log of q's mean density over "
                                          "the cell centred on (z1[i], z2[j]) (exact cell mass / cell area)"}};
  return results;
}

nlohmann::ordered_json AggregatePosteriorReport::timings_json() const {
  nlohmann::ordered_json timings = nlohmann::ordered_json::object();
  for (const AggregatePosteriorSplitReport& r : splits) {
    if (r.quadrature) timings[r.split]["quadrature_seconds"] = r.quadrature->seconds;
    if (r.monte_carlo) timings[r.split]["monte_carlo_seconds"] = r.monte_carlo->seconds;
  }
  return timings;
}

std::string AggregatePosteriorReport::to_markdown() const {
  char line[1024];
  std::snprintf(line, sizeof line, "| %-5s | %6s | %-11s | %-21s | %-20s | %-20s | %-19s | %-20s | %6s |\n", "split", "N",
                "method", "mean KL(q(z|x)||p)", "I[n;z]", "KL(q(z)||p(z))", "I + KL - mean KL", "H[q(z)]", "active");
  std::string out = line;
  out += "|-------|--------|-------------|-----------------------|----------------------|----------------------|---------------------|----------------------|--------|\n";
  for (const AggregatePosteriorSplitReport& r : splits)
    for (const auto* dec : {r.quadrature ? &*r.quadrature : nullptr, r.monte_carlo ? &*r.monte_carlo : nullptr}) {
      if (dec == nullptr) continue;
      std::snprintf(line, sizeof line, "| %-5s | %6lld | %-11s | %s | %s | %s | %s | %s | %3lld/%-2lld |\n", r.split.c_str(),
                    static_cast<long long>(r.num_datapoints), dec->method.c_str(),
                    pad(with_error(dec->mean_kl_to_prior, 0.0), 21).c_str(),
                    pad(with_error(dec->mutual_information.value, dec->mutual_information.error), 20).c_str(),
                    pad(with_error(dec->aggregate_kl_to_prior.value, dec->aggregate_kl_to_prior.error), 20).c_str(),
                    pad(format_number("%.1e", dec->identity_residual.value) + " ± " + format_number("%.1e", dec->identity_residual.error), 19)
                        .c_str(),
                    pad(with_error(dec->aggregate_entropy.value, dec->aggregate_entropy.error), 20).c_str(),
                    static_cast<long long>(r.units.count), static_cast<long long>(latent_dim));
      out += line;
    }
  std::string log_n;
  for (const AggregatePosteriorSplitReport& r : splits)
    log_n += (log_n.empty() ? "" : ", ") + r.split + " " + format_number("%.3f", std::log(static_cast<double>(r.num_datapoints)));
  std::snprintf(line, sizeof line,
                "\nErrors: quadrature rows give the quadrature's own error estimate, Monte Carlo rows one standard error. "
                "I[n;z] <= log N (%s). Active: units with Cov_x(E_q[z_j|x]) > %g.\n",
                log_n.c_str(), active_threshold);
  out += line;
  for (const AggregatePosteriorSplitReport& r : splits) {
    out += r.split + " activity per unit:";
    for (Index u = 0; u < r.units.activity.size(); ++u) out += format_number(" %.3g", r.units.activity(u));
    out += "\n";
  }
  return out;
}

}  // namespace vigap
