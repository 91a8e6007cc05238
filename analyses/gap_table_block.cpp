#include "analyses/gap_table_block.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <stdexcept>

#include "core/elapsed_seconds.hpp"
#include "core/io/exact_json.hpp"
#include "core/io/json_fields.hpp"
#include "core/progress_reporter.hpp"
#include "core/variational/local_posterior_fit.hpp"
#include "estimators/elbo_estimator.hpp"
#include "estimators/estimate_concatenation.hpp"
#include "estimators/exact_marginal_likelihood.hpp"
#include "estimators/kl_divergence_quadrature.hpp"

namespace vigap {

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

/// log p(x) of the block by quadrature (with its over-tolerance report) or by AIS.
void log_marginal_likelihood(const GenerativeModel& model, const MatrixF& X, const GapTableOptions& options,
                             const RandomStreams& streams, Index first_datapoint, GapTableBlock& block,
                             const ProgressReporter& progress) {
  if (options.uses_quadrature(model.latent_dim())) {
    const ExactMarginalLikelihood r = exact_marginal_likelihood(model, X, options.quadrature);
    block.log_px = r.log_marginal_likelihood;
    block.log_px.settings["unconverged_datapoints"] = r.unconverged;
    block.log_px.settings["datapoints_over_tolerance"] = to_json(r.over_tolerance, first_datapoint);
    block.quadrature_coarse_nodes = r.coarse_nodes;
    block.quadrature_refinement_nodes = r.refinement_nodes;
    std::fputs(over_tolerance_warning(r.over_tolerance, options.quadrature.tolerance, "log p(x)", first_datapoint).c_str(),
               stderr);
    return;
  }
  const AnnealedImportanceSamplingResult r = annealed_importance_sampling(model, X, options.ais, streams, progress);
  block.log_px = r.estimate;
  block.ais_acceptance_rate = r.acceptance_rate;
  block.ais_effective_sample_size = r.effective_sample_size;
}

/// q*_F of one family row (the flow from q*_FFG when that row was fitted): fits it, fills the row.
LocalPosteriorFitResult fit_family(const GenerativeModel& model, const MatrixF& X, PosteriorFamily family,
                             const DiagonalGaussian& initial, const std::optional<LocalPosteriorFitResult>& fitted_ffg,
                             const GapTableOptions& options, const RandomStreams& stream, GapTableRowBlock& row,
                                   const ProgressReporter& progress) {
  const bool from_ffg = family == PosteriorFamily::flow && fitted_ffg.has_value();
  const DiagonalGaussian& start = from_ffg ? fitted_ffg->diagonal() : initial;
  LocalPosteriorFitResult fit = fit_local_posterior(model, X, family, start, {options.gaussian, options.flow}, stream, progress);
  row.steps = fit.steps;
  row.converged = fit.all_stopped_by_rule;
  row.gradient_evaluations = fit.gradient_evaluations;
  row.decoder_evaluations = fit.decoder_evaluations;
  row.stopped_by_rule = fit.stopped_by_rule;
  row.check_standard_error = fit.final_objective_standard_error;
  row.selection = fit.selection;
  row.started_from = from_ffg ? "q*_FFG" : initial.describe();
  return fit;
}

void check_block_shapes(const GenerativeModel& model, const DiagonalGaussian& encoder_q, const MatrixF& X,
                        const RandomStreams& streams) {
  const Index count = X.cols(), latent_dim = model.latent_dim();
  if (count < 1) throw std::invalid_argument("compute_gap_table: no datapoints");
  if (X.rows() != model.data_dim())
    throw std::invalid_argument("compute_gap_table: data have dimension " + std::to_string(X.rows()) +
                                ", the model expects " + std::to_string(model.data_dim()));
  if (encoder_q.num_datapoints() != count || encoder_q.latent_dim() != latent_dim)
    throw std::invalid_argument("compute_gap_table: the encoder's q covers " + std::to_string(encoder_q.num_datapoints()) +
                                " datapoints of dimension " + std::to_string(encoder_q.latent_dim()) + ", expected " +
                                std::to_string(count) + " of dimension " + std::to_string(latent_dim));
  streams.check_size(count, "compute_gap_table");
}

}  // namespace

