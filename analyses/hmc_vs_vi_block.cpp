#include "analyses/hmc_vs_vi_block.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include "core/io/exact_json.hpp"
#include "estimators/estimate_concatenation.hpp"

namespace vigap {

namespace {

using Json = nlohmann::ordered_json;

/// j[key], or std::invalid_argument naming `what` and the key.
const Json& field(const Json& j, const std::string& key, const std::string& what) {
  if (!j.is_object() || !j.contains(key)) throw std::invalid_argument(what + ": missing field '" + key + "'");
  return j.at(key);
}

template <class T>
T typed(const Json& j, const std::string& key, const std::string& what) {
  try {
    return field(j, key, what).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw std::invalid_argument(what + ": field '" + key + "' has the wrong type");
  }
}

Json tallies_json(const HmcVsViRowTallies& t) {
  return {{"datapoints", t.datapoints},
          {"decoder_evaluations_total", t.decoder_evaluations_total},
          {"acceptance_rate", exact_json(t.acceptance_rate)},
          {"effective_sample_size", exact_json(t.effective_sample_size)},
          {"divergences", t.divergences},
          {"max_r_hat", exact_json(t.max_r_hat)},
          {"steps", t.steps},
          {"stopped_by_patience", t.stopped_by_patience},
          {"all_stopped_by_patience", t.all_stopped_by_patience},
          {"max_check_standard_error", exact_json(t.max_check_standard_error)}};
}

HmcVsViRowTallies tallies_from_json(const Json& j, const std::string& what) {
  HmcVsViRowTallies t;
  t.datapoints = typed<Index>(j, "datapoints", what);
  t.decoder_evaluations_total = typed<Index>(j, "decoder_evaluations_total", what);
  t.acceptance_rate = exact_vector(field(j, "acceptance_rate", what), what + ": acceptance_rate");
  t.effective_sample_size = exact_vector(field(j, "effective_sample_size", what), what + ": effective_sample_size");
  t.divergences = typed<Index>(j, "divergences", what);
  t.max_r_hat = exact_double(field(j, "max_r_hat", what), what + ": max_r_hat");
  t.steps = typed<Index>(j, "steps", what);
  t.stopped_by_patience = typed<Index>(j, "stopped_by_patience", what);
  t.all_stopped_by_patience = typed<bool>(j, "all_stopped_by_patience", what);
  t.max_check_standard_error =
      exact_double(field(j, "max_check_standard_error", what), what + ": max_check_standard_error");
  return t;
}

Json posterior_row_json(const HmcVsViPosteriorRow& r) {
  Json j;
  j["budget"] = r.budget ? Json(*r.budget) : Json();
  j["feasible"] = r.feasible;
  j["decoder_evaluations"] = exact_json(r.decoder_evaluations);
  j["total_variation"] = exact_json(r.total_variation);
  j["mean_error"] = exact_json(r.mean_error);
  j["covariance_error"] = exact_json(r.covariance_error);
  j["kl_divergence"] = r.kl_divergence ? estimate_block_to_json(*r.kl_divergence) : Json();
  j["iid_total_variation"] = exact_json(r.iid_total_variation);
  j["iid_mean_error"] = exact_json(r.iid_mean_error);
  j["iid_covariance_error"] = exact_json(r.iid_covariance_error);
  j["details"] = r.details;
  j["tallies"] = tallies_json(r.tallies);
  return j;
}

HmcVsViPosteriorRow posterior_row_from_json(const Json& j, const std::string& what) {
  HmcVsViPosteriorRow r;
  if (!field(j, "budget", what).is_null()) r.budget = typed<Index>(j, "budget", what);
  r.feasible = typed<bool>(j, "feasible", what);
  r.decoder_evaluations = exact_double(field(j, "decoder_evaluations", what), what + ": decoder_evaluations");
  const auto vector = [&](const char* key) { return exact_vector(field(j, key, what), what + ": " + key); };
  r.total_variation = vector("total_variation");
  r.mean_error = vector("mean_error");
  r.covariance_error = vector("covariance_error");
  if (!field(j, "kl_divergence", what).is_null())
    r.kl_divergence = estimate_block_from_json(j.at("kl_divergence"), what + ": kl_divergence");
  r.iid_total_variation = vector("iid_total_variation");
  r.iid_mean_error = vector("iid_mean_error");
  r.iid_covariance_error = vector("iid_covariance_error");
  r.details = field(j, "details", what);
  r.tallies = tallies_from_json(field(j, "tallies", what), what + ": tallies");
  return r;
}

Json log_marginal_row_json(const HmcVsViLogMarginalRow& r) {
  Json j;
  j["budget"] = r.budget;
  j["feasible"] = r.feasible;
  j["decoder_evaluations"] = exact_json(r.decoder_evaluations);
  j["error"] = estimate_block_to_json(r.error);
  j["mean_absolute_error"] = exact_json(r.mean_absolute_error);
  j["settings"] = r.settings;
  j["tallies"] = tallies_json(r.tallies);
  return j;
}

HmcVsViLogMarginalRow log_marginal_row_from_json(const Json& j, const std::string& what) {
  HmcVsViLogMarginalRow r;
  r.budget = typed<Index>(j, "budget", what);
  r.feasible = typed<bool>(j, "feasible", what);
  r.decoder_evaluations = exact_double(field(j, "decoder_evaluations", what), what + ": decoder_evaluations");
  r.error = estimate_block_from_json(field(j, "error", what), what + ": error");
  r.mean_absolute_error = exact_double(field(j, "mean_absolute_error", what), what + ": mean_absolute_error");
  r.settings = field(j, "settings", what);
  r.tallies = tallies_from_json(field(j, "tallies", what), what + ": tallies");
  return r;
}

template <class Row>
Json rows_json(const std::vector<Row>& rows, Json (*row_json)(const Row&)) {
  Json a = Json::array();
  for (const Row& r : rows) a.push_back(row_json(r));
  return a;
}

template <class Row>
std::vector<Row> rows_from_json(const Json& j, const std::string& key, const std::string& what,
                                Row (*from_json)(const Json&, const std::string&)) {
  const Json& a = field(j, key, what);
  if (!a.is_array()) throw std::invalid_argument(what + ": field '" + key + "' is not an array");
  std::vector<Row> rows;
  for (std::size_t i = 0; i < a.size(); ++i) rows.push_back(from_json(a[i], what + ": " + key + "[" + std::to_string(i) + "]"));
  return rows;
}

/// The study's per-method row lists, paired with their JSON keys.
template <class Study>
auto posterior_lists(Study& s) {
  return std::vector<std::pair<std::string, decltype(&s.hmc)>>{{"hmc", &s.hmc},
                                                                {"q_star_diagonal", &s.q_star_diagonal},
                                                                {"q_star_full_covariance", &s.q_star_full_covariance},
                                                                {"local_flow", &s.local_flow}};
}
template <class Study>
auto log_marginal_lists(Study& s) {
  return std::vector<std::pair<std::string, decltype(&s.ais_from_prior)>>{
      {"ais_from_prior", &s.ais_from_prior},
      {"ais_from_encoder_q", &s.ais_from_encoder_q},
      {"importance_sampling_from_encoder_q", &s.importance_sampling_from_encoder_q}};
}

/// The study's timings in a fixed order.
std::vector<double*> seconds_of(HmcVsVi& s) {
  return {&s.exact_seconds,        &s.amortized_seconds,
          &s.hmc_seconds,          &s.q_star_diagonal_seconds,
          &s.q_star_full_covariance_seconds, &s.local_flow_seconds,
          &s.ais_prior_seconds,    &s.ais_encoder_seconds,
          &s.importance_sampling_seconds, &s.seconds};
}

VectorD concatenated(const std::vector<const VectorD*>& parts) {
  Index n = 0;
  for (const VectorD* p : parts) n += p->size();
  VectorD joined(n);
  Index at = 0;
  for (const VectorD* p : parts) joined.segment(at, p->size()) = *p, at += p->size();
  return joined;
}

/// The tallies of the joined rows (the merge rules of the header).
HmcVsViRowTallies merge_tallies(const std::vector<const HmcVsViRowTallies*>& parts) {
  HmcVsViRowTallies t;
  std::vector<const VectorD*> acceptance, ess;
  bool any_r_hat = false;
  for (const HmcVsViRowTallies* p : parts) {
    t.datapoints += p->datapoints;
    t.decoder_evaluations_total += p->decoder_evaluations_total;
    acceptance.push_back(&p->acceptance_rate);
    ess.push_back(&p->effective_sample_size);
    t.divergences += p->divergences;
    if (std::isfinite(p->max_r_hat)) t.max_r_hat = any_r_hat ? std::max(t.max_r_hat, p->max_r_hat) : p->max_r_hat, any_r_hat = true;
    t.steps = std::max(t.steps, p->steps);
    t.stopped_by_patience += p->stopped_by_patience;
    t.all_stopped_by_patience = t.all_stopped_by_patience && p->all_stopped_by_patience;
    t.max_check_standard_error = std::max(t.max_check_standard_error, p->max_check_standard_error);
  }
  t.acceptance_rate = concatenated(acceptance);
  t.effective_sample_size = concatenated(ess);
  return t;
}

/// A number for JSON: null when it is NaN or infinite (as the study writes them).
Json number_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(); }

/// The blocks' `details` (or `settings`) of one row: the merged entries recomputed from the joined
/// tallies, every other entry equal in every block.
Json merge_entries(const std::vector<const Json*>& parts, const HmcVsViRowTallies& t, const std::string& what) {
  Json merged = *parts.front();
  const std::set<std::string> recomputed{"mean_acceptance_rate", "divergences", "max_r_hat",
                                         "min_bulk_effective_sample_size_per_datapoint", "steps",
                                         "stopped_by_patience", "all_stopped_by_patience",
                                         "max_check_standard_error", "mean_effective_sample_size"};
  for (const Json* p : parts) {
    if (p->size() != merged.size()) throw std::invalid_argument(what + ": blocks disagree in their entries");
    for (auto it = p->begin(); it != p->end(); ++it) {
      if (!merged.contains(it.key())) throw std::invalid_argument(what + ": blocks disagree in their entries");
      if (!recomputed.count(it.key()) && merged.at(it.key()) != it.value())
        throw std::invalid_argument(what + ": blocks disagree in '" + it.key() + "'");
    }
  }
  for (auto it = merged.begin(); it != merged.end(); ++it) {
    const std::string& key = it.key();
    if (key == "mean_acceptance_rate") it.value() = t.acceptance_rate.mean();
    else if (key == "mean_effective_sample_size") it.value() = t.effective_sample_size.mean();
    else if (key == "divergences") it.value() = t.divergences;
    else if (key == "max_r_hat") it.value() = number_or_null(t.max_r_hat);
    else if (key == "steps") it.value() = t.steps;
    else if (key == "stopped_by_patience") it.value() = t.stopped_by_patience;
    else if (key == "all_stopped_by_patience") it.value() = t.all_stopped_by_patience;
    else if (key == "max_check_standard_error") it.value() = t.max_check_standard_error;
    else if (key == "min_bulk_effective_sample_size_per_datapoint") {
      Json a = Json::array();
      for (Index b = 0; b < t.effective_sample_size.size(); ++b) a.push_back(number_or_null(t.effective_sample_size(b)));
      it.value() = std::move(a);
    }
  }
  return merged;
}

double per_datapoint_mean(const HmcVsViRowTallies& t) {
  return static_cast<double>(t.decoder_evaluations_total) / static_cast<double>(t.datapoints);
}

HmcVsViPosteriorRow merge_posterior_rows(const std::vector<const HmcVsViPosteriorRow*>& parts, const std::string& what) {
  const HmcVsViPosteriorRow& first = *parts.front();
  for (const HmcVsViPosteriorRow* p : parts)
    if (p->budget != first.budget || p->feasible != first.feasible || p->kl_divergence.has_value() != first.kl_divergence.has_value())
      throw std::invalid_argument(what + ": blocks disagree in the row's budget or feasibility");
  if (!first.feasible) return first;
  HmcVsViPosteriorRow r;
  r.budget = first.budget;
  r.feasible = true;
  const auto join = [&](VectorD HmcVsViPosteriorRow::*member) {
    std::vector<const VectorD*> v;
    for (const HmcVsViPosteriorRow* p : parts) v.push_back(&(p->*member));
    return concatenated(v);
  };
  r.total_variation = join(&HmcVsViPosteriorRow::total_variation);
  r.mean_error = join(&HmcVsViPosteriorRow::mean_error);
  r.covariance_error = join(&HmcVsViPosteriorRow::covariance_error);
  r.iid_total_variation = join(&HmcVsViPosteriorRow::iid_total_variation);
  r.iid_mean_error = join(&HmcVsViPosteriorRow::iid_mean_error);
  r.iid_covariance_error = join(&HmcVsViPosteriorRow::iid_covariance_error);
  if (first.kl_divergence) {
    std::vector<const Estimate*> kl;
    for (const HmcVsViPosteriorRow* p : parts) kl.push_back(&*p->kl_divergence);
    r.kl_divergence = concatenate_estimates(kl);
  }
  std::vector<const HmcVsViRowTallies*> tallies;
  std::vector<const Json*> details;
  for (const HmcVsViPosteriorRow* p : parts) tallies.push_back(&p->tallies), details.push_back(&p->details);
  r.tallies = merge_tallies(tallies);
  // The amortized row spends nothing and counts no datapoints: 0 evaluations in any split.
  r.decoder_evaluations = r.tallies.datapoints > 0 ? per_datapoint_mean(r.tallies) : first.decoder_evaluations;
  r.details = merge_entries(details, r.tallies, what);
  return r;
}

HmcVsViLogMarginalRow merge_log_marginal_rows(const std::vector<const HmcVsViLogMarginalRow*>& parts,
                                              const std::string& what) {
  const HmcVsViLogMarginalRow& first = *parts.front();
  for (const HmcVsViLogMarginalRow* p : parts)
    if (p->budget != first.budget || p->feasible != first.feasible)
      throw std::invalid_argument(what + ": blocks disagree in the row's budget or feasibility");
  if (!first.feasible) return first;
  HmcVsViLogMarginalRow r;
  r.budget = first.budget;
  r.feasible = true;
  std::vector<const Estimate*> errors;
  std::vector<const HmcVsViRowTallies*> tallies;
  std::vector<const Json*> settings;
  for (const HmcVsViLogMarginalRow* p : parts)
    errors.push_back(&p->error), tallies.push_back(&p->tallies), settings.push_back(&p->settings);
  r.error = concatenate_estimates(errors);
  r.mean_absolute_error = r.error.per_datapoint.cwiseAbs().mean();
  r.tallies = merge_tallies(tallies);
  r.decoder_evaluations = per_datapoint_mean(r.tallies);
  r.settings = merge_entries(settings, r.tallies, what);
  return r;
}

}  // namespace

