#pragma once
// A normalizing-flow posterior fitted to each datapoint separately (the flow family's q*),
// for the approximation gap of the flow family (Cremer, Li & Duvenaud 2018, "local flow").
#include <nlohmann/json.hpp>
#include <vector>

#include "core/models/generative_model.hpp"
#include "core/nn/adam.hpp"
#include "core/progress_reporter.hpp"
#include "core/variational/affine_coupling_flow.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/flow_posterior.hpp"
#include "core/variational/start_or_best_selection.hpp"

namespace vigap {

/// Settings of optimize_local_flow; stopping as Cremer et al. (2018).
struct LocalFlowOptions {
  /// The flow of every datapoint (latent_dim is taken from the model; this field's value is
  /// ignored). Default: 4 coupling layers, conditioner d-64-2d tanh, log-scales bounded by 3.
  AffineCouplingFlowArchitecture flow;
  Index samples = 50;             ///< S, reparameterized samples per datapoint per step (Cremer: 50), >= 1
  double learning_rate = 1e-3;    ///< Adam's step size, > 0
  AdamOptions adam;               ///< β1 0.9, β2 0.999, ε 1e-8
  Index check_interval = 100;     ///< steps between convergence checks, >= 1
  Index patience = 10;            ///< a datapoint stops after this many checks without improvement, >= 1
  Index max_steps = 100000;       ///< hard cap on steps, >= 1
  /// Common evaluation draws per datapoint on which the start and the best check's parameters
  /// are compared at the end, the better kept (start_or_best_selection.hpp), >= 2; 0 skips the
  /// comparison (for equal-budget comparisons: it costs 2·selection_samples evaluations per datapoint).
  Index selection_samples = 1000;
  /// Throws std::invalid_argument naming the option when a value is out of range.
  void validate() const;
  /// Every field, for a result's `configuration`.
  nlohmann::ordered_json to_json() const;
};

/// One convergence check.
struct LocalFlowCheck {
  Index step = 0;                ///< steps taken so far
  double mean_elbo = 0.0;        ///< mean over datapoints of the ELBO averaged over the last check_interval steps
  Index active_datapoints = 0;   ///< datapoints not yet stopped after this check
};

/// What optimize_local_flow returns.
struct LocalFlowOptimizationResult {
  /// q_b for every datapoint: its own base Gaussian and its own flow (FlowPosterior with B flows),
  /// at the check where the datapoint's windowed ELBO was best, or the start where that is
  /// better on the common selection draws.
  FlowPosterior approximation;
  std::vector<LocalFlowCheck> trajectory;
  VectorD best_window_elbo;          ///< per datapoint: the best windowed training ELBO (noisy, optimistic; of the best check even where selection kept the start)
  std::vector<Index> stopped_at_step; ///< per datapoint: step at which it stopped (max_steps if it never did)
  Index steps = 0;                   ///< steps taken
  bool converged = false;            ///< every datapoint stopped by the patience rule before max_steps
  double seconds = 0.0;
  /// Per datapoint: the standard error of the windowed ELBO at its last check (the one its
  /// stopping decision was made on), sd of the window's per-step ELBOs / sqrt(check_interval):
  /// the stopping rule's noise. NaN when it was never checked.
  VectorD decision_standard_error;
  /// The start (`initial`, identity flows) against the best check's parameters on
  /// selection_samples common draws; `approximation` holds the better of the two per datapoint.
  StartOrBestSelection selection;
  /// Per datapoint: the patience rule stopped it (at stopped_at_step, which may be max_steps).
  std::vector<bool> stopped_by_rule;
};

/// Fits, for each datapoint b separately, a base Gaussian N(μ_b, diag e^{v_b}) and its own affine
/// coupling flow T_b (parameters NOT shared across datapoints) by maximizing the reparameterized
///   ELBO_b = (1/S) Σ_s [log p(x_b, T_b(z0_s)) - log q0(z0_s) + log|det ∂T_b/∂z0|(z0_s)],
///   z0_s = μ_b + e^{v_b/2} ⊙ ε_s,
/// with Adam on all datapoints' parameters at once (one Adam state; Adam is elementwise, so this
/// equals one optimizer per datapoint). Each step is one model.log_joint_with_gradient call over
/// all B·S latents; the small per-datapoint flows run one call per datapoint on its S columns.
/// Starts from `initial` (μ, v) with identity flows (zero conditioner output layers).
/// Stopping: every check_interval steps each datapoint's mean training ELBO over the last
/// check_interval steps is compared with its best; a datapoint stops after `patience` checks
/// without improvement (it keeps the parameters of its best check); the run ends when all have
/// stopped or after max_steps. End: the start (`initial` with identity flows, which the family
/// contains) and the best check's parameters are compared on options.selection_samples common
/// draws per datapoint (a stream split from rng after the fit) and the better is kept, so the
/// flow never ends worse than its start beyond the noise of that paired comparison. Throws std::invalid_argument for bad options or shapes,
/// std::runtime_error if the objective becomes non-finite.
/// Randomness: datapoint b's flow is initialized from its StreamPurpose::flow_initialization
/// generator and its draws ε come from its local_flow_draws generator (its own stream, in step
/// order), so its fit does not depend on the other datapoints of X. `progress` gets a status line
/// at every check.
LocalFlowOptimizationResult optimize_local_flow(const GenerativeModel& model, const MatrixF& X,
                                                const DiagonalGaussian& initial, const LocalFlowOptions& options,
                                                const RandomStreams& streams, const ProgressReporter& progress = quiet_progress());

/// As above with the single stream rng (the draws of earlier versions: they depend on the batch).
LocalFlowOptimizationResult optimize_local_flow(const GenerativeModel& model, const MatrixF& X,
                                                const DiagonalGaussian& initial, const LocalFlowOptions& options,
                                                Rng& rng, const ProgressReporter& progress = quiet_progress());

}  // namespace vigap
