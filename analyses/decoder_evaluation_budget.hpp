#pragma once
// "Equal compute" for comparing samplers and variational fits: settings of HMC, local Gaussian
// q*, local flows and AIS that spend at most a given number of decoder evaluations per datapoint.
//
// A decoder evaluation is one latent column pushed through the decoder (forward, and backward
// where a gradient is needed): what every method's cost is made of on these models. Forward-only
// columns (q*'s convergence checks, importance sampling) are counted as full evaluations, which
// slightly overstates their cost (a backward pass costs about two forwards). The amortized
// encoder costs no decoder evaluations.
#include <optional>

#include "core/variational/local_flow_optimization.hpp"
#include "core/variational/local_gaussian_optimization.hpp"
#include "estimators/annealed_importance_sampling.hpp"
#include "samplers/hmc_sampler.hpp"

namespace vigap {

/// HMC's cost per datapoint: C · (1 + (warmup + draws) · L), one evaluation per chain for the
/// initial state and one per chain per leapfrog step (HmcResult::gradient_evaluations / B).
Index hmc_decoder_evaluations(const HmcOptions& options);

/// `base` with warmup + draws = I = floor((budget / C - 1) / L) iterations, warmup =
/// floor(warmup_fraction · I), draws = I - warmup (so hmc_decoder_evaluations <= budget);
/// nullopt when the budget buys no draw (I - warmup < 1). warmup_fraction in [0, 1).
std::optional<HmcOptions> hmc_options_for_budget(const HmcOptions& base, Index budget, double warmup_fraction);

/// The most q* can spend per datapoint: S · max_steps gradient columns plus check_samples forward
/// columns at each check (step 0, every check_interval steps, and the last step). The patience
/// rule may stop a datapoint earlier (LocalGaussianOptimizationResult reports what was spent).
Index local_gaussian_max_decoder_evaluations(const LocalOptimizationOptions& options);

/// `base` with the largest max_steps whose local_gaussian_max_decoder_evaluations <= budget and
/// selection_samples = 0 (the start-or-best comparison would spend evaluations outside the
/// budget); nullopt when not even one step fits.
std::optional<LocalOptimizationOptions> local_gaussian_options_for_budget(const LocalOptimizationOptions& base,
                                                                          Index budget);

/// The most a local flow can spend per datapoint: S · max_steps (optimize_local_flow evaluates
/// every datapoint's S columns at each step until all have stopped).
Index local_flow_max_decoder_evaluations(const LocalFlowOptions& options);

/// `base` with max_steps = floor(budget / S) and selection_samples = 0 (as above); nullopt when
/// max_steps is 0.
std::optional<LocalFlowOptions> local_flow_options_for_budget(const LocalFlowOptions& base, Index budget);

/// AIS's cost per datapoint: (C + P) · (1 + (T - 1) · L) with P = pilot_chains for pilot
/// step-size adaptation and T > 1, else P = 0 (AnnealedImportanceSamplingResult::gradient_evaluations / B).
Index ais_decoder_evaluations(const AisOptions& options);

/// `base` with the largest T whose ais_decoder_evaluations <= budget, T >= 2 (at least one HMC
/// transition); nullopt when even T = 2 does not fit (spend such a budget on importance sampling).
std::optional<AisOptions> ais_options_for_budget(const AisOptions& base, Index budget);

}  // namespace vigap
