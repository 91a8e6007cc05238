#include "analyses/evaluation_block.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>

#include "core/elapsed_seconds.hpp"
#include "core/io/exact_json.hpp"
#include "core/io/json_fields.hpp"
#include "estimators/bidirectional_monte_carlo.hpp"
#include "estimators/estimate_concatenation.hpp"
#include "estimators/exact_marginal_likelihood.hpp"
#include "estimators/kl_divergence.hpp"
#include "estimators/kl_divergence_quadrature.hpp"

namespace vigap {

Index bdmc_pairs(const EvaluationOptions& options, Index num_datapoints) {
  if (!options.uses(EvaluationEstimator::bdmc)) return 0;
  return options.bdmc_datapoints > 0 ? options.bdmc_datapoints : num_datapoints;
}

Index evaluation_span(const EvaluationOptions& options, Index num_datapoints) {
  return std::max(num_datapoints, bdmc_pairs(options, num_datapoints));
}

namespace {

/// A block's evaluation under way: its rows so far.
struct EvaluationBlockRun {
  const GenerativeModel& model;
  const PosteriorApproximation* q;
  const MatrixF& X;
  const EvaluationOptions& options;
  const RandomStreams& streams;
  const ProgressReporter& progress;
  EvaluationBlock block;

  EvaluationRowBlock& add(const std::string& key, const std::string& label, Estimate e, double seconds,
                          bool simulated = false) {
    e.seconds = seconds;
    EvaluationRowBlock row;
    row.key = key;
    row.label = label;
    row.simulated = simulated;
    row.estimate = std::move(e);
    block.rows.push_back(std::move(row));
    return block.rows.back();
  }

  void run_elbo() {
    const auto start = std::chrono::steady_clock::now();
    Estimate e = estimate_elbo(model, *q, X, options.elbo, streams, progress);
    add("elbo", "ELBO (S=" + std::to_string(options.elbo.samples) + ")", std::move(e), seconds_since(start));
  }

  void run_iwae() {
    for (Index K : options.iwae_ks) {
      IwaeBoundOptions o = options.iwae;
      o.samples = K;
      const auto start = std::chrono::steady_clock::now();
      // Substream K: each row has its own noise, unchanged by the other K of the list.
      Estimate e = estimate_iwae_bound(model, *q, X, o, streams.with_substream(static_cast<std::uint64_t>(K)), progress);
      add("iwae_" + std::to_string(K), "IWAE (K=" + std::to_string(K) + ")", std::move(e), seconds_since(start));
    }
  }

  void run_importance_sampling() {
    const auto start = std::chrono::steady_clock::now();
    ImportanceSamplingResult r =
        estimate_log_marginal_likelihood_by_importance_sampling(model, *q, X, options.importance, streams, progress);
    add("importance_sampling", "IS, encoder (K=" + std::to_string(options.importance.samples) + ")",
        std::move(r.log_marginal_likelihood), seconds_since(start))
        .means.emplace_back("mean_effective_sample_size", r.effective_sample_size);
  }

  void run_ais() {
    const auto start = std::chrono::steady_clock::now();
    AnnealedImportanceSamplingResult r = options.ais_from == AisStart::prior
                                             ? annealed_importance_sampling(model, X, options.ais, streams, progress)
                                             : annealed_importance_sampling(model, *q, X, options.ais, streams, progress);
    EvaluationRowBlock& row = add("ais",
                                  "AIS from " + to_string(options.ais_from) +
                                      " (T=" + std::to_string(options.ais.num_annealing_steps) + ")",
                                  std::move(r.estimate), seconds_since(start));
    row.means.emplace_back("mean_effective_sample_size", r.effective_sample_size);
    row.means.emplace_back("mean_acceptance_rate", r.acceptance_rate);
    row.counts.emplace_back("gradient_evaluations", r.gradient_evaluations);
  }

