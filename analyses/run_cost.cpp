#include "analyses/run_cost.hpp"

#include "analyses/decoder_evaluation_budget.hpp"

#include <algorithm>

namespace vigap {

Index RunCost::total() const {
  Index sum = 0;
  for (const RunCostStage& s : stages)
    if (s.counted) sum += s.decoder_evaluations;
  return sum;
}

Index RunCost::minimum_total() const {
  Index sum = 0;
  for (const RunCostStage& s : stages)
    if (s.counted) sum += s.upper_bound ? s.minimum_decoder_evaluations : s.decoder_evaluations;
  return sum;
}

bool RunCost::upper_bound() const {
  for (const RunCostStage& s : stages)
    if (s.counted && s.upper_bound) return true;
  return false;
}

nlohmann::ordered_json RunCost::to_json() const {
  nlohmann::ordered_json j;
  j["decoder_evaluations"] = total();
  j["upper_bound"] = upper_bound();
  if (upper_bound()) j["minimum_decoder_evaluations"] = minimum_total();
  j["stages"] = nlohmann::ordered_json::array();
  for (const RunCostStage& s : stages) {
    nlohmann::ordered_json stage{{"name", s.name}};
    if (s.counted) {
      stage["decoder_evaluations"] = s.decoder_evaluations;
      stage["samples_per_datapoint"] = s.samples_per_datapoint;
      stage["upper_bound"] = s.upper_bound;
      if (s.upper_bound) stage["minimum_decoder_evaluations"] = s.minimum_decoder_evaluations;
    } else {
      stage["decoder_evaluations"] = "not counted (adaptive)";
    }
    j["stages"].push_back(stage);
  }
  return j;
}

namespace {

/// A q* fit's stage: at most max_evaluations(options) per datapoint, at least that with max_steps =
/// patience · check_interval (the patience rule's earliest stop), plus the start-or-best comparison.
template <typename FitOptions, typename MaxEvaluations>
RunCostStage fit_stage(const std::string& label, Index B, const FitOptions& options, Index samples,
                       MaxEvaluations max_evaluations) {
  FitOptions shortest = options;
  shortest.max_steps = std::min(shortest.max_steps, shortest.patience * shortest.check_interval);
  const Index selection = 2 * options.selection_samples;
  const Index most = B * (max_evaluations(options) + selection), least = B * (max_evaluations(shortest) + selection);
  // Exact when the rule cannot fire before max_steps.
  return {label + " fit", most, samples, least < most, true, least};
}

}  // namespace

RunCost gap_table_run_cost(const GapTableOptions& options, Index latent_dim, Index num_datapoints) {
  const Index B = num_datapoints;
  RunCost cost;
  if (options.uses_quadrature(latent_dim))
    cost.stages.push_back({"log p(x) by quadrature", 0, 0, false, false});
  else
    cost.stages.push_back({"log p(x) by AIS", B * ais_decoder_evaluations(options.ais), options.ais.chains, false, true});
  const bool exact_elbos = latent_dim <= 3;
  const auto add_elbo = [&](const std::string& label) {
    if (exact_elbos)
      cost.stages.push_back({"ELBO of " + label + " by quadrature", 0, 0, false, false});
    else
      cost.stages.push_back({"ELBO of " + label, B * options.eval_samples, options.eval_samples, false, true});
  };
  add_elbo("the amortized q");
  for (PosteriorFamily family : options.families) {
    const std::string label = "q*_" + to_string(family);
    if (family == PosteriorFamily::flow)
      cost.stages.push_back(fit_stage(label, B, options.flow, options.flow.samples,
                                      [](const LocalFlowOptions& o) { return local_flow_max_decoder_evaluations(o); }));
    else
      cost.stages.push_back(fit_stage(label, B, options.gaussian, options.gaussian.samples_per_step,
                                      [](const LocalOptimizationOptions& o) { return local_gaussian_max_decoder_evaluations(o); }));
    add_elbo(label);
  }
  return cost;
}

RunCost evaluation_run_cost(const EvaluationOptions& options, Index latent_dim, Index num_datapoints) {
  static_cast<void>(latent_dim);
  const Index B = num_datapoints;
  RunCost cost;
  for (EvaluationEstimator estimator : options.estimators) {
    switch (estimator) {
      case EvaluationEstimator::elbo:
        cost.stages.push_back({"ELBO", B * options.elbo.samples, options.elbo.samples, false, true});
        break;
      case EvaluationEstimator::iwae:
        for (Index k : options.iwae_ks)
          cost.stages.push_back({"IWAE k=" + std::to_string(k), B * k * options.iwae.replicates, k, false, true});
        break;
      case EvaluationEstimator::importance_sampling:
        cost.stages.push_back({"importance sampling", B * options.importance.samples, options.importance.samples, false, true});
        break;
      case EvaluationEstimator::ais:
        cost.stages.push_back({"AIS", B * ais_decoder_evaluations(options.ais), options.ais.chains, false, true});
        break;
      case EvaluationEstimator::quadrature:
        cost.stages.push_back({"quadrature", 0, 0, false, false});
        break;
      case EvaluationEstimator::bdmc: {
        const Index n = options.bdmc_datapoints > 0 ? options.bdmc_datapoints : B;
        cost.stages.push_back({"BDMC (forward and reverse AIS)", 2 * n * ais_decoder_evaluations(options.ais),
                               options.ais.chains, false, true});
        break;
      }
    }
  }
  return cost;
}

RunCost estimator_variance_run_cost(const EstimatorVarianceStudyOptions& options, Index num_datapoints) {
  RunCost cost;
  const Index R = options.replicates, iwae_datapoints = options.iwae_count(num_datapoints);
  const auto variants = [](const std::vector<EstimatorVariant>& v) { return static_cast<Index>(v.size()); };
  for (Index s : options.elbo_samples)
    cost.stages.push_back({"ELBO S=" + std::to_string(s), variants(elbo_variance_variants()) * num_datapoints * s * R, s,
                           false, true});
  for (Index k : options.iwae_samples)
    cost.stages.push_back({"IWAE K=" + std::to_string(k), variants(iwae_variance_variants()) * iwae_datapoints * k * R,
                           k, false, true});
  return cost;
}

RunCost hmc_vs_vi_run_cost(const HmcVsViOptions& options, Index num_datapoints) {
  const Index B = num_datapoints;
  Index hmc = 0, gaussian = 0, flow = 0, ais = 0, importance = 0, largest_budget = 0;
  for (Index budget : options.budgets) {
    largest_budget = std::max(largest_budget, budget);
    if (const auto o = hmc_options_for_budget(options.hmc, budget, options.warmup_fraction))
      hmc += hmc_decoder_evaluations(*o);
    LocalOptimizationOptions base = options.gaussian;
    base.check_samples = std::clamp<Index>(budget / 20, 2, options.gaussian.check_samples);
    if (const auto o = local_gaussian_options_for_budget(base, budget)) gaussian += local_gaussian_max_decoder_evaluations(*o);
    if (const auto o = local_flow_options_for_budget(options.flow, budget)) flow += local_flow_max_decoder_evaluations(*o);
    if (const auto o = ais_options_for_budget(options.ais, budget)) ais += ais_decoder_evaluations(*o);
    if (budget >= 2) importance += budget;
  }
  RunCost cost;
  cost.stages.push_back({"log p(x), p(z|x) and the total-variation grid by quadrature", 0, 0, false, false});
  cost.stages.push_back({"HMC", B * hmc, options.hmc.chains, false, true});
  cost.stages.push_back({"q*_diagonal", B * gaussian, options.gaussian.samples_per_step, false, true});
  cost.stages.push_back({"q*_full_covariance", B * gaussian, options.gaussian.samples_per_step, false, true});
  cost.stages.push_back({"local flow", B * flow, options.flow.samples, false, true});
  cost.stages.push_back({"AIS from the prior", B * ais, options.ais.chains, false, true});
  cost.stages.push_back({"AIS from the amortized q", B * ais, options.ais.chains, false, true});
  cost.stages.push_back({"importance sampling from the amortized q", B * importance, largest_budget, false, true});
  cost.stages.push_back({"exact KL of each variational row by quadrature", 0, 0, false, false});
  return cost;
}

}  // namespace vigap
