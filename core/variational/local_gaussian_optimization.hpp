#pragma once
// The locally optimized Gaussian q*(z|x) of each datapoint (Cremer, Li & Duvenaud 2018): the
// Gaussian that maximizes the ELBO of that datapoint alone, found by stochastic optimization.
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "core/models/generative_model.hpp"
#include "core/nn/adam.hpp"
#include "core/progress_reporter.hpp"
#include "core/random.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/full_covariance_gaussian.hpp"
#include "core/variational/start_or_best_selection.hpp"

namespace vigap {

/// The Gaussian family q* is optimized over.
enum class LocalGaussianFamily {
  /// N(μ, diag(σ²)), parameters (μ, log σ): 2d per datapoint.
  diagonal,
  /// N(μ, L Lᵀ), L lower triangular, parameters (μ, log L_jj, L_ij for i > j): 2d + d(d-1)/2.
  full_covariance,
};

/// Parses "diagonal" or "full-covariance" (or "full_covariance").
LocalGaussianFamily parse_local_gaussian_family(const std::string& name);
std::string to_string(LocalGaussianFamily family);

/// Settings of optimize_local_gaussian. Defaults follow Cremer et al. (2018) where they fix a
/// value (S = 50 samples a step, a check every 100 steps, stop after 10 checks without
/// improvement, Adam) and are chosen for 2 cores elsewhere (learning rate and its half-life, max_steps).
struct LocalOptimizationOptions {
  /// The family of q*.
  LocalGaussianFamily family = LocalGaussianFamily::diagonal;
  /// S, reparameterized samples per datapoint in each gradient step (>= 1). Cremer et al.: 50.
  Index samples_per_step = 50;
  /// Upper bound on optimization steps per datapoint (>= 1). 5000 steps of 100 datapoints of a
  /// z=20, 20-200-200-784 decoder with S = 50 take ~10 minutes on 2 cores; with the default
  /// learning-rate half-life the step size has fallen 1000-fold by then.
  Index max_steps = 5000;
  /// Steps between two ELBO checks (>= 1). Cremer et al.: 100.
  Index check_interval = 100;
  /// Samples per datapoint of each check's ELBO estimate (>= 2, for its standard error).
  Index check_samples = 100;
  /// A datapoint stops after this many consecutive checks whose ELBO estimate does not exceed its
  /// best one by more than improvement_tolerance (>= 1). Cremer et al.: 10.
  Index patience = 10;
  /// Common evaluation draws per datapoint on which the start and the best check's parameters
  /// are compared at the end (>= 2); the better one is kept (start_or_best_selection.hpp). 0 skips
  /// the comparison (the best check is kept, as equal-budget comparisons need: it costs
  /// 2·selection_samples likelihood evaluations per datapoint beyond the fit's own).
  /// 1000: the paired difference's standard error is ~1/30 of the per-draw spread of the
  /// difference, which is small when the two Gaussians are close.
  Index selection_samples = 1000;
  /// Nats by which a check must beat the best value to count as an improvement (>= 0); a smaller
  /// gain still replaces the kept parameters but counts toward patience.
  double improvement_tolerance = 0.0;
  /// Adam's learning rate at step 0 (> 0). Adam moves each parameter by about this much per step,
  /// so 1e-2 crosses the ~3 units from N(0, I) to a sharp posterior in a few hundred steps.
  double learning_rate = 1e-2;
  /// Steps over which the learning rate halves, lr(t) = learning_rate · 2^(-t / half_life)
  /// (>= 0; 0 keeps it constant, as Cremer et al.'s plain Adam — use learning_rate 1e-3 then).
  /// The final parameter jitter of stochastic Adam is ~lr, so a decaying rate lets q* settle to
  /// a small fraction of the posterior widths. With 500 the rate is 1e-2/8 at step 1500 and 1e-2/64
  /// at step 3000, and Adam can still travel Σ lr ≈ 7 units per parameter in all.
  double learning_rate_half_life = 500.0;
  /// Adam's β1, β2, ε (defaults of the paper).
  AdamOptions adam;
  /// Throws std::invalid_argument naming the option, what was expected and what was found.
  void validate() const;
  /// Every field, for a result's `configuration`.
  nlohmann::ordered_json to_json() const;
  /// The learning rate of step t = 0, 1, ... (see learning_rate_half_life).
  double learning_rate_at(Index step) const;
};

/// q* of every datapoint and how it was found.
struct LocalGaussianOptimizationResult {
  explicit LocalGaussianOptimizationResult(std::variant<DiagonalGaussian, FullCovarianceGaussian> q)
      : optimized(std::move(q)) {}

