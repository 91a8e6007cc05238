#include "analyses/evaluation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "core/elapsed_seconds.hpp"
#include "estimators/bidirectional_monte_carlo.hpp"
#include "estimators/exact_marginal_likelihood.hpp"
#include "estimators/kl_divergence.hpp"
#include "estimators/kl_divergence_quadrature.hpp"

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

namespace {

/// An evaluation under way: its rows so far, and the candidates for KL(q‖p(z|x)) = log p̂(x) - ELBO.
struct EvaluationRun {
  const GenerativeModel& model;
  const PosteriorApproximation* q;
  const MatrixF& X;
  const EvaluationOptions& options;
  const RandomStreams& streams;
  Index first_datapoint = 0;
  const ProgressReporter& progress;
  Evaluation result;
  std::optional<Estimate> elbo, best_log_marginal;
  int best_rank = -1;  // quadrature 3 > ais 2 > is 1 > iwae 0

  EvaluationRun(const GenerativeModel& model_, const PosteriorApproximation* q_, const MatrixF& X_,
                const EvaluationOptions& options_, const RandomStreams& streams_, Index first_datapoint_,
                const ProgressReporter& progress_)
      : model(model_), q(q_), X(X_), options(options_), streams(streams_), first_datapoint(first_datapoint_),
        progress(progress_) {}

  void offer_log_marginal(const Estimate& e, int rank) {
    if (rank > best_rank) {
      best_rank = rank;
      best_log_marginal = e;
    }
  }
  EvaluationRow& add(const std::string& key, const std::string& label, Estimate e, double seconds) {
    e.seconds = seconds;
    result.rows.push_back({key, label, std::move(e)});
    return result.rows.back();
  }

  void run_elbo() {
    const auto start = std::chrono::steady_clock::now();
    elbo = estimate_elbo(model, *q, X, options.elbo, streams, progress);
    add("elbo", "ELBO (S=" + std::to_string(options.elbo.samples) + ")", *elbo, seconds_since(start));
  }

  void run_iwae() {
    for (Index K : options.iwae_ks) {
      IwaeBoundOptions o = options.iwae;
      o.samples = K;
      const auto start = std::chrono::steady_clock::now();
      // Substream K: each row has its own noise, unchanged by the other K of the list.
      const Estimate e = estimate_iwae_bound(model, *q, X, o, streams.with_substream(static_cast<std::uint64_t>(K)), progress);
      offer_log_marginal(e, 0);
      add("iwae_" + std::to_string(K), "IWAE (K=" + std::to_string(K) + ")", e, seconds_since(start));
    }
  }

  void run_importance_sampling() {
    const auto start = std::chrono::steady_clock::now();
    const ImportanceSamplingResult r =
        estimate_log_marginal_likelihood_by_importance_sampling(model, *q, X, options.importance, streams, progress);
    offer_log_marginal(r.log_marginal_likelihood, 1);
    add("importance_sampling", "IS, encoder (K=" + std::to_string(options.importance.samples) + ")",
        r.log_marginal_likelihood, seconds_since(start))
        .extra["mean_effective_sample_size"] = r.effective_sample_size.mean();
  }

  void run_ais() {
    const auto start = std::chrono::steady_clock::now();
    const AnnealedImportanceSamplingResult r = options.ais_from == AisStart::prior
                                                   ? annealed_importance_sampling(model, X, options.ais, streams, progress)
                                                   : annealed_importance_sampling(model, *q, X, options.ais, streams, progress);
    offer_log_marginal(r.estimate, 2);
    EvaluationRow& row = add("ais",
                             "AIS from " + to_string(options.ais_from) +
                                 " (T=" + std::to_string(options.ais.num_annealing_steps) + ")",
                             r.estimate, seconds_since(start));
    row.extra["mean_effective_sample_size"] = r.effective_sample_size.mean();
    row.extra["mean_acceptance_rate"] = r.acceptance_rate.mean();
    row.extra["gradient_evaluations"] = r.gradient_evaluations;
  }