  void run_quadrature() {
    const auto start = std::chrono::steady_clock::now();
    ExactMarginalLikelihood r = exact_marginal_likelihood(model, X, options.quadrature);
    // Dataset indices, not batch columns, in the JSON list and the warning.
    const Index first_datapoint = block.first_datapoint;
    r.log_marginal_likelihood.settings["datapoints_over_tolerance"] = to_json(r.over_tolerance, first_datapoint);
    std::fputs(
        over_tolerance_warning(r.over_tolerance, options.quadrature.tolerance, "log p(x)", first_datapoint).c_str(),
        stderr);
    const Estimate log_px = r.log_marginal_likelihood;
    EvaluationRowBlock& row = add("quadrature", "log p(x), quadrature (exact)", r.log_marginal_likelihood, seconds_since(start));
    row.counts.emplace_back("unconverged_datapoints", r.unconverged);
    row.quadrature_coarse_nodes = r.coarse_nodes;
    row.quadrature_refinement_nodes = r.refinement_nodes;
    if (q == nullptr) return;
    const auto kl_start = std::chrono::steady_clock::now();
    KlQuadratureOptions kl_options;
    kl_options.quadrature = options.quadrature;
    QuadratureKlDivergence exact = kl_divergence_by_quadrature(model, *q, X, log_px, kl_options, streams);
    const double kl_seconds = seconds_since(kl_start);
    add("elbo_quadrature", "ELBO, quadrature (exact)", std::move(exact.elbo), kl_seconds);
    add("kl_encoder_to_posterior_quadrature", "KL(q||p(z|x)), quadrature", std::move(exact.kl_divergence), kl_seconds);
  }

  void run_bdmc() {
    // Simulated pair j of the run is keyed like datapoint first_datapoint + j, so the pairs of a
    // block are those of the whole run whatever the split.
    BidirectionalMonteCarloResult r = bidirectional_monte_carlo(
        model, options.ais,
        RandomStreams::consecutive(streams.run_seed(), static_cast<std::uint64_t>(block.first_datapoint), block.num_pairs),
        progress);
    add("bdmc_lower", "BDMC lower (simulated data)", std::move(r.forward.estimate), r.seconds, true);
    add("bdmc_upper", "BDMC upper (simulated data)", std::move(r.reverse.estimate), r.seconds, true);
  }

