#pragma once
// Annealed importance sampling (Neal 2001) of log p(x) with HMC transitions, batched over
// datapoints x chains.
#include <nlohmann/json.hpp>
#include <string>

#include "core/models/generative_model.hpp"
#include "core/progress_reporter.hpp"
#include "core/random.hpp"
#include "core/types.hpp"
#include "core/variational/posterior_approximation.hpp"
#include "estimators/annealing_schedule.hpp"
#include "estimators/estimate.hpp"

namespace vigap {

/// How the HMC step size of AIS is tuned toward target_acceptance.
enum class AisStepSizeAdaptation {
  /// Fixed at initial_step_size.
  none,
  /// Per chain during the run (Wu et al. 2017's rule): after transition t with acceptance
  /// probability a, ā ← s ā + (1 - s) a (ā₀ = target), then ε ← ε · increase if ā > target else
  /// ε · decrease, clamped to [min_step_size, max_step_size]. The step of transition t uses only
  /// transitions before t. CAVEAT: that is necessary but not sufficient for E[w] = p(x): ε_t then
  /// depends on the chain's own past, hence on z_{t-1}, and the invariance argument behind AIS
  /// needs each kernel to be fixed given everything except the chain it moves. The bias is small
  /// when ε changes slowly (as here, ≤ 2% a step), but it is not zero in principle.
  online,
  /// Exactly valid: a pilot run of pilot_chains independent chains per datapoint with `online`
  /// adaptation records a step-size schedule ε_{b,t} (geometric mean over the pilot chains); the
  /// evaluation chains then use it unchanged. Their kernels do not depend on their own states,
  /// so E[w] = p(x) holds exactly. Costs pilot_chains / chains more gradient evaluations.
  pilot,
};

AisStepSizeAdaptation parse_ais_step_size_adaptation(const std::string& name);  ///< "none", "online", "pilot"
std::string to_string(AisStepSizeAdaptation adaptation);

/// Settings of AIS. Defaults follow the published evaluations of decoder-based models (Wu et al.
/// 2017; Cremer et al. 2018) in kind: 16 chains, sigmoid schedule, HMC with 10 leapfrog steps and
/// an identity mass matrix, the step adapted toward 0.65 acceptance. T defaults to 1000: enough
/// for latent dimensions up to a few (checked against quadrature on a 2-D Fashion-MNIST decoder
/// in the test suite); the published 50-D evaluations use several thousand, so raise T there and
/// check convergence with BDMC. The step adaptation defaults to `pilot`, the exactly valid mode.
struct AisOptions {
  AnnealingSchedule schedule = AnnealingSchedule::sigmoid;
  double sigmoid_radius = 4.0;              ///< δ of the sigmoid schedule (Wu et al.: 4)
  Index num_annealing_steps = 1000;         ///< T >= 1: T - 1 HMC transitions; T = 1 is plain importance sampling
  Index chains = 16;                        ///< C >= 1 independent chains (weights) per datapoint
  Index leapfrog_steps = 10;                ///< L >= 1 per HMC transition
  double initial_step_size = 0.01;          ///< ε₀, finite > 0
  AisStepSizeAdaptation step_size_adaptation = AisStepSizeAdaptation::pilot;
  double target_acceptance = 0.65;          ///< in (0, 1)
  double step_size_increase = 1.02;         ///< multiplicative rule, > 1
  double step_size_decrease = 0.98;         ///< multiplicative rule, in (0, 1)
  double acceptance_smoothing = 0.9;        ///< s in ā ← s ā + (1 - s) a, in [0, 1)
  double min_step_size = 1e-4;              ///< adaptation clamps ε to [min, max]; 0 < min <= max
  double max_step_size = 0.5;
  Index pilot_chains = 2;                   ///< chains per datapoint of the pilot run (`pilot` only), >= 1

