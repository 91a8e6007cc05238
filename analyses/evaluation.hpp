#pragma once
// The evaluation of a trained model on a dataset: log p(x), the ELBO and KL(q‖p(z|x)) of its
// amortized q by the estimators one chooses, as a library function (vigap-evaluate's study).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/models/generative_model.hpp"
#include "core/progress_reporter.hpp"
#include "core/random_streams.hpp"
#include "core/variational/posterior_approximation.hpp"
#include "estimators/adaptive_quadrature.hpp"
#include "estimators/annealed_importance_sampling.hpp"
#include "estimators/elbo_estimator.hpp"
#include "estimators/estimate.hpp"
#include "estimators/importance_sampling.hpp"
#include "estimators/iwae_bound.hpp"

namespace vigap {

/// One estimator of compute_evaluation.
enum class EvaluationEstimator {
  elbo,                 ///< ELBO(q) with S samples (analytic KL where q has one)
  iwae,                 ///< IWAE-K bounds, one row per K
  importance_sampling,  ///< log p(x) by importance sampling with q as proposal
  ais,                  ///< log p(x) by AIS from the prior or from q
  quadrature,           ///< exact log p(x) (and, with q, its exact ELBO and KL) by quadrature, latent dim <= 3
  bdmc,                 ///< BDMC's sandwich of log p(x) on data simulated from the model
};
/// "elbo", "iwae", "is", "ais", "quadrature", "bdmc".
std::string to_string(EvaluationEstimator estimator);
/// A comma-separated list of those names, in the order given (repeats allowed); throws
/// std::invalid_argument naming `option` for an unknown name or an empty list.
std::vector<EvaluationEstimator> parse_evaluation_estimators(const std::string& text, const std::string& option);

/// Where AIS starts.
enum class AisStart {
  prior,      ///< p(z) (the default)
  amortized,  ///< the amortized q(z|x), flow included when it has one ("encoder" on the command line)
};
/// "prior", "encoder"; parse throws std::invalid_argument naming `option`.
AisStart parse_ais_start(const std::string& text, const std::string& option);
std::string to_string(AisStart start);

/// Settings of compute_evaluation (the defaults are vigap-evaluate's).
struct EvaluationOptions {
  std::vector<EvaluationEstimator> estimators{EvaluationEstimator::elbo, EvaluationEstimator::iwae};
  /// The ELBO: 100 samples, analytic KL for diagonal Gaussians, Monte Carlo otherwise.
  ElboOptions elbo = [] {
    ElboOptions o;
    o.samples = 100;
    o.kl_form = ElboKlForm::automatic;
    return o;
  }();
  std::vector<Index> iwae_ks{5000};      ///< K of the IWAE rows (each >= 1; iwae.samples is set per row)
  IwaeBoundOptions iwae;                 ///< replicates and the rest of the IWAE bound
  ImportanceSamplingOptions importance;  ///< K of importance sampling from q
  AisOptions ais;                        ///< AIS (and BDMC's two runs)
  AisStart ais_from = AisStart::prior;
  QuadratureOptions quadrature;          ///< tolerance and refinement budget of the quadrature rows
  Index bdmc_datapoints = 0;             ///< pairs simulated for BDMC (0: as many as datapoints evaluated)

