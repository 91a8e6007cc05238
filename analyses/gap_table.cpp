#include "analyses/gap_table.hpp"

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

namespace {


/// The stopping rule's noise: the per-datapoint standard errors of the checks the decisions were
/// made on, summarized (NaN entries, datapoints never checked, left out).
nlohmann::ordered_json check_noise_json(const VectorD& standard_errors) {
  double sum = 0.0, largest = 0.0;
  Index n = 0;
  for (Index b = 0; b < standard_errors.size(); ++b)
    if (std::isfinite(standard_errors(b))) {
      sum += standard_errors(b);
      largest = std::max(largest, standard_errors(b));
      ++n;
    }
  nlohmann::ordered_json j;
  j["mean"] = n > 0 ? nlohmann::ordered_json(sum / static_cast<double>(n)) : nlohmann::ordered_json(nullptr);
  j["max"] = n > 0 ? nlohmann::ordered_json(largest) : nlohmann::ordered_json(nullptr);
  j["datapoints"] = n;
  return j;
}

std::uint64_t family_substream(PosteriorFamily family) {
  return family == PosteriorFamily::ffg ? 1 : family == PosteriorFamily::full ? 2 : 3;
}

std::string stopped_summary(Index steps, Index stopped, Index count) {
  return std::to_string(steps) + " steps, " + std::to_string(stopped) + "/" + std::to_string(count) +
         " stopped by rule";
}

/// log p(x) by quadrature (with its over-tolerance report) or by AIS.
Estimate log_marginal_likelihood(const GenerativeModel& model, const MatrixF& X, const GapTableOptions& options,
                                 const RandomStreams& streams, Index first_datapoint, const ProgressReporter& progress) {
  if (options.uses_quadrature(model.latent_dim())) {
    const ExactMarginalLikelihood r = exact_marginal_likelihood(model, X, options.quadrature);
    Estimate e = r.log_marginal_likelihood;
    e.settings["unconverged_datapoints"] = r.unconverged;
    e.settings["datapoints_over_tolerance"] = to_json(r.over_tolerance, first_datapoint);
    std::fputs(over_tolerance_warning(r.over_tolerance, options.quadrature.tolerance, "log p(x)", first_datapoint).c_str(),
               stderr);
    return e;
  }
  const AnnealedImportanceSamplingResult r = annealed_importance_sampling(model, X, options.ais, streams, progress);
  Estimate e = r.estimate;
  e.settings["mean_acceptance_rate"] = r.acceptance_rate.mean();
  e.settings["mean_effective_sample_size"] = r.effective_sample_size.mean();
  return e;
}

/// q*_F of one family row (the flow from q*_FFG when that row was fitted): fits it, fills the
/// row's optimization record.
LocalPosteriorFitResult fit_family(const GenerativeModel& model, const MatrixF& X, PosteriorFamily family,
                                   const DiagonalGaussian& initial, const std::optional<LocalPosteriorFitResult>& fitted_ffg,
                                   const GapTableOptions& options, const RandomStreams& stream, GapTableRow& row,
                                   const ProgressReporter& progress) {
  const bool from_ffg = family == PosteriorFamily::flow && fitted_ffg.has_value();
  const DiagonalGaussian& start = from_ffg ? fitted_ffg->diagonal() : initial;
  LocalPosteriorFitResult fit = fit_local_posterior(model, X, family, start, {options.gaussian, options.flow}, stream, progress);
  const Index stopped = std::count(fit.stopped_by_rule.begin(), fit.stopped_by_rule.end(), true);
  row.optimization = {{"steps", fit.steps},
                      {"converged", fit.all_stopped_by_rule},
                      {"datapoints_stopped_by_rule", stopped},
                      {"gradient_evaluations", fit.gradient_evaluations},
                      {"decoder_evaluations", fit.total_decoder_evaluations()},
                      {"started_from", from_ffg ? "q*_FFG" : initial.describe()},
                      {"start_or_best", fit.selection.to_json()},
                      {"check_standard_error_at_decision", check_noise_json(fit.final_objective_standard_error)}};
  row.optimization_summary = stopped_summary(fit.steps, stopped, X.cols());
  return fit;
}

}  // namespace

