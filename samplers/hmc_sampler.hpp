#pragma once
// Multi-chain HMC of the posteriors p(z|x_b) of a batch of datapoints, with Stan-style warm-up.
#include <nlohmann/json.hpp>

#include "core/models/generative_model.hpp"
#include "core/random.hpp"
#include "core/random_streams.hpp"
#include "core/types.hpp"
#include "samplers/convergence_diagnostics.hpp"
#include "samplers/hmc_target.hpp"
#include "samplers/mass_matrix_adaptation.hpp"
#include "samplers/step_size_adaptation.hpp"

namespace vigap {

/// Settings of hmc_sample_posterior. Defaults follow Stan's (static trajectory instead of NUTS).
struct HmcOptions {
  Index chains = 4;                  ///< C chains per datapoint (>= 1; R̂ needs >= 2)
  Index warmup = 1000;               ///< warm-up iterations (>= 0), discarded
  Index draws = 1000;                ///< kept iterations per chain (>= 1)
  Index leapfrog_steps = 10;         ///< L leapfrog steps per transition (>= 1)
  double target_acceptance = 0.8;    ///< δ of dual averaging (Stan's adapt_delta), in (0, 1)
  double initial_step_size = 0.1;    ///< ε₀ for every chain (finite > 0)
  /// Each transition uses ε·(1 + j·u), u ~ U(-1, 1) per chain (Stan's stepsize_jitter, in [0, 1)).
  /// Not Stan's default 0: with a fixed number of leapfrog steps, near-Gaussian posteriors make
  /// trajectories nearly periodic (z_L ≈ ±z_0), which ruins mixing and makes the acceptance rate a
  /// non-monotone function of ε; jitter breaks the resonance.
  double step_size_jitter = 0.2;
  bool adapt_step_size = true;       ///< dual averaging during warm-up (Stan: γ=0.05, t₀=10, κ=0.75)
  bool adapt_mass_matrix = true;     ///< diagonal metric in Stan's windows (pooled over a datapoint's chains)
  WarmupWindowOptions windows;       ///< Stan's 75 / 25 (doubling) / 50 layout
  DualAveragingOptions dual_averaging;  ///< target_acceptance above overrides its target_acceptance
  /// Initial latents, d x (B·C) in the usual layout; empty: draw from the prior N(0, I).
  MatrixD initial_latents;

  void validate() const;  ///< throws std::invalid_argument naming the option
  nlohmann::ordered_json to_json() const;
};

/// What the sampler produced.
struct HmcResult {
  /// d x (B·C·draws): draw t of chain c of datapoint b in column (b·C + c)·draws + t, i.e. the
  /// usual Z layout with S = C·draws samples per datapoint.
  MatrixD draws;
  Index num_datapoints = 0;
  Index chains = 0;
  Index draws_per_chain = 0;
  VectorD acceptance_rate;   ///< B·C: mean acceptance statistic during sampling, per chain
  /// B·C: mean acceptance statistic over the warm-up iterations after the last metric update (the
  /// terminal buffer), where dual averaging drives it to target_acceptance. Sampling with the
  /// averaged step ε̄ typically accepts more (0.85-0.92 for a target of 0.8, as in Stan): ε_t
  /// fluctuates during adaptation and the acceptance is concave in log ε near the target.
  VectorD warmup_acceptance_rate;
  VectorD step_sizes;        ///< B·C: nominal step size used for sampling, per chain (before jitter)
  MatrixD inverse_mass;      ///< d x (B·C): the diagonal inverse metric used for sampling
  Index divergences = 0;     ///< transitions with energy error > 1000 during sampling
  ConvergenceDiagnostics diagnostics;  ///< rank-normalized split R̂ and bulk ESS, d x B each
  /// Target evaluations = decoder forward + backward columns (one per chain per leapfrog step,
  /// plus the initial evaluation): the cost to compare samplers by.
  Index gradient_evaluations = 0;
  double seconds = 0.0;

  /// Posterior mean estimate per datapoint (d x B) and the draws of datapoint b (d x (C·draws)).
  MatrixD posterior_means() const;
  MatrixD draws_of(Index datapoint) const;
};

/// Runs C chains per datapoint on any batched target over d x (B·C) latents: warm-up
/// (dual-averaging step size per chain; diagonal metric per datapoint from Stan's windows, the
/// step size restarted at each metric update) then `draws` kept transitions with fixed tuning.
/// initial_latents must be d x (B·C).
/// Randomness: datapoint b's chains draw their step-size jitter, momenta and accept/reject
/// uniforms from generators[b] only (generators.size() == num_datapoints).
HmcResult hmc_sample(const BatchLogDensity& target, const MatrixD& initial_latents, Index num_datapoints,
                     const HmcOptions& options, BatchRng& generators);

/// As above with rng drawing for every chain in order (one generator for the batch).
HmcResult hmc_sample(const BatchLogDensity& target, const MatrixD& initial_latents, Index num_datapoints,
                     const HmcOptions& options, Rng& rng);

/// Samples p(z | x_b) ∝ p(z) p(x_b|z) for every column of X (D x B) with hmc_sample on the
/// model's log joint. Each leapfrog step is one model.log_joint_with_gradient call on B·C columns.
/// Exact in the limit of many draws (asymptotically unbiased posterior expectations).
/// Randomness: datapoint b's initial states from the prior (when options.initial_latents is
/// empty), then its chains' draws, come from streams' StreamPurpose::hmc generator of b.
HmcResult hmc_sample_posterior(const GenerativeModel& model, const MatrixF& X, const HmcOptions& options,
                               const RandomStreams& streams);

/// As above with rng drawing for every datapoint in order (one generator for the batch).
HmcResult hmc_sample_posterior(const GenerativeModel& model, const MatrixF& X, const HmcOptions& options, Rng& rng);

}  // namespace vigap