GapTableBlock compute_gap_table_block(const GenerativeModel& model, const PosteriorApproximation& amortized,
                                      const std::string& amortized_name, const DiagonalGaussian& encoder_q,
                                      const MatrixF& X, const GapTableOptions& options, const RandomStreams& streams,
                                      Index first_datapoint, const ProgressReporter& progress) {
  const Index latent_dim = model.latent_dim();
  options.validate(latent_dim);
  check_block_shapes(model, encoder_q, X, streams);
  const Index count = X.cols();
  const auto total_start = std::chrono::steady_clock::now();

  GapTableBlock block;
  block.first_datapoint = first_datapoint;
  block.model = model.describe();
  block.amortized_name = amortized_name;
  block.amortized_approximation = amortized.describe();
  block.log_px_by_quadrature = options.uses_quadrature(latent_dim);
  block.exact_elbos = latent_dim <= 3;
  block.init = options.init;
  block.eval_samples = options.eval_samples;

  progress.line("gap-table: log p(x) by " + std::string(block.log_px_by_quadrature ? "quadrature" : "AIS") + " on " +
                std::to_string(count) + " datapoints");
  auto start = std::chrono::steady_clock::now();
  log_marginal_likelihood(model, X, options, streams, first_datapoint, block, progress);
  block.log_px.seconds = block.log_px_seconds = seconds_since(start);

  KlQuadratureOptions kl_options;
  kl_options.quadrature = options.quadrature;
  ElboOptions elbo_options;
  elbo_options.samples = options.eval_samples;
  elbo_options.kl_form = ElboKlForm::automatic;  // analytic KL for diagonal Gaussians, Monte Carlo otherwise
  // L[q] of one approximation, from the streams of its row.
  const auto evaluate_elbo = [&](const PosteriorApproximation& q, const RandomStreams& stream) {
    if (block.exact_elbos) return kl_divergence_by_quadrature(model, q, X, block.log_px, kl_options, stream).elbo;
    return estimate_elbo(model, q, X, elbo_options, stream, progress);
  };

  progress.line("gap-table: L[q] of the " + amortized_name);
  start = std::chrono::steady_clock::now();
  block.amortized_elbo = evaluate_elbo(amortized, streams);
  block.amortized_elbo_seconds = seconds_since(start);

  const DiagonalGaussian initial =
      options.init == QStarStart::encoder
          ? encoder_q
          : DiagonalGaussian(MatrixD::Zero(latent_dim, count), MatrixD::Zero(latent_dim, count), "N(0, I)");
  // The flow family contains the diagonal Gaussian (identity flow), so a local flow starts from
  // q*_FFG when that row was fitted before it: its optimum can then only be better.
  std::optional<LocalPosteriorFitResult> fitted_ffg;
  for (PosteriorFamily family : options.families) {
    GapTableRowBlock row;
    row.family = family;
    const std::string& label = posterior_family_info(family).label;
    const RandomStreams stream = streams.with_substream(family_substream(family));
    progress.line("gap-table: fitting " + label + " per datapoint");
    start = std::chrono::steady_clock::now();
    LocalPosteriorFitResult fit = fit_family(model, X, family, initial, fitted_ffg, options, stream, row, progress);
    row.optimization_seconds = seconds_since(start);
    const Index stopped = std::count(row.stopped_by_rule.begin(), row.stopped_by_rule.end(), true);
    progress.line("gap-table: L[q*] of " + label + " (" + stopped_summary(row.steps, stopped, count) + ")");
    start = std::chrono::steady_clock::now();
    row.elbo = evaluate_elbo(fit.approximation(), stream);
    row.elbo_seconds = seconds_since(start);
    row.approximation = fit.approximation().describe();
    if (family == PosteriorFamily::ffg) fitted_ffg = std::move(fit);
    block.rows.push_back(std::move(row));
  }
  block.seconds = seconds_since(total_start);
  return block;
}