  void run(EvaluationEstimator estimator) {
    // Each estimator has its own purpose, so its noise is independent of the others' (KL combines
    // their errors in quadrature).
    if (estimator == EvaluationEstimator::bdmc) {
      if (block.num_pairs > 0) run_bdmc();
      return;
    }
    if (block.num_datapoints == 0) return;
    switch (estimator) {
      case EvaluationEstimator::elbo: return run_elbo();
      case EvaluationEstimator::iwae: return run_iwae();
      case EvaluationEstimator::importance_sampling: return run_importance_sampling();
      case EvaluationEstimator::ais: return run_ais();
      case EvaluationEstimator::quadrature: return run_quadrature();
      case EvaluationEstimator::bdmc: return;
    }
  }
};

void check_block_inputs(const GenerativeModel& model, const PosteriorApproximation* amortized, const MatrixF& X,
                        const EvaluationOptions& options, const RandomStreams& streams, Index first_datapoint,
                        Index num_pairs) {
  options.validate(model.latent_dim());
  if (num_pairs < 0) throw std::invalid_argument("compute_evaluation: a negative number of BDMC pairs");
  if (num_pairs > 0 && !options.uses(EvaluationEstimator::bdmc))
    throw std::invalid_argument("compute_evaluation: BDMC pairs without bdmc among the estimators");
  if (X.cols() < 1 && num_pairs < 1) throw std::invalid_argument("compute_evaluation: no datapoints");
  if (X.cols() > 0 && X.rows() != model.data_dim())
    throw std::invalid_argument("compute_evaluation: data have dimension " + std::to_string(X.rows()) +
                                ", the model expects " + std::to_string(model.data_dim()));
  if (X.cols() > 0 && options.needs_amortized() && amortized == nullptr)
    throw std::invalid_argument(
        "compute_evaluation: elbo, iwae, is and AIS from the encoder need the amortized q(z|x), and there is none");
  if (amortized != nullptr && (amortized->num_datapoints() != X.cols() || amortized->latent_dim() != model.latent_dim()))
    throw std::invalid_argument("compute_evaluation: the amortized q covers " +
                                std::to_string(amortized->num_datapoints()) + " datapoints of dimension " +
                                std::to_string(amortized->latent_dim()) + ", expected " + std::to_string(X.cols()) +
                                " of dimension " + std::to_string(model.latent_dim()));
  if (first_datapoint < 0) throw std::invalid_argument("compute_evaluation: first_datapoint must be >= 0");
  streams.check_size(X.cols(), "compute_evaluation");
}

}  // namespace

EvaluationBlock compute_evaluation_block(const GenerativeModel& model, const PosteriorApproximation* amortized,
                                         const MatrixF& X, const EvaluationOptions& options,
                                         const RandomStreams& streams, Index first_datapoint, Index num_pairs,
                                         const ProgressReporter& progress) {
  check_block_inputs(model, amortized, X, options, streams, first_datapoint, num_pairs);
  EvaluationBlockRun run{model, amortized, X, options, streams, progress, {}};
  run.block.first_datapoint = first_datapoint;
  run.block.num_datapoints = X.cols();
  run.block.num_pairs = num_pairs;
  for (EvaluationEstimator estimator : options.estimators) run.run(estimator);
  return std::move(run.block);
}

EvaluationBlock compute_evaluation_block(const GenerativeModel& model, const AmortizedApproximation* amortized,
                                         const MatrixF& run_data, Index run_first, const EvaluationOptions& options,
                                         std::uint64_t seed, Index first, Index count,
                                         const ProgressReporter& progress) {
  const Index span = evaluation_span(options, run_data.cols());
  if (count < 1 || first < run_first || first + count > run_first + span)
    throw std::invalid_argument("compute_evaluation_block: block [" + std::to_string(first) + ", " +
                                std::to_string(first + count) + ") lies outside the run's indices [" +
                                std::to_string(run_first) + ", " + std::to_string(run_first + span) + ")");
  const Index offset = first - run_first;
  const Index datapoints = std::clamp<Index>(run_data.cols() - offset, 0, count);
  const Index pairs = std::clamp<Index>(bdmc_pairs(options, run_data.cols()) - offset, 0, count);
  const MatrixF X = run_data.middleCols(std::min(offset, run_data.cols()), datapoints);
  const std::unique_ptr<PosteriorApproximation> q =
      amortized != nullptr && datapoints > 0 ? amortized->posterior(X) : nullptr;
  const RandomStreams streams = RandomStreams::consecutive(seed, static_cast<std::uint64_t>(first), datapoints);
  return compute_evaluation_block(model, q.get(), X, options, streams, first, pairs, progress);
}

namespace {

nlohmann::ordered_json row_to_json(const EvaluationRowBlock& r) {
  nlohmann::ordered_json j;
  j["key"] = r.key;
  j["label"] = r.label;
  j["simulated"] = r.simulated;
  j["estimate"] = estimate_block_to_json(r.estimate);
  nlohmann::ordered_json means = nlohmann::ordered_json::array();
  for (const auto& [name, values] : r.means) means.push_back({{"name", name}, {"per_datapoint", exact_json(values)}});
  j["means"] = means;
  nlohmann::ordered_json counts = nlohmann::ordered_json::array();
  for (const auto& [name, value] : r.counts) counts.push_back({{"name", name}, {"value", value}});
  j["counts"] = counts;
  j["quadrature_coarse_nodes"] = r.quadrature_coarse_nodes;
  j["quadrature_refinement_nodes"] = r.quadrature_refinement_nodes;
  return j;
}

const nlohmann::ordered_json& json_array_member(const nlohmann::ordered_json& j, const char* key, const std::string& what) {
  const nlohmann::ordered_json& value = json_member(j, key, what);
  if (!value.is_array()) throw std::invalid_argument(what + "." + key + ": expected an array");
  return value;
}

EvaluationRowBlock row_from_json(const nlohmann::ordered_json& j, const std::string& what) {
  EvaluationRowBlock r;
  r.key = json_field<std::string>(j, "key", what);
  r.label = json_field<std::string>(j, "label", what);
  r.simulated = json_field<bool>(j, "simulated", what);
  r.estimate = estimate_block_from_json(json_member(j, "estimate", what), what + ".estimate");
  const nlohmann::ordered_json& means = json_array_member(j, "means", what);
  for (std::size_t i = 0; i < means.size(); ++i) {
    const std::string where = what + ".means[" + std::to_string(i) + "]";
    r.means.emplace_back(json_field<std::string>(means[i], "name", where),
                         exact_vector(nlohmann::json(json_member(means[i], "per_datapoint", where)), where + ".per_datapoint"));
  }
  const nlohmann::ordered_json& counts = json_array_member(j, "counts", what);
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const std::string where = what + ".counts[" + std::to_string(i) + "]";
    r.counts.emplace_back(json_field<std::string>(counts[i], "name", where), json_field<Index>(counts[i], "value", where));
  }
  r.quadrature_coarse_nodes = json_field<Index>(j, "quadrature_coarse_nodes", what);
  r.quadrature_refinement_nodes = json_field<Index>(j, "quadrature_refinement_nodes", what);
  return r;
}

}  // namespace