GapTable compute_gap_table(const GenerativeModel& model, const PosteriorApproximation& amortized,
                           const std::string& amortized_name, const DiagonalGaussian& encoder_q, const MatrixF& X,
                           const GapTableOptions& options, const RandomStreams& streams, Index first_datapoint,
                           const ProgressReporter& progress) {
  const Index latent_dim = model.latent_dim();
  options.validate(latent_dim);
  const Index count = X.cols();
  if (count < 1) throw std::invalid_argument("compute_gap_table: no datapoints");
  if (X.rows() != model.data_dim())
    throw std::invalid_argument("compute_gap_table: data have dimension " + std::to_string(X.rows()) +
                                ", the model expects " + std::to_string(model.data_dim()));
  if (encoder_q.num_datapoints() != count || encoder_q.latent_dim() != latent_dim)
    throw std::invalid_argument("compute_gap_table: the encoder's q covers " + std::to_string(encoder_q.num_datapoints()) +
                                " datapoints of dimension " + std::to_string(encoder_q.latent_dim()) + ", expected " +
                                std::to_string(count) + " of dimension " + std::to_string(latent_dim));
  streams.check_size(count, "compute_gap_table");
  const auto total_start = std::chrono::steady_clock::now();

  GapTable table;
  table.model = model.describe();
  table.amortized_name = amortized_name;
  table.amortized_approximation = amortized.describe();
  table.log_px_by_quadrature = options.uses_quadrature(latent_dim);
  table.exact_elbos = latent_dim <= 3;
  table.init = options.init;
  table.eval_samples = options.eval_samples;

  progress.line("gap-table: log p(x) by " + std::string(table.log_px_by_quadrature ? "quadrature" : "AIS") + " on " +
                std::to_string(count) + " datapoints");
  auto start = std::chrono::steady_clock::now();
  table.log_px = log_marginal_likelihood(model, X, options, streams, first_datapoint, progress);
  table.log_px.seconds = table.log_px_seconds = seconds_since(start);

  KlQuadratureOptions kl_options;
  kl_options.quadrature = options.quadrature;
  ElboOptions elbo_options;
  elbo_options.samples = options.eval_samples;
  elbo_options.kl_form = ElboKlForm::automatic;  // analytic KL for diagonal Gaussians, Monte Carlo otherwise
  // L[q] of one approximation, from the streams of its row.
  const auto evaluate_elbo = [&](const PosteriorApproximation& q, const RandomStreams& stream) {
    if (table.exact_elbos) return kl_divergence_by_quadrature(model, q, X, table.log_px, kl_options, stream).elbo;
    return estimate_elbo(model, q, X, elbo_options, stream, progress);
  };

  progress.line("gap-table: L[q] of the " + amortized_name);
  start = std::chrono::steady_clock::now();
  table.amortized_elbo = evaluate_elbo(amortized, streams);
  table.amortized_elbo_seconds = seconds_since(start);
  table.inference_gap = inference_gap(table.log_px, table.amortized_elbo);

  const DiagonalGaussian initial =
      options.init == QStarStart::encoder
          ? encoder_q
          : DiagonalGaussian(MatrixD::Zero(latent_dim, count), MatrixD::Zero(latent_dim, count), "N(0, I)");
  // The flow family contains the diagonal Gaussian (identity flow), so a local flow starts from
  // q*_FFG when that row was fitted before it: its optimum can then only be better.
  std::optional<LocalPosteriorFitResult> fitted_ffg;
  for (PosteriorFamily family : options.families) {
    GapTableRow row;
    row.family = family;
    const std::string& label = posterior_family_info(family).label;
    const RandomStreams stream = streams.with_substream(family_substream(family));
    progress.line("gap-table: fitting " + label + " per datapoint");
    start = std::chrono::steady_clock::now();
    LocalPosteriorFitResult fit = fit_family(model, X, family, initial, fitted_ffg, options, stream, row, progress);
    row.optimization_seconds = seconds_since(start);
    progress.line("gap-table: L[q*] of " + label + " (" + row.optimization_summary + ")");
    start = std::chrono::steady_clock::now();
    row.elbo = evaluate_elbo(fit.approximation(), stream);
    row.elbo_seconds = seconds_since(start);
    row.approximation = fit.approximation().describe();
    if (family == PosteriorFamily::ffg) fitted_ffg = std::move(fit);
    const GapDecomposition gaps = decompose_gaps(table.log_px, row.elbo, table.amortized_elbo);
    row.approximation_gap = gaps.approximation_gap;
    row.amortization_gap = gaps.amortization_gap;
    row.identity_max_abs_error = gaps.identity_max_abs_error;
    table.rows.push_back(std::move(row));
  }
  table.seconds = seconds_since(total_start);
  return table;
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