namespace {

nlohmann::ordered_json selection_to_json(const StartOrBestSelection& s) {
  return {{"samples", s.samples},
          {"start_elbo", exact_json(s.start_elbo)},
          {"best_elbo", exact_json(s.best_elbo)},
          {"difference_standard_error", exact_json(s.difference_standard_error)},
          {"kept_start", s.kept_start}};
}

StartOrBestSelection selection_from_json(const nlohmann::ordered_json& j, const std::string& what) {
  StartOrBestSelection s;
  s.samples = json_field<Index>(j, "samples", what);
  s.start_elbo = exact_vector(nlohmann::json(json_member(j, "start_elbo", what)), what + ".start_elbo");
  s.best_elbo = exact_vector(nlohmann::json(json_member(j, "best_elbo", what)), what + ".best_elbo");
  s.difference_standard_error =
      exact_vector(nlohmann::json(json_member(j, "difference_standard_error", what)), what + ".difference_standard_error");
  s.kept_start = bool_vector(nlohmann::json(json_member(j, "kept_start", what)), what + ".kept_start");
  return s;
}

nlohmann::ordered_json row_to_json(const GapTableRowBlock& r) {
  nlohmann::ordered_json j;
  j["family"] = vigap::to_string(r.family);
  j["approximation"] = r.approximation;
  j["started_from"] = r.started_from;
  j["elbo"] = estimate_block_to_json(r.elbo);
  j["steps"] = r.steps;
  j["converged"] = r.converged;
  j["gradient_evaluations"] = r.gradient_evaluations;
  j["decoder_evaluations"] = r.decoder_evaluations;
  j["stopped_by_rule"] = r.stopped_by_rule;
  j["check_standard_error"] = exact_json(r.check_standard_error);
  j["selection"] = selection_to_json(r.selection);
  j["optimization_seconds"] = exact_json(r.optimization_seconds);
  j["elbo_seconds"] = exact_json(r.elbo_seconds);
  return j;
}

GapTableRowBlock row_from_json(const nlohmann::ordered_json& j, const std::string& what) {
  GapTableRowBlock r;
  const std::vector<PosteriorFamily> family =
      parse_posterior_families(json_field<std::string>(j, "family", what), what + ".family", local_posterior_families());
  if (family.size() != 1) throw std::invalid_argument(what + ".family: expected one q* family");
  r.family = family.front();
  r.approximation = json_field<std::string>(j, "approximation", what);
  r.started_from = json_field<std::string>(j, "started_from", what);
  r.elbo = estimate_block_from_json(json_member(j, "elbo", what), what + ".elbo");
  r.steps = json_field<Index>(j, "steps", what);
  r.converged = json_field<bool>(j, "converged", what);
  r.gradient_evaluations = json_field<Index>(j, "gradient_evaluations", what);
  r.decoder_evaluations = index_vector(nlohmann::json(json_member(j, "decoder_evaluations", what)), what + ".decoder_evaluations");
  r.stopped_by_rule = bool_vector(nlohmann::json(json_member(j, "stopped_by_rule", what)), what + ".stopped_by_rule");
  r.check_standard_error =
      exact_vector(nlohmann::json(json_member(j, "check_standard_error", what)), what + ".check_standard_error");
  r.selection = selection_from_json(json_member(j, "selection", what), what + ".selection");
  r.optimization_seconds = exact_double(nlohmann::json(json_member(j, "optimization_seconds", what)), what);
  r.elbo_seconds = exact_double(nlohmann::json(json_member(j, "elbo_seconds", what)), what);
  return r;
}

}  // namespace

nlohmann::ordered_json GapTableBlock::to_json() const {
  nlohmann::ordered_json j;
  j["first_datapoint"] = first_datapoint;
  j["model"] = model;
  j["amortized_name"] = amortized_name;
  j["amortized_approximation"] = amortized_approximation;
  j["log_px_by_quadrature"] = log_px_by_quadrature;
  j["exact_elbos"] = exact_elbos;
  j["init"] = vigap::to_string(init);
  j["eval_samples"] = eval_samples;
  j["log_px"] = estimate_block_to_json(log_px);
  j["ais_acceptance_rate"] = exact_json(ais_acceptance_rate);
  j["ais_effective_sample_size"] = exact_json(ais_effective_sample_size);
  j["quadrature_coarse_nodes"] = quadrature_coarse_nodes;
  j["quadrature_refinement_nodes"] = quadrature_refinement_nodes;
  j["amortized_elbo"] = estimate_block_to_json(amortized_elbo);
  nlohmann::ordered_json rows_json = nlohmann::ordered_json::array();
  for (const GapTableRowBlock& r : rows) rows_json.push_back(row_to_json(r));
  j["rows"] = rows_json;
  j["log_px_seconds"] = exact_json(log_px_seconds);
  j["amortized_elbo_seconds"] = exact_json(amortized_elbo_seconds);
  j["seconds"] = exact_json(seconds);
  return j;
}

