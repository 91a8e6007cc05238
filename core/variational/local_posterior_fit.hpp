#pragma once
// One entry point for q*_F, the member of a posterior family F fitted to each datapoint alone
// (Cremer, Li & Duvenaud 2018), and one result type whatever F: the Gaussian families by
// optimize_local_gaussian, the flow by optimize_local_flow.
#include <nlohmann/json.hpp>
#include <variant>
#include <vector>

#include "core/models/generative_model.hpp"
#include "core/random_streams.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/flow_posterior.hpp"
#include "core/variational/full_covariance_gaussian.hpp"
#include "core/variational/local_flow_optimization.hpp"
#include "core/variational/local_gaussian_optimization.hpp"
#include "core/variational/posterior_family.hpp"
#include "core/variational/start_or_best_selection.hpp"

namespace vigap {

/// Settings of fit_local_posterior: one block per way of fitting; a fit reads only its family's.
struct LocalFitOptions {
  /// q*_FFG and q*_full (optimize_local_gaussian). Its `family` field is ignored: the family
  /// argument sets it. Defaults (LocalOptimizationOptions): S = 50 draws a step, an ELBO check on
  /// 100 fresh draws every 100 steps, stop after 10 checks without improvement or 5000 steps,
  /// Adam at 1e-2 halving every 500 steps, start-or-best on 1000 common draws.
  LocalOptimizationOptions gaussian;
  /// q*_flow (optimize_local_flow). Defaults (LocalFlowOptions): 4 coupling layers with d-64-2d
  /// tanh conditioners, S = 50, Adam at 1e-3, windowed checks every 100 steps, patience 10, at
  /// most 100000 steps, start-or-best on 1000 common draws.
  LocalFlowOptions flow;

  /// Throws std::invalid_argument naming the option when a value of either block is out of range.
  void validate() const;
  /// validate() of the block `family` is fitted with; throws std::invalid_argument for a family
  /// that is not fitted per datapoint (amortized).
  void validate(PosteriorFamily family) const;
  /// {"gaussian": ..., "flow": ...}: every field, for a result's `configuration`.
  nlohmann::ordered_json to_json() const;
};

/// q*_F of every datapoint of a batch, and what the fit cost, for any local family F.
struct LocalPosteriorFitResult {
  LocalPosteriorFitResult(PosteriorFamily family, std::variant<DiagonalGaussian, FullCovarianceGaussian, FlowPosterior> q)
      : family(family), fitted(std::move(q)) {}

  PosteriorFamily family;
  /// q*: DiagonalGaussian (ffg), FullCovarianceGaussian (full) or FlowPosterior with one flow per
  /// datapoint (flow); per datapoint the better of its start and its best check's parameters.
  std::variant<DiagonalGaussian, FullCovarianceGaussian, FlowPosterior> fitted;

  /// q* as the common interface.
  const PosteriorApproximation& approximation() const;
  /// q* as its concrete type; each throws std::invalid_argument naming the family fitted when it is another.
  const DiagonalGaussian& diagonal() const;
  const FullCovarianceGaussian& full_covariance() const;
  const FlowPosterior& flow() const;

  /// B: the fit's own estimate of the ELBO of the parameters it kept (biased upward as the best
  /// of noisy checks; re-estimate on fresh draws to report an ELBO). Gaussian families: the
  /// best check's Monte Carlo ELBO on check_samples fresh draws (check 0's where the start was
  /// kept). Flow: the best window mean of check_interval per-step training ELBOs (of the best
  /// check even where the start was kept: the flow has no check of its start).
  VectorD final_objective;
  /// B: the standard error of the check the datapoint's stopping decision was made on (its last
  /// check): the stopping rule's noise. NaN when it was never checked.
  VectorD final_objective_standard_error;
  /// B: gradient steps until the datapoint stopped (its parameters were frozen).
  std::vector<Index> iterations;
  std::vector<bool> stopped_by_rule;  ///< B: the patience rule stopped it (else max_steps)
  bool all_stopped_by_rule = false;   ///< every datapoint stopped by the patience rule
  Index steps = 0;                    ///< steps of the batch (= max of iterations)
  /// The start against the best check's parameters on common draws (empty when selection_samples = 0).
  StartOrBestSelection selection;

  /// B: latent columns the decoder evaluated for datapoint b: gradient steps (S per step; the
  /// Gaussian families stop evaluating a datapoint once it stopped, the flow evaluates every
  /// datapoint at every step of the batch), checks (Gaussian families: check_samples each), and
  /// the start-or-best selection (2·selection_samples).
  std::vector<Index> decoder_evaluations;
  /// Per datapoint, of decoder_evaluations: the start-or-best selection's (2·selection_samples).
  Index selection_decoder_evaluations = 0;
  /// Of all decoder evaluations: those whose gradient with respect to z was computed.
  Index gradient_evaluations = 0;
  /// Σ_b decoder_evaluations(b).
  Index total_decoder_evaluations() const;
  /// Σ_b decoder_evaluations(b) - B·selection_decoder_evaluations: the fit's own, without the selection.
  Index fit_decoder_evaluations() const;

  double seconds = 0.0;
};

/// q*_F for each datapoint x_b (column of X), F = family (ffg, full or flow), started from
/// `start` (the encoder's q, N(0, I), or, for the flow, q*_FFG: the flow at identity is that
/// Gaussian). ffg and full maximize ELBO(q_b) over diagonal / full-covariance Gaussians by
/// optimize_local_gaussian (options.gaussian, its family set from `family`); flow maximizes it
/// over a base Gaussian with its own affine coupling flow by optimize_local_flow (options.flow).
/// Randomness as those functions: datapoint b's draws come from its own generators of `streams`
/// (purposes local_optimization_* or flow_initialization / local_flow_*), so q*_b does not
/// depend on the other datapoints of X. Not an estimator: final_objective is a diagnostic.
/// Throws std::invalid_argument for the amortized family, invalid options or mismatched shapes.
/// `progress` gets the fit's status lines.
LocalPosteriorFitResult fit_local_posterior(const GenerativeModel& model, const MatrixF& X, PosteriorFamily family,
                                            const DiagonalGaussian& start, const LocalFitOptions& options,
                                            const RandomStreams& streams, const ProgressReporter& progress = quiet_progress());

}  // namespace vigap