nlohmann::ordered_json EvaluationBlock::to_json() const {
  nlohmann::ordered_json j;
  j["first_datapoint"] = first_datapoint;
  j["num_datapoints"] = num_datapoints;
  j["num_pairs"] = num_pairs;
  nlohmann::ordered_json rows_json = nlohmann::ordered_json::array();
  for (const EvaluationRowBlock& r : rows) rows_json.push_back(row_to_json(r));
  j["rows"] = rows_json;
  return j;
}

EvaluationBlock evaluation_block_from_json(const nlohmann::ordered_json& j, const std::string& what) {
  EvaluationBlock b;
  b.first_datapoint = json_field<Index>(j, "first_datapoint", what);
  b.num_datapoints = json_field<Index>(j, "num_datapoints", what);
  b.num_pairs = json_field<Index>(j, "num_pairs", what);
  const nlohmann::ordered_json& rows = json_array_member(j, "rows", what);
  for (std::size_t i = 0; i < rows.size(); ++i)
    b.rows.push_back(row_from_json(rows[i], what + ".rows[" + std::to_string(i) + "]"));
  for (const EvaluationRowBlock& r : b.rows) {
    const Index expected = r.simulated ? b.num_pairs : b.num_datapoints;
    if (r.estimate.per_datapoint.size() != expected)
      throw std::invalid_argument(what + ": row " + r.key + " has " + std::to_string(r.estimate.per_datapoint.size()) +
                                  " values, the block " + std::to_string(expected) +
                                  (r.simulated ? " simulated pairs" : " datapoints"));
  }
  return b;
}

