#include "analyses/gap_table.hpp"

#include "analyses/gap_table_block.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <stdexcept>

#include "core/elapsed_seconds.hpp"
#include "core/io/markdown_table.hpp"
#include "core/progress_reporter.hpp"
#include "core/variational/local_posterior_fit.hpp"
#include "estimators/elbo_estimator.hpp"
#include "estimators/exact_marginal_likelihood.hpp"
#include "estimators/kl_divergence_quadrature.hpp"

namespace vigap {

LogMarginalMethod parse_log_marginal_method(const std::string& text, const std::string& option) {
  if (text == "auto") return LogMarginalMethod::automatic;
  if (text == "quadrature") return LogMarginalMethod::quadrature;
  if (text == "ais") return LogMarginalMethod::ais;
  throw std::invalid_argument(option + " must be auto, quadrature or ais, found '" + text + "'");
}

std::string to_string(LogMarginalMethod method) {
  switch (method) {
    case LogMarginalMethod::automatic: return "auto";
    case LogMarginalMethod::quadrature: return "quadrature";
    case LogMarginalMethod::ais: return "ais";
  }
  return "?";
}

QStarStart parse_qstar_start(const std::string& text, const std::string& option) {
  if (text == "encoder") return QStarStart::encoder;
  if (text == "prior") return QStarStart::prior;
  throw std::invalid_argument(option + " must be encoder or prior, found '" + text + "'");
}

std::string to_string(QStarStart start) { return start == QStarStart::encoder ? "encoder" : "prior"; }

bool GapTableOptions::uses_quadrature(Index latent_dim) const {
  return log_px == LogMarginalMethod::quadrature || (log_px == LogMarginalMethod::automatic && latent_dim <= 3);
}

void GapTableOptions::validate() const {
  for (PosteriorFamily f : families)
    if (f == PosteriorFamily::amortized)
      throw std::invalid_argument("GapTableOptions: families lists the q* rows (" +
                                  describe_posterior_families(local_posterior_families()) +
                                  "); the amortized row is always there");
  if (eval_samples < 2)
    throw std::invalid_argument("--eval-samples must be >= 2 (for a standard error), found " + std::to_string(eval_samples));
  gaussian.validate();
  flow.validate();
  ais.validate();
}

void GapTableOptions::validate(Index latent_dim) const {
  validate();
  if (uses_quadrature(latent_dim)) quadrature.validate(latent_dim);  // explains why quadrature needs latent dim <= 3
}

nlohmann::ordered_json GapTableOptions::to_json(Index latent_dim) const {
  nlohmann::ordered_json j;
  std::vector<std::string> names;
  for (PosteriorFamily f : families) names.push_back(vigap::to_string(f));
  j["families"] = names;
  j["log_px"] = uses_quadrature(latent_dim) ? "quadrature" : "ais";
  j["elbo_evaluation"] =
      latent_dim <= 3 ? nlohmann::ordered_json("quadrature (exact)")
                      : nlohmann::ordered_json({{"samples", eval_samples},
                                                {"kl_form", "analytic for diagonal Gaussians, Monte Carlo otherwise"}});
  j["init"] = vigap::to_string(init);
  j["qstar_gaussian"] = gaussian.to_json();  // its family is set per row
  j["qstar_flow"] = flow.to_json();
  if (uses_quadrature(latent_dim))
    j["quadrature_tolerance"] = quadrature.tolerance;
  else
    j["ais"] = ais.to_json();
  return j;
}

GapTable compute_gap_table(const GenerativeModel& model, const PosteriorApproximation& amortized,
                           const std::string& amortized_name, const DiagonalGaussian& encoder_q, const MatrixF& X,
                           const GapTableOptions& options, const RandomStreams& streams, Index first_datapoint,
                           const ProgressReporter& progress) {
  // One block of all the datapoints, through the same assembly as a run spread over processes.
  return assemble_gap_table({compute_gap_table_block(model, amortized, amortized_name, encoder_q, X, options, streams,
                                                     first_datapoint, progress)});
}

nlohmann::ordered_json GapTable::results_json(bool per_datapoint) const {
  nlohmann::ordered_json results;
  results["log_px"] = to_json(log_px, per_datapoint);
  results["amortized"] = {{"approximation", amortized_approximation},
                          {"elbo", to_json(amortized_elbo, per_datapoint)},
                          {"inference_gap", to_json(inference_gap, per_datapoint)}};
  for (const GapTableRow& row : rows) {
    nlohmann::ordered_json& r = results[vigap::to_string(row.family)];
    r["approximation"] = row.approximation;
    r["elbo"] = to_json(row.elbo, per_datapoint);
    r["approximation_gap"] = to_json(row.approximation_gap, per_datapoint);
    r["amortization_gap"] = to_json(row.amortization_gap, per_datapoint);
    r["amortization_gap_pair"] = "L[" + posterior_family_info(row.family).label + "] - L[" + amortized_name + "]";
    r["inference_gap"] = to_json(inference_gap, per_datapoint);
    r["identity_max_abs_error"] = row.identity_max_abs_error;
    r["optimization"] = row.optimization;
    if (per_datapoint)  // null where a datapoint has no check noise (JSON has no NaN)
      r["optimization"]["check_standard_error_at_decision"]["per_datapoint"] = std::vector<double>(
          row.check_standard_error.data(), row.check_standard_error.data() + row.check_standard_error.size());
  }
  return results;
}

nlohmann::ordered_json GapTable::timings_json() const {
  nlohmann::ordered_json t;
  t["log_px_seconds"] = log_px_seconds;
  t["amortized_elbo_seconds"] = amortized_elbo_seconds;
  for (const GapTableRow& row : rows) {
    t[vigap::to_string(row.family) + "_optimization_seconds"] = row.optimization_seconds;
    t[vigap::to_string(row.family) + "_elbo_seconds"] = row.elbo_seconds;
  }
  t["total_seconds"] = seconds;
  return t;
}

namespace {

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

}  // namespace

std::string GapTable::to_markdown() const {
  char line[256];
  std::string out;
  std::snprintf(line, sizeof line, "log p̂(x) by %s: %s nats (data s.e. %.4f)\n",
                log_px_by_quadrature ? "quadrature (exact)" : "AIS", cell(log_px).c_str(), log_px.dataset_standard_error);
  out += line;
  out += std::string("q* started from ") + (init == QStarStart::encoder ? "the encoder's q" : "N(0, I)") + "; ELBOs " +
         (exact_elbos ? "exact (quadrature)" : "with " + std::to_string(eval_samples) + " samples") + "\n\n";
  std::vector<std::vector<std::string>> cells;
  for (const GapTableRow& row : rows)
    cells.push_back({posterior_family_info(row.family).label, cell(row.elbo), cell(row.approximation_gap),
                     cell(row.amortization_gap), cell(inference_gap)});
  cells.push_back({amortized_name, cell(amortized_elbo), "", "", cell(inference_gap)});
  out += markdown_table({"q", "L[q]", "approximation gap", "amortization gap", "inference gap"}, cells);
  out += "\napproximation gap = log p(x) - L[q*_F]; amortization gap = L[q*_F] - L[" + amortized_name +
         "] (Cremer et al.'s pair for the family of the amortized q); inference gap = log p(x) - L[" + amortized_name +
         "].\n";
  for (const GapTableRow& row : rows) {
    std::snprintf(line, sizeof line, "identity check %s: max |inference - (approximation + amortization)| = %.2e; ",
                  vigap::to_string(row.family).c_str(), row.identity_max_abs_error);
    out += line + std::string("q* fit: ") + row.optimization_summary + "\n";
  }
  return out;
}

}  // namespace vigap