Json HmcVsViBlock::to_json() const {
  Json j;
  j["first_datapoint"] = first_datapoint;
  j["num_datapoints"] = num_datapoints;
  j["budgets"] = study.budgets;
  j["amortized_approximation"] = study.amortized_approximation;
  j["encoder_gaussian"] = study.encoder_gaussian;
  j["hmc_init"] = to_string(study.hmc_init);
  j["exact_log_px"] = estimate_block_to_json(study.exact_log_px);
  j["exact_unconverged"] = study.exact_unconverged;
  j["exact_coarse_nodes"] = study.exact_coarse_nodes;
  j["exact_refinement_nodes"] = study.exact_refinement_nodes;
  j["amortized"] = posterior_row_json(study.amortized);
  for (const auto& [key, rows] : posterior_lists(study)) j[key] = rows_json(*rows, &posterior_row_json);
  for (const auto& [key, rows] : log_marginal_lists(study)) j[key] = rows_json(*rows, &log_marginal_row_json);
  Json seconds = Json::array();
  for (double* s : seconds_of(const_cast<HmcVsVi&>(study))) seconds.push_back(Json(exact_json(*s)));
  j["seconds"] = std::move(seconds);
  return j;
}

HmcVsViBlock hmc_vs_vi_block_from_json(const Json& j, const std::string& what) {
  HmcVsViBlock block;
  block.first_datapoint = typed<Index>(j, "first_datapoint", what);
  block.num_datapoints = typed<Index>(j, "num_datapoints", what);
  HmcVsVi& s = block.study;
  s.budgets = typed<std::vector<Index>>(j, "budgets", what);
  s.amortized_approximation = typed<std::string>(j, "amortized_approximation", what);
  s.encoder_gaussian = typed<std::string>(j, "encoder_gaussian", what);
  s.hmc_init = parse_hmc_start(typed<std::string>(j, "hmc_init", what), what + ": hmc_init");
  s.exact_log_px = estimate_block_from_json(field(j, "exact_log_px", what), what + ": exact_log_px");
  s.exact_unconverged = typed<Index>(j, "exact_unconverged", what);
  s.exact_coarse_nodes = typed<Index>(j, "exact_coarse_nodes", what);
  s.exact_refinement_nodes = typed<Index>(j, "exact_refinement_nodes", what);
  s.amortized = posterior_row_from_json(field(j, "amortized", what), what + ": amortized");
  for (const auto& [key, rows] : posterior_lists(s)) *rows = rows_from_json(j, key, what, &posterior_row_from_json);
  for (const auto& [key, rows] : log_marginal_lists(s)) *rows = rows_from_json(j, key, what, &log_marginal_row_from_json);
  const Json& seconds = field(j, "seconds", what);
  const std::vector<double*> targets = seconds_of(s);
  if (!seconds.is_array() || seconds.size() != targets.size())
    throw std::invalid_argument(what + ": field 'seconds' must hold " + std::to_string(targets.size()) + " values");
  for (std::size_t i = 0; i < targets.size(); ++i) *targets[i] = exact_double(seconds[i], what + ": seconds");
  if (block.num_datapoints < 1 || s.exact_log_px.per_datapoint.size() != block.num_datapoints)
    throw std::invalid_argument(what + ": num_datapoints does not match the block's values");
  return block;
}