GapTableBlock gap_table_block_from_json(const nlohmann::ordered_json& j, const std::string& what) {
  GapTableBlock b;
  b.first_datapoint = json_field<Index>(j, "first_datapoint", what);
  b.model = json_field<std::string>(j, "model", what);
  b.amortized_name = json_field<std::string>(j, "amortized_name", what);
  b.amortized_approximation = json_field<std::string>(j, "amortized_approximation", what);
  b.log_px_by_quadrature = json_field<bool>(j, "log_px_by_quadrature", what);
  b.exact_elbos = json_field<bool>(j, "exact_elbos", what);
  b.init = parse_qstar_start(json_field<std::string>(j, "init", what), what + ".init");
  b.eval_samples = json_field<Index>(j, "eval_samples", what);
  b.log_px = estimate_block_from_json(json_member(j, "log_px", what), what + ".log_px");
  b.ais_acceptance_rate = exact_vector(nlohmann::json(json_member(j, "ais_acceptance_rate", what)), what + ".ais_acceptance_rate");
  b.ais_effective_sample_size =
      exact_vector(nlohmann::json(json_member(j, "ais_effective_sample_size", what)), what + ".ais_effective_sample_size");
  b.quadrature_coarse_nodes = json_field<Index>(j, "quadrature_coarse_nodes", what);
  b.quadrature_refinement_nodes = json_field<Index>(j, "quadrature_refinement_nodes", what);
  b.amortized_elbo = estimate_block_from_json(json_member(j, "amortized_elbo", what), what + ".amortized_elbo");
  const nlohmann::ordered_json& rows = json_member(j, "rows", what);
  if (!rows.is_array()) throw std::invalid_argument(what + ".rows: expected an array");
  for (std::size_t i = 0; i < rows.size(); ++i) b.rows.push_back(row_from_json(rows[i], what + ".rows[" + std::to_string(i) + "]"));
  b.log_px_seconds = exact_double(nlohmann::json(json_member(j, "log_px_seconds", what)), what);
  b.amortized_elbo_seconds = exact_double(nlohmann::json(json_member(j, "amortized_elbo_seconds", what)), what);
  b.seconds = exact_double(nlohmann::json(json_member(j, "seconds", what)), what);
  return b;
}