  void run_quadrature() {
    const auto start = std::chrono::steady_clock::now();
    ExactMarginalLikelihood r = exact_marginal_likelihood(model, X, options.quadrature);
    // Dataset indices, not batch columns, in the JSON list and the warning.
    r.log_marginal_likelihood.settings["datapoints_over_tolerance"] = to_json(r.over_tolerance, first_datapoint);
    std::fputs(
        over_tolerance_warning(r.over_tolerance, options.quadrature.tolerance, "log p(x)", first_datapoint).c_str(),
        stderr);
    offer_log_marginal(r.log_marginal_likelihood, 3);
    add("quadrature", "log p(x), quadrature (exact)", r.log_marginal_likelihood, seconds_since(start))
        .extra["unconverged_datapoints"] = r.unconverged;
    if (q == nullptr) return;
    const auto kl_start = std::chrono::steady_clock::now();
    KlQuadratureOptions kl_options;
    kl_options.quadrature = options.quadrature;
    const QuadratureKlDivergence exact =
        kl_divergence_by_quadrature(model, *q, X, r.log_marginal_likelihood, kl_options, streams);
    const double kl_seconds = seconds_since(kl_start);
    add("elbo_quadrature", "ELBO, quadrature (exact)", exact.elbo, kl_seconds);
    add("kl_encoder_to_posterior_quadrature", "KL(q||p(z|x)), quadrature", exact.kl_divergence, kl_seconds);
  }

  void run_bdmc() {
    const Index n = options.bdmc_datapoints > 0 ? options.bdmc_datapoints : X.cols();
    // Simulated pair j is keyed like datapoint first_datapoint + j, so splitting a run into
    // ranges of --first-datapoint reproduces the pairs of the whole run.
    const BidirectionalMonteCarloResult r = bidirectional_monte_carlo(
        model, options.ais,
        RandomStreams::consecutive(streams.run_seed(), static_cast<std::uint64_t>(first_datapoint), n), progress);
    add("bdmc_lower", "BDMC lower (simulated data)", r.forward.estimate, r.seconds);
    add("bdmc_upper", "BDMC upper (simulated data)", r.reverse.estimate, r.seconds);
    result.bdmc_sandwich_width = BdmcSandwichWidth{r.mean_gap, r.gap.maxCoeff(), n};
  }

  void run(EvaluationEstimator estimator) {
    // Each estimator has its own purpose, so its noise is independent of the others' (KL combines
    // their errors in quadrature).
    switch (estimator) {
      case EvaluationEstimator::elbo: return run_elbo();
      case EvaluationEstimator::iwae: return run_iwae();
      case EvaluationEstimator::importance_sampling: return run_importance_sampling();
      case EvaluationEstimator::ais: return run_ais();
      case EvaluationEstimator::quadrature: return run_quadrature();
      case EvaluationEstimator::bdmc: return run_bdmc();
    }
  }
};

}  // namespace

Evaluation compute_evaluation(const GenerativeModel& model, const PosteriorApproximation* amortized, const MatrixF& X,
                              const EvaluationOptions& options, const RandomStreams& streams, Index first_datapoint,
                              const ProgressReporter& progress) {
  options.validate(model.latent_dim());
  if (X.cols() < 1) throw std::invalid_argument("compute_evaluation: no datapoints");
  if (X.rows() != model.data_dim())
    throw std::invalid_argument("compute_evaluation: data have dimension " + std::to_string(X.rows()) +
                                ", the model expects " + std::to_string(model.data_dim()));
  if (options.needs_amortized() && amortized == nullptr)
    throw std::invalid_argument(
        "compute_evaluation: elbo, iwae, is and AIS from the encoder need the amortized q(z|x), and there is none");
  if (amortized != nullptr && (amortized->num_datapoints() != X.cols() || amortized->latent_dim() != model.latent_dim()))
    throw std::invalid_argument("compute_evaluation: the amortized q covers " +
                                std::to_string(amortized->num_datapoints()) + " datapoints of dimension " +
                                std::to_string(amortized->latent_dim()) + ", expected " + std::to_string(X.cols()) +
                                " of dimension " + std::to_string(model.latent_dim()));
  if (first_datapoint < 0) throw std::invalid_argument("compute_evaluation: first_datapoint must be >= 0");
  streams.check_size(X.cols(), "compute_evaluation");

  EvaluationRun run(model, amortized, X, options, streams, first_datapoint, progress);
  for (EvaluationEstimator estimator : options.estimators) run.run(estimator);
  if (run.elbo && run.best_log_marginal) {
    Estimate kl = kl_to_posterior_from_estimates(*run.best_log_marginal, *run.elbo);
    kl.settings = {{"log_marginal_likelihood_from", run.best_log_marginal->estimator}};
    run.result.kl_to_posterior = std::move(kl);
  }
  return std::move(run.result);
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
