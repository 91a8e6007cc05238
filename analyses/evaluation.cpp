#include "analyses/evaluation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "analyses/evaluation_block.hpp"

namespace vigap {

namespace {

constexpr EvaluationEstimator kAllEstimators[] = {EvaluationEstimator::elbo,       EvaluationEstimator::iwae,
                                                  EvaluationEstimator::importance_sampling, EvaluationEstimator::ais,
                                                  EvaluationEstimator::quadrature, EvaluationEstimator::bdmc};

}  // namespace

std::string to_string(EvaluationEstimator estimator) {
  switch (estimator) {
    case EvaluationEstimator::elbo: return "elbo";
    case EvaluationEstimator::iwae: return "iwae";
    case EvaluationEstimator::importance_sampling: return "is";
    case EvaluationEstimator::ais: return "ais";
    case EvaluationEstimator::quadrature: return "quadrature";
    case EvaluationEstimator::bdmc: return "bdmc";
  }
  return "?";
}

std::vector<EvaluationEstimator> parse_evaluation_estimators(const std::string& text, const std::string& option) {
  std::vector<EvaluationEstimator> estimators;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    const auto* found = std::find_if(std::begin(kAllEstimators), std::end(kAllEstimators),
                                     [&](EvaluationEstimator e) { return to_string(e) == item; });
    if (found == std::end(kAllEstimators))
      throw std::invalid_argument(option + ": unknown estimator '" + item +
                                  "': expected a comma-separated list of elbo, iwae, is, ais, quadrature, bdmc");
    estimators.push_back(*found);
  }
  if (estimators.empty()) throw std::invalid_argument(option + ": expected at least one estimator");
  return estimators;
}

AisStart parse_ais_start(const std::string& text, const std::string& option) {
  if (text == "prior") return AisStart::prior;
  if (text == "encoder") return AisStart::amortized;
  throw std::invalid_argument(option + " must be prior or encoder, found '" + text + "'");
}

std::string to_string(AisStart start) { return start == AisStart::prior ? "prior" : "encoder"; }

bool EvaluationOptions::uses(EvaluationEstimator estimator) const {
  return std::find(estimators.begin(), estimators.end(), estimator) != estimators.end();
}

bool EvaluationOptions::needs_amortized() const {
  return uses(EvaluationEstimator::elbo) || uses(EvaluationEstimator::iwae) ||
         uses(EvaluationEstimator::importance_sampling) ||
         (uses(EvaluationEstimator::ais) && ais_from == AisStart::amortized);
}

void EvaluationOptions::validate() const {
  if (estimators.empty()) throw std::invalid_argument("--estimators: expected at least one estimator");
  if (iwae_ks.empty()) throw std::invalid_argument("--iwae-k expects at least one K >= 1");
  for (Index K : iwae_ks)
    if (K < 1) throw std::invalid_argument("--iwae-k expects every K >= 1, found " + std::to_string(K));
  if (bdmc_datapoints < 0) throw std::invalid_argument("--bdmc-datapoints must be >= 0");
  elbo.validate();
  iwae.validate();
  importance.validate();
  ais.validate();
}

void EvaluationOptions::validate(Index latent_dim) const {
  validate();
  if (uses(EvaluationEstimator::quadrature)) quadrature.validate(latent_dim);
}

nlohmann::ordered_json EvaluationOptions::to_json() const {
  std::vector<std::string> names;
  for (EvaluationEstimator e : estimators) names.push_back(to_string(e));
  nlohmann::ordered_json j;
  j["estimators"] = names;
  return j;
}

nlohmann::ordered_json EvaluationOptions::settings_json(Index latent_dim) const {
  nlohmann::ordered_json j = to_json();
  j["elbo"] = {{"samples", elbo.samples},
               {"kl_form", to_string(elbo.kl_form)},
               {"max_latent_columns_per_call", elbo.max_latent_columns_per_call}};
  j["iwae_ks"] = iwae_ks;
  j["iwae"] = {{"replicates", iwae.replicates}, {"max_latent_columns_per_call", iwae.max_latent_columns_per_call}};
  j["importance_sampling"] = {{"samples", importance.samples},
                              {"max_latent_columns_per_call", importance.max_latent_columns_per_call}};
  j["ais"] = ais.to_json();
  j["ais_from"] = to_string(ais_from);
  if (uses(EvaluationEstimator::quadrature)) j["quadrature"] = quadrature.to_json(latent_dim);
  j["bdmc_datapoints"] = bdmc_datapoints;
  return j;
}

Evaluation compute_evaluation(const GenerativeModel& model, const PosteriorApproximation* amortized, const MatrixF& X,
                              const EvaluationOptions& options, const RandomStreams& streams, Index first_datapoint,
                              const ProgressReporter& progress) {
  if (X.cols() < 1) throw std::invalid_argument("compute_evaluation: no datapoints");
  // One block of every datapoint and pair: the same code as any split into blocks.
  return assemble_evaluation({compute_evaluation_block(model, amortized, X, options, streams, first_datapoint,
                                                       bdmc_pairs(options, X.cols()), progress)});
}

nlohmann::ordered_json Evaluation::results_json(bool per_datapoint) const {
  nlohmann::ordered_json results = nlohmann::ordered_json::object();
  for (const EvaluationRow& row : rows) {
    results[row.key] = to_json(row.estimate, per_datapoint);
    for (auto it = row.extra.begin(); it != row.extra.end(); ++it) results[row.key][it.key()] = it.value();
    if (row.key == "bdmc_upper" && bdmc_sandwich_width)
      results["bdmc_sandwich_width"] = {{"mean", bdmc_sandwich_width->mean},
                                        {"max", bdmc_sandwich_width->max},
                                        {"num_datapoints", bdmc_sandwich_width->num_datapoints}};
  }
  if (kl_to_posterior) results["kl_encoder_to_posterior"] = to_json(*kl_to_posterior, per_datapoint);
  return results;
}

nlohmann::ordered_json Evaluation::timings_json() const {
  nlohmann::ordered_json timings = nlohmann::ordered_json::object();
  for (const EvaluationRow& row : rows) timings[row.key + "_seconds"] = row.estimate.seconds;
  return timings;
}

namespace {

std::string format_error(double standard_error) {
  if (!std::isfinite(standard_error)) return "n/a";  // one sample cannot give an error
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4f", standard_error);
  return buffer;
}

std::string table_row(const std::string& name, const Estimate& e, double seconds) {
  char line[256];
  std::snprintf(line, sizeof line, "| %-28s | %12.4f | %10s | %10s | %8.1f |\n", name.c_str(), e.value,
                format_error(e.monte_carlo_standard_error).c_str(), format_error(e.dataset_standard_error).c_str(),
                seconds);
  return line;
}

}  // namespace

std::string Evaluation::to_markdown() const {
  char line[256];
  std::snprintf(line, sizeof line, "| %-28s | %12s | %10s | %10s | %8s |\n", "estimate (nats)", "mean", "MC s.e.",
                "data s.e.", "seconds");
  std::string out = line;
  out += "|" + std::string(30, '-') + "|" + std::string(14, '-') + "|" + std::string(12, '-') + "|" +
         std::string(12, '-') + "|" + std::string(10, '-') + "|\n";
  for (const EvaluationRow& row : rows) out += table_row(row.label, row.estimate, row.estimate.seconds);
  if (kl_to_posterior) out += table_row("KL(q||p(z|x)) = log p - ELBO", *kl_to_posterior, 0.0);
  return out;
}

}  // namespace vigap