HmcVsViBlock compute_hmc_vs_vi_block(const GenerativeModel& model, const PosteriorApproximation& amortized_q,
                                     const DiagonalGaussian& encoder_q, const MatrixF& X,
                                     const HmcVsViOptions& options, const RandomStreams& streams,
                                     Index first_datapoint, const ProgressReporter& progress) {
  if (first_datapoint < 0)
    throw std::invalid_argument("compute_hmc_vs_vi_block: first datapoint must be >= 0, found " +
                                std::to_string(first_datapoint));
  HmcVsViBlock block;
  block.first_datapoint = first_datapoint;
  block.num_datapoints = X.cols();
  block.study = compute_hmc_vs_vi(model, amortized_q, encoder_q, X, options, streams, progress);
  return block;
}

HmcVsViBlock compute_hmc_vs_vi_block(const GenerativeModel& model, const AmortizedApproximation& amortized,
                                     const MatrixF& run_data, Index run_first, const HmcVsViOptions& options,
                                     std::uint64_t seed, Index first, Index count, const ProgressReporter& progress) {
  if (count < 1 || first < run_first || first + count > run_first + run_data.cols())
    throw std::invalid_argument("compute_hmc_vs_vi_block: datapoints [" + std::to_string(first) + ", " +
                                std::to_string(first + count) + ") are not among the run's [" +
                                std::to_string(run_first) + ", " + std::to_string(run_first + run_data.cols()) + ")");
  const MatrixF X = run_data.middleCols(first - run_first, count);
  const std::unique_ptr<PosteriorApproximation> q = amortized.posterior(X);
  const RandomStreams streams = RandomStreams::consecutive(seed, static_cast<std::uint64_t>(first), count);
  return compute_hmc_vs_vi_block(model, *q, amortized.gaussian_base(X), X, options, streams, first, progress);
}

