#pragma once
// What a run of vigap-gap-table, vigap-evaluate, vigap-estimator-variance or vigap-hmc-vs-vi will cost, counted
// before it starts: decoder evaluations per stage (decoder_evaluation_budget.hpp's unit: one
// latent column through the decoder, forward and, where the stage needs it, backward;
// forward-only columns count as full evaluations, which overstates their cost).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analyses/estimator_variance_study.hpp"
#include "analyses/evaluation.hpp"
#include "analyses/gap_table.hpp"
#include "analyses/hmc_vs_vi.hpp"

namespace vigap {

/// One stage of a run.
struct RunCostStage {
  std::string name;                ///< "log p(x) by AIS", "q*_ffg fit", ...
  Index decoder_evaluations = 0;   ///< over all datapoints
  Index samples_per_datapoint = 0; ///< latent columns per datapoint in each of its model calls
  bool upper_bound = false;        ///< a stopping rule may end it earlier (q* fits: max_steps)
  bool counted = true;             ///< false: not known before the run (adaptive quadrature)
  /// The least it can spend, where upper_bound (a q* fit's patience rule cannot stop a datapoint
  /// before patience · check_interval steps); unused otherwise (decoder_evaluations is exact).
  Index minimum_decoder_evaluations = 0;
};

/// A run's stages.
struct RunCost {
  std::vector<RunCostStage> stages;

  Index total() const;              ///< Σ decoder_evaluations of the counted stages
  Index minimum_total() const;      ///< Σ minimum_decoder_evaluations of the counted stages
  bool upper_bound() const;         ///< some counted stage is an upper bound
  /// {"decoder_evaluations", "upper_bound", "stages": [{"name", "decoder_evaluations", ...}]}.
  nlohmann::ordered_json to_json() const;
};

/// compute_gap_table's cost for num_datapoints datapoints (B):
///   log p(x) by AIS: B · ais_decoder_evaluations(ais) (exact: AnnealedImportanceSamplingResult::
///     gradient_evaluations); by quadrature: not counted;
///   each ELBO (amortized and per row) for latent_dim > 3: B · eval_samples; by quadrature: not counted;
///   q*_ffg / q*_full: B · (local_gaussian_max_decoder_evaluations + 2 · selection_samples), an
///     upper bound (the patience rule); q*_flow: B · (local_flow_max_decoder_evaluations +
///     2 · selection_samples), an upper bound. Their minimum: the same with max_steps =
///     min(max_steps, patience · check_interval); a fit is exact (not an upper bound) when the
///     two agree (max_steps <= patience · check_interval: the rule cannot fire in time).
RunCost gap_table_run_cost(const GapTableOptions& options, Index latent_dim, Index num_datapoints);

/// compute_evaluation's cost for B datapoints: elbo B · S, iwae B · K · replicates per K, is B · K,
/// ais B · ais_decoder_evaluations, bdmc 2 · n · ais_decoder_evaluations (forward and reverse on n
/// simulated pairs), quadrature not counted.
RunCost evaluation_run_cost(const EvaluationOptions& options, Index latent_dim, Index num_datapoints);

/// compute_estimator_variance_study's cost for B datapoints, one stage per sample count and sweep
/// (each of its three variants evaluates the decoder, forward and backward, on S columns per
/// replicate): ELBO S: 3 · B · S · R; IWAE K: 3 · iwae_count(B) · K · R (exact).
RunCost estimator_variance_run_cost(const EstimatorVarianceStudyOptions& options, Index num_datapoints);

/// compute_hmc_vs_vi's cost for B datapoints, one stage per method, each the sum over the budgets
/// it can buy (analyses/decoder_evaluation_budget.hpp's rules, as the study applies them):
///   HMC B · Σ hmc_decoder_evaluations; q*_diagonal and q*_full each B · Σ
///   local_gaussian_max_decoder_evaluations (checks of min(check_samples, max(2, budget / 20))
///   samples; no patience, so exact); local flow B · Σ local_flow_max_decoder_evaluations; AIS from
///   the prior and from q each B · Σ ais_decoder_evaluations; importance sampling B · Σ budget
///   (budgets >= 2). The truth, the total-variation grid and the exact KLs are quadrature: listed,
///   not counted. Every counted stage is exact (equal to the study's own tallies).
RunCost hmc_vs_vi_run_cost(const HmcVsViOptions& options, Index num_datapoints);

}  // namespace vigap