  void validate() const;  ///< throws std::invalid_argument naming the option
  nlohmann::ordered_json to_json() const;
};

/// The outcome of one AIS run (forward or reverse) over a batch.
struct AnnealedImportanceSamplingResult {
  /// estimate.per_datapoint: log p̂(x_b); per_datapoint_standard_error: the delta-method SE
  /// se(p̂)/p̂ = sd_c(w_c) / (√C · mean_c(w_c)), computed from w_c / max w (log space).
  Estimate estimate;
  MatrixD log_weights;              ///< C x B: log w (forward) or log u (reverse) of chain c of datapoint b
  VectorD effective_sample_size;    ///< B: (Σ_c w_c)² / Σ_c w_c² of the final weights
  VectorD acceptance_rate;          ///< B: mean HMC acceptance probability over chains and transitions
  MatrixD final_latents;            ///< d x (B·C): the chains' last states (≈ p(z|x) forward, ≈ p(z) reverse)
  /// Target evaluations = model forward + backward columns (log_likelihood_with_gradient),
  /// including the pilot run's: the cost measure.
  Index gradient_evaluations = 0;
};

/// Forward AIS from the prior for every column of X (D x B), C chains per datapoint:
///   z_0 ~ p(z);  for t = 1..T:  log w += (β_t - β_{t-1}) log p(x|z_{t-1});
///                              z_t ~ HMC leaving f_t(z) = p(z) p(x|z)^{β_t} invariant (t < T).
/// log p̂(x) = log mean_c w_c. Bias: stochastic lower bound — E[p̂] = p(x), so E[log p̂] <= log p(x).
/// All B·C chains form one d x (B·C) matrix: each leapfrog step is one model call.
/// `progress` gets a status line every 1% of the transitions (pilot run included).
/// Randomness: datapoint b's chains (initial states, momenta, accept/reject) use streams'
/// StreamPurpose::ais generator of b; the pilot run's chains its ais_pilot generator.
AnnealedImportanceSamplingResult annealed_importance_sampling(const GenerativeModel& model, const MatrixF& X,
                                                              const AisOptions& options, const RandomStreams& streams, const ProgressReporter& progress = quiet_progress());

/// As above with the single stream rng (the draws of earlier versions: they depend on the batch).
AnnealedImportanceSamplingResult annealed_importance_sampling(const GenerativeModel& model, const MatrixF& X,
                                                              const AisOptions& options, Rng& rng, const ProgressReporter& progress = quiet_progress());

/// Forward AIS from a posterior approximation q with a density (q.has_density(), one q per
/// column of X): z_0 ~ q(z|x), log f_t = (1 - β_t) log q(z|x) + β_t log p(x, z), so
///   log w = Σ_t (β_t - β_{t-1}) [log p(x, z_{t-1}) - log q(z_{t-1}|x)].
/// T = 1 is importance sampling from q. Needs ∇_z log q (q.has_density_gradient(): the diagonal
/// and full-covariance Gaussians and the flow posteriors; std::invalid_argument otherwise).
/// Bias: stochastic lower bound.
/// Randomness: as above with purposes ais_from_q and ais_from_q_pilot.
AnnealedImportanceSamplingResult annealed_importance_sampling(const GenerativeModel& model,
                                                              const PosteriorApproximation& q, const MatrixF& X,
                                                              const AisOptions& options, const RandomStreams& streams, const ProgressReporter& progress = quiet_progress());

/// As above with the single stream rng (the draws of earlier versions: they depend on the batch).
AnnealedImportanceSamplingResult annealed_importance_sampling(const GenerativeModel& model,
                                                              const PosteriorApproximation& q, const MatrixF& X,
                                                              const AisOptions& options, Rng& rng, const ProgressReporter& progress = quiet_progress());

/// Reverse AIS from exact posterior samples (d x B, one per datapoint: for data simulated from
/// the model, the latent that generated x), annealing β from 1 to 0 under the prior base:
///   z_T = z*;  for t = T..1:  log u += (β_{t-1} - β_t) log p(x|z_t);  z_{t-1} ~ HMC at β_{t-1} (t > 1).
/// E[u] = 1/p(x); log p̂(x) = -log mean_c u_c. Bias: stochastic upper bound — E[log p̂] >= log p(x)
/// (only when z* is an exact posterior sample). All C chains of a datapoint start at z*.
/// Randomness: as above with purposes reverse_ais and reverse_ais_pilot.
AnnealedImportanceSamplingResult reverse_annealed_importance_sampling(const GenerativeModel& model,
                                                                      const MatrixF& X,
                                                                      const MatrixD& exact_posterior_latents,
                                                                      const AisOptions& options, const RandomStreams& streams, const ProgressReporter& progress = quiet_progress());

/// As above with the single stream rng (the draws of earlier versions: they depend on the batch).
AnnealedImportanceSamplingResult reverse_annealed_importance_sampling(const GenerativeModel& model,
                                                                      const MatrixF& X,
                                                                      const MatrixD& exact_posterior_latents,
                                                                      const AisOptions& options, Rng& rng, const ProgressReporter& progress = quiet_progress());

}  // namespace vigap