HmcVsVi assemble_hmc_vs_vi(const std::vector<HmcVsViBlock>& blocks) {
  if (blocks.empty()) throw std::invalid_argument("assemble_hmc_vs_vi: no blocks");
  const HmcVsVi& first = blocks.front().study;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const std::string what = "assemble_hmc_vs_vi: block " + std::to_string(b);
    if (b > 0 && blocks[b].first_datapoint != blocks[b - 1].first_datapoint + blocks[b - 1].num_datapoints)
      throw std::invalid_argument(what + " starts at datapoint " + std::to_string(blocks[b].first_datapoint) +
                                  ", not where the previous one ends");
    const HmcVsVi& s = blocks[b].study;
    if (s.budgets != first.budgets || s.amortized_approximation != first.amortized_approximation ||
        s.encoder_gaussian != first.encoder_gaussian || s.hmc_init != first.hmc_init)
      throw std::invalid_argument(what + " disagrees with block 0 in its budgets or starting distributions");
    for (const auto& [key, rows] : posterior_lists(s))
      if (rows->size() != first.budgets.size())
        throw std::invalid_argument(what + ": " + key + " has not one row per budget");
    for (const auto& [key, rows] : log_marginal_lists(s))
      if (rows->size() != first.budgets.size())
        throw std::invalid_argument(what + ": " + key + " has not one row per budget");
  }
  HmcVsVi r;
  r.budgets = first.budgets;
  r.amortized_approximation = first.amortized_approximation;
  r.encoder_gaussian = first.encoder_gaussian;
  r.hmc_init = first.hmc_init;
  // The quadrature refines per datapoint, so a block's samples per datapoint (coarse nodes plus
  // its refinement nodes over its datapoints) depends on the split: joined from the totals.
  std::vector<Estimate> exact_parts;
  std::vector<const HmcVsViPosteriorRow*> amortized;
  Index count = 0;
  r.exact_coarse_nodes = first.exact_coarse_nodes;
  for (const HmcVsViBlock& b : blocks) {
    exact_parts.push_back(b.study.exact_log_px);
    exact_parts.back().samples_per_datapoint = b.study.exact_coarse_nodes;
    amortized.push_back(&b.study.amortized);
    r.exact_unconverged += b.study.exact_unconverged;
    r.exact_refinement_nodes += b.study.exact_refinement_nodes;
    count += b.study.exact_log_px.per_datapoint.size();
  }
  std::vector<const Estimate*> exact;
  for (const Estimate& e : exact_parts) exact.push_back(&e);
  r.exact_log_px = concatenate_estimates(exact);
  r.exact_log_px.samples_per_datapoint = r.exact_coarse_nodes + (r.exact_refinement_nodes + count - 1) / count;
  r.amortized = merge_posterior_rows(amortized, "assemble_hmc_vs_vi: amortized_q");
  const auto merged_posterior = posterior_lists(r);
  for (std::size_t m = 0; m < merged_posterior.size(); ++m)
    for (std::size_t i = 0; i < r.budgets.size(); ++i) {
      std::vector<const HmcVsViPosteriorRow*> parts;
      for (const HmcVsViBlock& b : blocks) parts.push_back(&(*posterior_lists(b.study)[m].second)[i]);
      merged_posterior[m].second->push_back(
          merge_posterior_rows(parts, "assemble_hmc_vs_vi: " + merged_posterior[m].first + "[" + std::to_string(i) + "]"));
    }
  const auto merged_log = log_marginal_lists(r);
  for (std::size_t m = 0; m < merged_log.size(); ++m)
    for (std::size_t i = 0; i < r.budgets.size(); ++i) {
      std::vector<const HmcVsViLogMarginalRow*> parts;
      for (const HmcVsViBlock& b : blocks) parts.push_back(&(*log_marginal_lists(b.study)[m].second)[i]);
      merged_log[m].second->push_back(
          merge_log_marginal_rows(parts, "assemble_hmc_vs_vi: " + merged_log[m].first + "[" + std::to_string(i) + "]"));
    }
  const std::vector<double*> totals = seconds_of(r);
  for (const HmcVsViBlock& b : blocks) {
    const std::vector<double*> parts = seconds_of(const_cast<HmcVsVi&>(b.study));
    for (std::size_t i = 0; i < totals.size(); ++i) *totals[i] += *parts[i];
  }
  return r;
}

}  // namespace vigap