  /// q*: per datapoint the parameters of its best check ELBO (the initial q is check 0). DiagonalGaussian or FullCovarianceGaussian as options.family says.
  std::variant<DiagonalGaussian, FullCovarianceGaussian> optimized;
  /// The step at each check: 0 (the initial q), check_interval, 2·check_interval, ..., plus the
  /// last step when it is not a multiple of check_interval.
  std::vector<Index> check_steps;
  /// B x C: the ELBO estimate of datapoint b at check c, (1/S_c) Σ_s [log p(x_b, z_s) - log q(z_s)]
  /// over S_c = check_samples fresh draws; NaN once datapoint b had stopped before that check.
  MatrixD check_elbo;
  MatrixD check_elbo_standard_error;  ///< B x C: sd_s / sqrt(check_samples); NaN as check_elbo
  /// The check ELBO of the parameters kept in `optimized` (check 0's when the start was kept). Biased upward as the maximum of noisy
  /// estimates: re-estimate with estimate_elbo on fresh samples to report an ELBO.
  VectorD best_check_elbo;
  /// B: the standard error of the check the datapoint's stopping decision was made on (its
  /// last check): the stopping rule's noise, below which it cannot tell improvements apart.
  VectorD decision_standard_error;
  /// The start (check 0's parameters) against the best check's parameters on selection_samples
  /// common draws (2·B·selection_samples further likelihood evaluations, not counted in
  /// likelihood_evaluations); `optimized` holds the better of the two per datapoint.
  StartOrBestSelection selection;
  std::vector<Index> steps_taken;     ///< per datapoint: gradient steps until it stopped
  std::vector<bool> stopped_by_rule;  ///< per datapoint: the patience rule fired (else max_steps)
  bool all_stopped_by_rule = false;   ///< every datapoint stopped by the patience rule
  Index steps = 0;                    ///< steps of the batch (= max of steps_taken)
  Index model_gradient_calls = 0;     ///< batched log_likelihood_with_gradient calls (one per step)
  Index gradient_evaluations = 0;     ///< latent columns (datapoint x sample) whose gradient was computed
  Index likelihood_evaluations = 0;   ///< latent columns evaluated without gradient (at the checks)
  double seconds = 0.0;
  nlohmann::ordered_json settings = nlohmann::ordered_json::object();  ///< options, model, family

  /// q* as the common interface.
  const PosteriorApproximation& approximation() const;
};

/// For each datapoint x_b (column of X), maximizes over the Gaussian family
///   ELBO(q_b) = E_{ε~N(0,I)}[log p(x_b | μ_b + L_b ε)] - KL(N(μ_b, L_b L_bᵀ) ‖ N(0, I)),
///   KL = ½(‖μ‖² + ‖L‖_F² - d) - Σ_j log L_jj   (analytic: prior cross-entropy and entropy),
/// by Adam on the reparameterized Monte Carlo gradient with S = samples_per_step draws:
///   ∂/∂μ = (1/S) Σ_s g_s - μ,   ∂/∂L = lower[(1/S) Σ_s g_s ε_sᵀ] - L,   ∂/∂log L_jj = L_jj ∂/∂L_jj + ...,
///   g_s = ∇_z log p(x_b | z)|_{z_s = μ + L ε_s},
/// where the analytic KL contributes -μ, -L and the entropy +1 per log L_jj. Only the likelihood
/// is sampled, so the gradient has lower variance than a fully Monte Carlo ELBO's.
/// All datapoints' parameters form one P x B matrix with one (columnwise) Adam state; each step
/// is ONE batched model.log_likelihood_with_gradient call over the still-active datapoints.
/// Stopping (Cremer et al.): at step 0 and every check_interval steps the ELBO of each active
/// datapoint is estimated with check_samples fresh draws from a stream independent of the
/// gradient draws (one batched log_likelihood call), in the Monte Carlo form
/// mean_s[log p(x, z_s) - log q(z_s)], whose variance vanishes as q approaches the posterior (far
/// smaller near the optimum, where the decision is made, than the analytic-KL form's); the best
/// value and its parameters are kept; a datapoint freezes after `patience` checks without
/// improvement, or at max_steps. The rule resolves improvements down to about the checks'
/// standard error: raise check_samples for a tighter q*.
/// End: the start and the best check's parameters are compared on options.selection_samples
/// common draws per datapoint (a further stream split from rng after the fit) and the better is
/// kept, so q* is never worse than `initial` beyond the noise of that paired comparison
/// (selection.difference_standard_error), which the maximum over noisy checks alone could be.
/// `initial` starts every datapoint (e.g. the encoder's q, or N(0, I)); for the full family its
/// Cholesky factor is diag(σ). Randomness: datapoint b's gradient draws come from its own
/// StreamPurpose::local_optimization_gradient generator and its check draws from its
/// local_optimization_check generator, so q*_b does not depend on the other datapoints of X.
/// Not an estimator: its ELBO values are optimization diagnostics (see best_check_elbo).
/// `progress` gets a status line at every check.
/// Throws std::invalid_argument for invalid options or mismatched shapes.
LocalGaussianOptimizationResult optimize_local_gaussian(const GenerativeModel& model, const MatrixF& X,
                                                        const DiagonalGaussian& initial,
                                                        const LocalOptimizationOptions& options,
                                                        const RandomStreams& streams, const ProgressReporter& progress = quiet_progress());

/// As above with the single stream rng (the draws of earlier versions: they depend on the batch).
LocalGaussianOptimizationResult optimize_local_gaussian(const GenerativeModel& model, const MatrixF& X,
                                                        const DiagonalGaussian& initial,
                                                        const LocalOptimizationOptions& options, Rng& rng, const ProgressReporter& progress = quiet_progress());

}  // namespace vigap