namespace {

/// Rank of a row as the log p(x) that KL(q‖p(z|x)) = log p̂(x) - ELBO takes: quadrature 3 > AIS 2
/// > IS 1 > IWAE 0 (the first row of the highest rank is taken); -1 for the other rows.
int log_marginal_rank(const std::string& key) {
  if (key == "quadrature") return 3;
  if (key == "ais") return 2;
  if (key == "importance_sampling") return 1;
  if (key.rfind("iwae_", 0) == 0) return 0;
  return -1;
}

/// The rows of `block` of one kind (datapoint or simulated), in order.
std::vector<const EvaluationRowBlock*> rows_of_kind(const EvaluationBlock& block, bool simulated) {
  std::vector<const EvaluationRowBlock*> rows;
  for (const EvaluationRowBlock& r : block.rows)
    if (r.simulated == simulated) rows.push_back(&r);
  return rows;
}

/// Row `at` of its kind over every block that holds that kind, joined.
EvaluationRow assemble_row(const std::vector<EvaluationBlock>& blocks, const EvaluationRowBlock& first, std::size_t at) {
  std::vector<const EvaluationRowBlock*> parts;
  for (const EvaluationBlock& b : blocks) {
    if ((first.simulated ? b.num_pairs : b.num_datapoints) == 0) continue;
    const std::vector<const EvaluationRowBlock*> rows = rows_of_kind(b, first.simulated);
    if (at >= rows.size() || rows[at]->key != first.key || rows[at]->label != first.label ||
        rows[at]->means.size() != first.means.size() || rows[at]->counts.size() != first.counts.size())
      throw std::invalid_argument("assemble_evaluation: the block at datapoint " + std::to_string(b.first_datapoint) +
                                  " lacks the row " + first.key + " (" + first.label +
                                  ") of the first block, or has another one in its place");
    parts.push_back(rows[at]);
  }
  std::vector<Estimate> copies;
  Index refinement_nodes = 0, count = 0;
  for (const EvaluationRowBlock* p : parts) {
    copies.push_back(p->estimate);
    // The quadrature's samples per datapoint depend on the block's refinement: joined below.
    if (first.quadrature_coarse_nodes > 0) copies.back().samples_per_datapoint = p->quadrature_coarse_nodes;
    refinement_nodes += p->quadrature_refinement_nodes;
    count += p->estimate.per_datapoint.size();
  }
  std::vector<const Estimate*> estimates;
  for (const Estimate& e : copies) estimates.push_back(&e);
  EvaluationRow row{first.key, first.label, concatenate_estimates(estimates)};
  if (first.quadrature_coarse_nodes > 0)
    row.estimate.samples_per_datapoint = first.quadrature_coarse_nodes + (refinement_nodes + count - 1) / count;
  for (std::size_t m = 0; m < first.means.size(); ++m) {
    VectorD joined(count);
    Index filled = 0;
    for (const EvaluationRowBlock* p : parts) {
      const VectorD& values = p->means[m].second;
      if (p->means[m].first != first.means[m].first || values.size() != p->estimate.per_datapoint.size())
        throw std::invalid_argument("assemble_evaluation: the blocks' " + first.key + " rows disagree on " +
                                    first.means[m].first);
      joined.segment(filled, values.size()) = values;
      filled += values.size();
    }
    row.extra[first.means[m].first] = joined.mean();
  }
  for (std::size_t c = 0; c < first.counts.size(); ++c) {
    Index sum = 0;
    for (const EvaluationRowBlock* p : parts) {
      if (p->counts[c].first != first.counts[c].first)
        throw std::invalid_argument("assemble_evaluation: the blocks' " + first.key + " rows disagree on " +
                                    first.counts[c].first);
      sum += p->counts[c].second;
    }
    row.extra[first.counts[c].first] = sum;
  }
  return row;
}

/// Blocks in order, each starting where the previous one ends, datapoints and pairs each ending
/// once (no block holds any after a block that held fewer than its span).
void check_consecutive(const std::vector<EvaluationBlock>& blocks) {
  if (blocks.empty()) throw std::invalid_argument("assemble_evaluation: no blocks");
  if (blocks.front().num_datapoints < 1) throw std::invalid_argument("assemble_evaluation: the first block has no datapoints");
  Index next = blocks.front().first_datapoint;
  bool datapoints_ended = false, pairs_ended = false;
  for (const EvaluationBlock& b : blocks) {
    if (b.first_datapoint != next || b.span() < 1)
      throw std::invalid_argument("assemble_evaluation: a block starts at datapoint " + std::to_string(b.first_datapoint) +
                                  ", expected " + std::to_string(next) + " (blocks must be consecutive, in order)");
    if ((datapoints_ended && b.num_datapoints > 0) || (pairs_ended && b.num_pairs > 0))
      throw std::invalid_argument("assemble_evaluation: the block at datapoint " + std::to_string(b.first_datapoint) +
                                  " holds datapoints or pairs after a block that ended them");
    datapoints_ended = datapoints_ended || b.num_datapoints < b.span();
    pairs_ended = pairs_ended || b.num_pairs < b.span();
    next += b.span();
  }
}

}  // namespace

Evaluation assemble_evaluation(const std::vector<EvaluationBlock>& blocks) {
  check_consecutive(blocks);
  Evaluation result;
  // The first block holds every row (it has datapoints, and pairs whenever the run has any).
  std::size_t datapoint_rows = 0, simulated_rows = 0;
  for (const EvaluationRowBlock& first : blocks.front().rows)
    result.rows.push_back(assemble_row(blocks, first, first.simulated ? simulated_rows++ : datapoint_rows++));

  std::optional<Estimate> elbo, best_log_marginal;
  int best_rank = -1;
  for (std::size_t r = 0; r < result.rows.size(); ++r) {
    const EvaluationRow& row = result.rows[r];
    if (row.key == "elbo") elbo = row.estimate;  // the last ELBO
    if (const int rank = log_marginal_rank(row.key); rank > best_rank) {
      best_rank = rank;
      best_log_marginal = row.estimate;
    }
    if (row.key == "bdmc_upper" && r > 0 && result.rows[r - 1].key == "bdmc_lower") {
      const VectorD width = row.estimate.per_datapoint - result.rows[r - 1].estimate.per_datapoint;
      result.bdmc_sandwich_width = BdmcSandwichWidth{width.mean(), width.maxCoeff(), width.size()};
    }
  }
  if (elbo && best_log_marginal) {
    Estimate kl = kl_to_posterior_from_estimates(*best_log_marginal, *elbo);
    kl.settings = {{"log_marginal_likelihood_from", best_log_marginal->estimator}};
    result.kl_to_posterior = std::move(kl);
  }
  return result;
}

}  // namespace vigap