  bool uses(EvaluationEstimator estimator) const;
  /// Whether an estimator needs the amortized q (elbo, iwae, is, AIS from q).
  bool needs_amortized() const;
  /// Throws std::invalid_argument naming the option (every check that needs no model).
  void validate() const;
  /// validate(), and the quadrature's options for this latent dimension when it is used (<= 3).
  void validate(Index latent_dim) const;
  /// {"estimators": [names]} for the JSON `configuration`; each estimate's own settings (samples,
  /// steps, chains, tolerance, ...) are in its `settings` in the results.
  nlohmann::ordered_json to_json() const;
  /// Every setting (to_json(), then each estimator's options, the quadrature's for this latent
  /// dimension when it is used): what a resumed run must share with the run it continues.
  nlohmann::ordered_json settings_json(Index latent_dim) const;
};

/// One estimate of the evaluation, a row of its table and an entry of its JSON results.
struct EvaluationRow {
  std::string key;    ///< its JSON key: "elbo", "iwae_5000", "importance_sampling", "ais", ...
  std::string label;  ///< its table label: "ELBO (S=100)", ...
  Estimate estimate;  ///< with its seconds
  /// Added to the row's JSON (mean_effective_sample_size, mean_acceptance_rate, ...).
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

/// BDMC's sandwich width log p̂_upper - log p̂_lower on the simulated pairs.
struct BdmcSandwichWidth {
  double mean = 0.0, max = 0.0;
  Index num_datapoints = 0;
};

/// The evaluation: one row per estimate, in the order computed, and KL(q‖p(z|x)) from them.
struct Evaluation {
  std::vector<EvaluationRow> rows;
  std::optional<BdmcSandwichWidth> bdmc_sandwich_width;  ///< written right after the "bdmc_upper" row
  /// KL(q‖p(z|x)) = log p̂(x) - ELBO, with the best log p(x) estimate (quadrature > AIS > IS >
  /// IWAE, the first of its kind) and the last ELBO, when both were computed.
  std::optional<Estimate> kl_to_posterior;

  /// {"<row key>": estimate (+ extra), ..., ["bdmc_sandwich_width"], ["kl_encoder_to_posterior"]}:
  /// the JSON `results` (timings apart; per_datapoint adds every datapoint's values). A key
  /// computed twice (an estimator listed twice) keeps its first place and its last value.
  nlohmann::ordered_json results_json(bool per_datapoint) const;
  /// {"<row key>_seconds", ...}.
  nlohmann::ordered_json timings_json() const;
  /// The table: estimate, mean, Monte Carlo and dataset standard errors, seconds.
  std::string to_markdown() const;
};

/// For the datapoints X (columns) of `model`, with its amortized q(z|x) (null when it has none),
/// each estimator of options.estimators in order:
///   elbo:       ELBO(q) = E_q[log p(x,z) - log q(z|x)] with S samples (lower bound on log p(x));
///   iwae:       IWAE_K = E[log (1/K) Σ_k p(x,z_k) / q(z_k|x)] for each K (lower bound, rising with K);
///   is:         log p̂(x) = log (1/K) Σ_k p(x,z_k) / q(z_k|x) (a stochastic lower bound: E[p̂] = p(x));
///   ais:        log p̂(x) by AIS from the prior or from q (a stochastic lower bound);
///   quadrature: log p(x) by adaptive quadrature (exact within its tolerance), and with q the exact
///               ELBO(q) and KL(q‖p(z|x)) on the same grid;
///   bdmc:       forward AIS (stochastic lower bound) and reverse AIS (stochastic upper bound) of
///               log p(x) on pairs (z, x) simulated from the model;
/// then KL(q‖p(z|x)) = log p̂(x) - ELBO(q) from the best log p(x) (biased low with a stochastic
/// lower bound, unbiased with quadrature).
/// Randomness: datapoint b's draws come from `streams` (one per datapoint), each estimator with its
/// own purpose (IWAE's row K substream K), so its figures do not depend on the other datapoints,
/// estimators or the thread count; BDMC's simulated pair j is keyed like datapoint
/// first_datapoint + j of streams.run_seed(). first_datapoint (the dataset index of column 0)
/// also numbers the datapoints the quadrature reports over its tolerance (stderr and JSON).
/// Computed as one block of analyses/evaluation_block.hpp, assembled: the same figures as any
/// split of the datapoints into blocks.
/// Throws std::invalid_argument on invalid options, mismatched shapes, or when an estimator needs q
/// and `amortized` is null.
Evaluation compute_evaluation(const GenerativeModel& model, const PosteriorApproximation* amortized, const MatrixF& X,
                              const EvaluationOptions& options, const RandomStreams& streams, Index first_datapoint = 0,
                              const ProgressReporter& progress = quiet_progress());

}  // namespace vigap