namespace {

VectorD concatenated(const std::vector<GapTableBlock>& blocks, VectorD GapTableBlock::*vector) {
  Index total = 0;
  for (const GapTableBlock& b : blocks) total += (b.*vector).size();
  VectorD out(total);
  Index at = 0;
  for (const GapTableBlock& b : blocks) {
    out.segment(at, (b.*vector).size()) = b.*vector;
    at += (b.*vector).size();
  }
  return out;
}

/// log p(x) of the whole range: the blocks' joined, with the quadrature's node count or the AIS
/// means recomputed over every datapoint.
Estimate assemble_log_px(const std::vector<GapTableBlock>& blocks) {
  std::vector<Estimate> copies;
  Index refinement_nodes = 0, count = 0;
  for (const GapTableBlock& b : blocks) {
    copies.push_back(b.log_px);
    if (b.log_px_by_quadrature) copies.back().samples_per_datapoint = b.quadrature_coarse_nodes;  // joined below
    refinement_nodes += b.quadrature_refinement_nodes;
    count += b.size();
  }
  std::vector<const Estimate*> parts;
  for (const Estimate& e : copies) parts.push_back(&e);
  Estimate e = concatenate_estimates(parts);
  if (blocks.front().log_px_by_quadrature) {
    e.samples_per_datapoint = blocks.front().quadrature_coarse_nodes + (refinement_nodes + count - 1) / count;
  } else {
    e.settings["mean_acceptance_rate"] = concatenated(blocks, &GapTableBlock::ais_acceptance_rate).mean();
    e.settings["mean_effective_sample_size"] = concatenated(blocks, &GapTableBlock::ais_effective_sample_size).mean();
  }
  return e;
}

/// One family's row of the whole range from its blocks' rows (row `r` of each block).
GapTableRow assemble_row(const std::vector<GapTableBlock>& blocks, std::size_t r, const GapTable& table) {
  const GapTableRowBlock& first = blocks.front().rows[r];
  std::vector<const Estimate*> elbos;
  GapTableRow row;
  row.family = first.family;
  row.approximation = first.approximation;
  Index steps = 0, gradient_evaluations = 0, decoder_evaluations = 0, stopped = 0, count = 0;
  bool converged = true;
  StartOrBestSelection selection;
  selection.samples = first.selection.samples;
  VectorD check_standard_error(table.log_px.per_datapoint.size());
  std::vector<double> start_elbo, best_elbo, difference_standard_error;
  for (const GapTableBlock& b : blocks) {
    const GapTableRowBlock& part = b.rows[r];
    if (part.family != first.family || part.approximation != first.approximation ||
        part.started_from != first.started_from || part.selection.samples != first.selection.samples)
      throw std::invalid_argument("assemble_gap_table: the blocks' " + vigap::to_string(first.family) +
                                  " rows disagree (" + first.approximation + " from " + first.started_from + " and " +
                                  part.approximation + " from " + part.started_from + ")");
    elbos.push_back(&part.elbo);
    steps = std::max(steps, part.steps);
    converged = converged && part.converged;
    gradient_evaluations += part.gradient_evaluations;
    for (Index e : part.decoder_evaluations) decoder_evaluations += e;
    stopped += std::count(part.stopped_by_rule.begin(), part.stopped_by_rule.end(), true);
    check_standard_error.segment(count, part.check_standard_error.size()) = part.check_standard_error;
    count += part.check_standard_error.size();
    for (Index i = 0; i < part.selection.start_elbo.size(); ++i) {
      start_elbo.push_back(part.selection.start_elbo(i));
      best_elbo.push_back(part.selection.best_elbo(i));
      difference_standard_error.push_back(part.selection.difference_standard_error(i));
    }
    selection.kept_start.insert(selection.kept_start.end(), part.selection.kept_start.begin(), part.selection.kept_start.end());
    row.optimization_seconds += part.optimization_seconds;
    row.elbo_seconds += part.elbo_seconds;
  }
  if (count != check_standard_error.size())
    throw std::invalid_argument("assemble_gap_table: the " + vigap::to_string(first.family) + " rows cover " +
                                std::to_string(count) + " datapoints, log p(x) " + std::to_string(check_standard_error.size()));
  const auto to_vector = [](const std::vector<double>& v) { return VectorD(Eigen::Map<const VectorD>(v.data(), static_cast<Index>(v.size()))); };
  selection.start_elbo = to_vector(start_elbo);
  selection.best_elbo = to_vector(best_elbo);
  selection.difference_standard_error = to_vector(difference_standard_error);
  row.elbo = concatenate_estimates(elbos);
  row.optimization = {{"steps", steps},
                      {"converged", converged},
                      {"datapoints_stopped_by_rule", stopped},
                      {"gradient_evaluations", gradient_evaluations},
                      {"decoder_evaluations", decoder_evaluations},
                      {"started_from", first.started_from},
                      {"start_or_best", selection.to_json()},
                      {"check_standard_error_at_decision", check_noise_json(check_standard_error)}};
  row.check_standard_error = check_standard_error;
  row.optimization_summary = stopped_summary(steps, stopped, count);
  const GapDecomposition gaps = decompose_gaps(table.log_px, row.elbo, table.amortized_elbo);
  row.approximation_gap = gaps.approximation_gap;
  row.amortization_gap = gaps.amortization_gap;
  row.identity_max_abs_error = gaps.identity_max_abs_error;
  return row;
}

void check_consecutive(const std::vector<GapTableBlock>& blocks) {
  if (blocks.empty()) throw std::invalid_argument("assemble_gap_table: no blocks");
  const GapTableBlock& first = blocks.front();
  Index next = first.first_datapoint;
  for (const GapTableBlock& b : blocks) {
    if (b.first_datapoint != next)
      throw std::invalid_argument("assemble_gap_table: a block starts at datapoint " + std::to_string(b.first_datapoint) +
                                  ", expected " + std::to_string(next) + " (blocks must be consecutive, in order)");
    next += b.size();
    if (b.model != first.model || b.amortized_name != first.amortized_name ||
        b.amortized_approximation != first.amortized_approximation ||
        b.log_px_by_quadrature != first.log_px_by_quadrature || b.exact_elbos != first.exact_elbos ||
        b.init != first.init || b.eval_samples != first.eval_samples || b.rows.size() != first.rows.size())
      throw std::invalid_argument("assemble_gap_table: the block at datapoint " + std::to_string(b.first_datapoint) +
                                  " was computed with another model, approximation or settings than the first");
  }
}

}  // namespace

GapTable assemble_gap_table(const std::vector<GapTableBlock>& blocks) {
  check_consecutive(blocks);
  const GapTableBlock& first = blocks.front();
  GapTable table;
  table.model = first.model;
  table.amortized_name = first.amortized_name;
  table.amortized_approximation = first.amortized_approximation;
  table.log_px_by_quadrature = first.log_px_by_quadrature;
  table.exact_elbos = first.exact_elbos;
  table.init = first.init;
  table.eval_samples = first.eval_samples;
  table.log_px = assemble_log_px(blocks);
  std::vector<const Estimate*> amortized;
  for (const GapTableBlock& b : blocks) {
    amortized.push_back(&b.amortized_elbo);
    table.log_px_seconds += b.log_px_seconds;
    table.amortized_elbo_seconds += b.amortized_elbo_seconds;
    table.seconds += b.seconds;
  }
  table.log_px.seconds = table.log_px_seconds;
  table.amortized_elbo = concatenate_estimates(amortized);
  table.inference_gap = inference_gap(table.log_px, table.amortized_elbo);
  for (std::size_t r = 0; r < first.rows.size(); ++r) table.rows.push_back(assemble_row(blocks, r, table));
  return table;
}

}  // namespace vigap
