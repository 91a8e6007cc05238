#include "core/variational/local_flow_optimization.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

#include "core/math/sum_in_order.hpp"
#include "core/variational/patience_stopping_rule.hpp"

namespace vigap {

namespace {

/// E x B: log p(x_b, z) - log q_b(z) of the per-datapoint flow posteriors with parameters
/// `parameters` (blocks [μ_b, v_b, θ_b] of `block` entries) at z = T_b(μ_b + e^{v_b/2} ⊙ ε_e),
/// ε_e = eps.col(b·E + e): the same eps for every parameter vector (common random numbers).
/// log q_b(z) = log N(z0; μ_b, diag e^{v_b}) - log|det ∂T_b/∂z0|.
MatrixD flow_elbo_terms_on_draws(const GenerativeModel& model, const MatrixF& X, const VectorF& parameters,
                                 const AffineCouplingFlow& prototype, const MatrixF& eps, Index E) {
  const Index d = prototype.latent_dim();
  const Index P = prototype.num_parameters();
  const Index block = 2 * d + P;
  const Index B = X.cols();
  const double log_2pi_half_d = 0.5 * static_cast<double>(d) * std::log(2.0 * std::numbers::pi);
  AffineCouplingFlow flow = prototype;
  AffineCouplingFlow::Workspace workspace;
  MatrixF Z0, Zb;
  VectorD log_det;
  MatrixD terms(E, B);
  for (Index b = 0; b < B; ++b) {
    const auto mu = parameters.segment(b * block, d);
    const auto v = parameters.segment(b * block + d, d);
    const VectorF sd = (0.5f * v.array()).exp();
    flow.parameters() = parameters.segment(b * block + 2 * d, P);
    const auto E_b = eps.middleCols(b * E, E);
    Z0 = (E_b.array().colwise() * sd.array()).colwise() + mu.array();
    flow.forward(Z0, workspace, Zb, log_det);
    const MatrixF x = X.col(b);
    const VectorD log_joint = model.log_joint(x, Zb.cast<double>(), E);
    // Sums in index order (core/math/sum_in_order.hpp): a datapoint's parameter segment and its columns of eps
    // start at alignments that depend on b, which Eigen's vectorized reductions would round by.
    const double entropy_part = 0.5 * sum_in_order(v) + log_2pi_half_d;
    for (Index e = 0; e < E; ++e)
      terms(e, b) = log_joint(e) + 0.5 * squared_norm_in_order(E_b.col(e)) + log_det(e) + entropy_part;
  }
  return terms;
}

/// The standard error of a window mean of n per-step ELBOs from their mean and mean square:
/// sqrt(sample variance / n) (treating the steps as independent, which Adam's drift within a
/// window only inflates).
double window_standard_error(double mean, double mean_square, Index n) {
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  const double variance = std::max(0.0, mean_square - mean * mean) * static_cast<double>(n) / static_cast<double>(n - 1);
  return std::sqrt(variance / static_cast<double>(n));
}

}  // namespace

nlohmann::ordered_json LocalFlowOptions::to_json() const {
  return {{"samples", samples},
          {"max_steps", max_steps},
          {"check_interval", check_interval},
          {"patience", patience},
          {"selection_samples", selection_samples},
          {"learning_rate", learning_rate},
          {"adam", {{"beta1", adam.beta1}, {"beta2", adam.beta2}, {"epsilon", adam.epsilon}}},
          {"num_layers", flow.num_layers},
          {"hidden_sizes", flow.hidden_sizes},
          {"log_scale_bound", flow.log_scale_bound}};
}

void LocalFlowOptions::validate() const {
  AffineCouplingFlowArchitecture f = flow;
  f.latent_dim = 1;  // taken from the model
  f.validate();
  if (samples < 1) throw std::invalid_argument("local flow samples must be >= 1, found " + std::to_string(samples));
  if (!(learning_rate > 0.0) || !std::isfinite(learning_rate))
    throw std::invalid_argument("local flow learning_rate must be finite and > 0, found " + std::to_string(learning_rate));
  adam.validate();
  if (check_interval < 1)
    throw std::invalid_argument("local flow check_interval must be >= 1, found " + std::to_string(check_interval));
  if (patience < 1) throw std::invalid_argument("local flow patience must be >= 1, found " + std::to_string(patience));
  if (max_steps < 1) throw std::invalid_argument("local flow max_steps must be >= 1, found " + std::to_string(max_steps));
  if (selection_samples == 1 || selection_samples < 0)
    throw std::invalid_argument("local flow selection_samples must be 0 (no selection) or >= 2 (for a standard error), found " +
                                std::to_string(selection_samples));
}

namespace {
LocalFlowOptimizationResult optimize_local_flow_with(const GenerativeModel& model, const MatrixF& X,
                                                     const DiagonalGaussian& initial, const LocalFlowOptions& options,
                                                     BatchRng& initialization_rng, BatchRng& draw_rng,
                                                     BatchRng& selection_rng, const ProgressReporter& progress);
}  // namespace

LocalFlowOptimizationResult optimize_local_flow(const GenerativeModel& model, const MatrixF& X,
                                                const DiagonalGaussian& initial, const LocalFlowOptions& options,
                                                Rng& rng, const ProgressReporter& progress) {
  BatchRng one(std::vector<Rng>{rng});
  LocalFlowOptimizationResult result = optimize_local_flow_with(model, X, initial, options, one, one, one, progress);
  rng = one[0];
  return result;
}

LocalFlowOptimizationResult optimize_local_flow(const GenerativeModel& model, const MatrixF& X,
                                                const DiagonalGaussian& initial, const LocalFlowOptions& options,
                                                const RandomStreams& streams, const ProgressReporter& progress) {
  streams.check_size(X.cols(), "optimize_local_flow");
  BatchRng initialization_rng = streams.generators(StreamPurpose::flow_initialization);
  BatchRng draw_rng = streams.generators(StreamPurpose::local_flow_draws);
  BatchRng selection_rng = streams.generators(StreamPurpose::local_flow_selection);
  return optimize_local_flow_with(model, X, initial, options, initialization_rng, draw_rng, selection_rng, progress);
}

namespace {

/// The batch's parameter vector: per datapoint b a block [μ_b (d), v_b (d), θ_b (P flow parameters)].
struct FlowLayout {
  Index d;
  Index P;
  Index S;  ///< reparameterized draws per datapoint per step
  Index block() const { return 2 * d + P; }
};

/// The batch fit as it runs.
struct FlowFitState {
  std::vector<AffineCouplingFlow> flows;  ///< datapoint b's flow (its parameters are set before each use)
  VectorF parameters;
  VectorF start_parameters;  ///< the initial Gaussian, identity flows
  VectorF best_parameters;
  VectorD window_sum;             ///< per datapoint, Σ of the per-step ELBOs since the last check
  VectorD window_sum_of_squares;  ///< the same of their squares (for the check's standard error)
  VectorD best;                   ///< per datapoint, the best window mean so far
  std::vector<Index> checks_without_improvement;
  std::vector<bool> stopped;
  Index active = 0;  ///< datapoints not yet stopped
};

/// Buffers of one step, kept across steps.
struct FlowStepWorkspace {
  std::vector<AffineCouplingFlow::Workspace> flow_workspaces;  ///< per datapoint, for its backward pass
  MatrixF eps, Z0, Zb, grad_Zb, grad_Z0;
  MatrixD Z, grad_Z;
  std::vector<VectorD> log_dets;  ///< per datapoint, log|det ∂T_b/∂z0| of its S draws
  VectorF gradient, grad_theta;
  VectorF grad_log_det;           ///< ∂ELBO_b/∂ log det = 1/S for every draw
};

void check_flow_shapes(const GenerativeModel& model, const MatrixF& X, const DiagonalGaussian& initial) {
  const Index d = model.latent_dim();
  const Index B = X.cols();
  if (X.rows() != model.data_dim())
    throw std::invalid_argument("optimize_local_flow: data have " + std::to_string(X.rows()) + " rows, the model " +
                                std::to_string(model.data_dim()));
  if (B < 1) throw std::invalid_argument("optimize_local_flow: no datapoints");
  if (initial.latent_dim() != d || initial.num_datapoints() != B)
    throw std::invalid_argument("optimize_local_flow: the initial Gaussian is " + std::to_string(initial.latent_dim()) +
                                " x " + std::to_string(initial.num_datapoints()) + ", expected " + std::to_string(d) +
                                " x " + std::to_string(B));
}

/// Every datapoint active at (μ, v) of `initial` with its flow initialized from its generator
/// (identity: zero conditioner output layers).
FlowFitState initial_flow_state(const AffineCouplingFlow& prototype, const FlowLayout& layout,
                                const DiagonalGaussian& initial, BatchRng& initialization_rng) {
  const Index d = layout.d;
  const Index B = initial.num_datapoints();
  const Index block = layout.block();
  FlowFitState state;
  state.parameters.resize(B * block);
  for (Index b = 0; b < B; ++b) {
    state.flows.push_back(prototype);
    state.flows.back().initialize(initialization_rng.for_datapoint(b));
    state.parameters.segment(b * block, d) = initial.mean().col(b).cast<float>();
    state.parameters.segment(b * block + d, d) = initial.log_variance().col(b).cast<float>();
    state.parameters.segment(b * block + 2 * d, layout.P) = state.flows.back().parameters();
  }
  state.start_parameters = state.parameters;
  state.best_parameters = state.parameters;
  state.window_sum = VectorD::Zero(B);
  state.window_sum_of_squares = VectorD::Zero(B);
  state.best = VectorD::Constant(B, -std::numeric_limits<double>::infinity());
  state.checks_without_improvement.assign(static_cast<size_t>(B), 0);
  state.stopped.assign(static_cast<size_t>(B), false);
  state.active = B;
  return state;
}

FlowStepWorkspace step_workspace(const FlowLayout& layout, Index B, Index num_parameters) {
  FlowStepWorkspace ws;
  ws.flow_workspaces.resize(static_cast<size_t>(B));
  ws.eps.resize(layout.d, B * layout.S);
  ws.Z0.resize(layout.d, layout.S);
  ws.Z.resize(layout.d, B * layout.S);
  ws.log_dets.resize(static_cast<size_t>(B));
  ws.gradient.resize(num_parameters);
  ws.grad_theta.resize(layout.P);
  ws.grad_log_det = VectorF::Constant(layout.S, 1.0f / static_cast<float>(layout.S));
  return ws;
}

/// ws.Z (d x B·S) = T_b(μ_b + e^{v_b/2} ⊙ ε) for every datapoint's S draws ε of ws.eps, keeping
/// each flow's forward pass for the backward one.
void push_forward(const FlowLayout& layout, FlowFitState& state, FlowStepWorkspace& ws) {
  const Index d = layout.d;
  const Index S = layout.S;
  const Index block = layout.block();
  const Index B = static_cast<Index>(state.flows.size());
  for (Index b = 0; b < B; ++b) {
    const auto mu = state.parameters.segment(b * block, d);
    const VectorF sd = (0.5f * state.parameters.segment(b * block + d, d).array()).exp();
    AffineCouplingFlow& flow = state.flows[static_cast<size_t>(b)];
    flow.parameters() = state.parameters.segment(b * block + 2 * d, layout.P);
    ws.Z0 = (ws.eps.middleCols(b * S, S).array().colwise() * sd.array()).colwise() + mu.array();
    flow.forward(ws.Z0, ws.flow_workspaces[static_cast<size_t>(b)], ws.Zb, ws.log_dets[static_cast<size_t>(b)]);
    ws.Z.middleCols(b * S, S) = ws.Zb.cast<double>();
  }
}

/// ws.gradient = ∇ of -Σ_b ELBO_b (Adam minimizes) from the model's log p(x, z) and ws.grad_Z at
/// ws.Z, adding each ELBO_b to its window sums. Throws std::runtime_error naming the datapoint
/// and step when an ELBO is non-finite.
void negative_elbo_gradient(const FlowLayout& layout, const VectorD& log_joint, Index step, FlowFitState& state,
                            FlowStepWorkspace& ws) {
  const Index d = layout.d;
  const Index S = layout.S;
  const Index block = layout.block();
  const Index B = static_cast<Index>(state.flows.size());
  const double log_2pi_half_d = 0.5 * static_cast<double>(d) * std::log(2.0 * std::numbers::pi);
  ws.gradient.setZero();
  for (Index b = 0; b < B; ++b) {
    // ELBO_b = mean_s [log p(x, z) + ½‖ε‖² + ½ Σ v + (d/2) log 2π + log det].
    // Sums in index order, as in flow_elbo_terms_on_draws (the segments' alignment depends on b).
    const double entropy_part = 0.5 * sum_in_order(state.parameters.segment(b * block + d, d)) + log_2pi_half_d;
    double elbo = 0.0;
    for (Index s = 0; s < S; ++s) {
      const Index c = b * S + s;
      elbo += log_joint(c) + 0.5 * squared_norm_in_order(ws.eps.col(c)) + ws.log_dets[static_cast<size_t>(b)](s);
    }
    elbo = elbo / static_cast<double>(S) + entropy_part;
    if (!std::isfinite(elbo))
      throw std::runtime_error("optimize_local_flow: the ELBO of datapoint " + std::to_string(b) +
                               " became non-finite at step " + std::to_string(step + 1) +
                               "; try a smaller learning_rate");
    state.window_sum(b) += elbo;
    state.window_sum_of_squares(b) += elbo * elbo;
    ws.grad_Zb = (ws.grad_Z.middleCols(b * S, S) / static_cast<double>(S)).cast<float>();
    ws.grad_theta.setZero();
    state.flows[static_cast<size_t>(b)].backward(ws.flow_workspaces[static_cast<size_t>(b)], ws.grad_Zb,
                                                 ws.grad_log_det, &ws.grad_theta, &ws.grad_Z0);
    const VectorF sd = (0.5f * state.parameters.segment(b * block + d, d).array()).exp();
    // z0 = μ + e^{v/2} ε: ∂z0/∂μ = 1, ∂z0/∂v = ½ e^{v/2} ε; the entropy term ½ Σ v adds ½ to every ∂/∂v_j.
    // Row sums over s in index order: Eigen's would take a path (packet or scalar rows) set by
    // the alignment of the destination segment, which depends on b.
    for (Index i = 0; i < d; ++i) {
      float sum = 0.0f, weighted = 0.0f;
      for (Index s = 0; s < S; ++s) {
        sum += ws.grad_Z0(i, s);
        weighted += ws.grad_Z0(i, s) * ws.eps(i, b * S + s);
      }
      ws.gradient(b * block + i) = -sum;
      ws.gradient(b * block + d + i) = -(0.5f * weighted * sd(i) + 0.5f);
    }
    ws.gradient.segment(b * block + 2 * d, layout.P) = -ws.grad_theta;
  }
}

/// The check after `step`: each datapoint's window mean of its per-step ELBOs against its best
/// (record_check), the patience rule, and the trajectory's point (mean window ELBO over all datapoints).
void check_windows(const LocalFlowOptions& options, const FlowLayout& layout, Index step, FlowFitState& state,
                   LocalFlowOptimizationResult& result) {
  const Index B = static_cast<Index>(state.flows.size());
  const Index block = layout.block();
  double mean = 0.0;
  for (Index b = 0; b < B; ++b) {
    const double window = state.window_sum(b) / static_cast<double>(options.check_interval);
    const double window_square = state.window_sum_of_squares(b) / static_cast<double>(options.check_interval);
    mean += window / static_cast<double>(B);
    state.window_sum(b) = 0.0;
    state.window_sum_of_squares(b) = 0.0;
    const size_t bi = static_cast<size_t>(b);
    if (state.stopped[bi]) continue;
    result.decision_standard_error(b) = window_standard_error(window, window_square, options.check_interval);
    // Per-step ELBOs are finite (non-finite ones throw), so record_check sees finite windows.
    if (record_check(window, 0.0, state.best(b), state.checks_without_improvement[bi]))
      state.best_parameters.segment(b * block, block) = state.parameters.segment(b * block, block);
    if (state.checks_without_improvement[bi] >= options.patience) {
      state.stopped[bi] = true;
      result.stopped_at_step[bi] = step;
      --state.active;
    }
  }
  result.trajectory.push_back({step, mean, state.active});
}

/// The start against the best check's parameters on selection_samples common draws (skipped
/// when 0): the start's parameters replace the best's where they are better.
void keep_start_where_better(const GenerativeModel& model, const MatrixF& X, const AffineCouplingFlow& prototype,
                             const FlowLayout& layout, Index selection_samples, BatchRng& selection_rng,
                             FlowFitState& state, LocalFlowOptimizationResult& result) {
  const Index E = selection_samples;
  if (E == 0) return;
  const Index B = X.cols();
  const Index block = layout.block();
  MatrixF selection_eps(layout.d, B * E);
  fill_standard_normal(selection_eps, selection_rng);
  result.selection = select_start_or_best(
      flow_elbo_terms_on_draws(model, X, state.start_parameters, prototype, selection_eps, E),
      flow_elbo_terms_on_draws(model, X, state.best_parameters, prototype, selection_eps, E));
  for (Index b = 0; b < B; ++b)
    if (result.selection.kept_start[static_cast<size_t>(b)])
      state.best_parameters.segment(b * block, block) = state.start_parameters.segment(b * block, block);
}

/// The fitted posterior: per datapoint its kept base Gaussian and flow.
FlowPosterior kept_posterior(const FlowLayout& layout, FlowFitState& state) {
  const Index d = layout.d;
  const Index block = layout.block();
  const Index B = static_cast<Index>(state.flows.size());
  MatrixD mean(d, B), log_variance(d, B);
  for (Index b = 0; b < B; ++b) {
    mean.col(b) = state.best_parameters.segment(b * block, d).cast<double>();
    log_variance.col(b) = state.best_parameters.segment(b * block + d, d).cast<double>();
    state.flows[static_cast<size_t>(b)].parameters() = state.best_parameters.segment(b * block + 2 * d, layout.P);
  }
  return FlowPosterior(std::move(mean), std::move(log_variance), std::move(state.flows),
                       "locally fitted flow posterior", /*fitted_per_datapoint=*/true);
}

/// initialization_rng, draw_rng and selection_rng may be the same object (the legacy single stream).
LocalFlowOptimizationResult optimize_local_flow_with(const GenerativeModel& model, const MatrixF& X,
                                                     const DiagonalGaussian& initial, const LocalFlowOptions& options,
                                                     BatchRng& initialization_rng, BatchRng& draw_rng,
                                                     BatchRng& selection_rng, const ProgressReporter& progress) {
  options.validate();
  const auto start = std::chrono::steady_clock::now();
  check_flow_shapes(model, X, initial);
  const Index B = X.cols();
  AffineCouplingFlowArchitecture architecture = options.flow;
  architecture.latent_dim = model.latent_dim();
  const AffineCouplingFlow prototype(architecture);
  const FlowLayout layout{model.latent_dim(), prototype.num_parameters(), options.samples};
  FlowFitState state = initial_flow_state(prototype, layout, initial, initialization_rng);
  Adam adam(state.parameters.size(), options.adam);
  FlowStepWorkspace ws = step_workspace(layout, B, state.parameters.size());

  LocalFlowOptimizationResult result{FlowPosterior(initial.mean(), initial.log_variance(), {prototype}), {}, {}, {}, 0,
                                     false, 0.0, {}, {}, {}};
  result.decision_standard_error = VectorD::Constant(B, std::numeric_limits<double>::quiet_NaN());
  result.stopped_at_step.assign(static_cast<size_t>(B), options.max_steps);

  Index step = 0;
  while (step < options.max_steps && state.active > 0) {
    fill_standard_normal(ws.eps, draw_rng);
    push_forward(layout, state, ws);
    const VectorD log_joint = model.log_joint_with_gradient(X, ws.Z, layout.S, ws.grad_Z);
    negative_elbo_gradient(layout, log_joint, step, state, ws);
    adam.step(state.parameters, ws.gradient, options.learning_rate);
    ++step;
    if (step % options.check_interval == 0) {
      check_windows(options, layout, step, state, result);
      const LocalFlowCheck& last = result.trajectory.back();
      if (progress.enabled())
        progress.update("local flow q*: step " + std::to_string(step) + ", " + std::to_string(last.active_datapoints) +
                        "/" + std::to_string(B) + " datapoints active, mean window ELBO " +
                        std::to_string(last.mean_elbo));
    }
  }
  progress.finish();
  result.best_window_elbo = state.best;
  // Datapoints never checked (max_steps < check_interval) keep their last parameters.
  const Index block = layout.block();
  for (Index b = 0; b < B; ++b)
    if (!std::isfinite(state.best(b)))
      state.best_parameters.segment(b * block, block) = state.parameters.segment(b * block, block);

  keep_start_where_better(model, X, prototype, layout, options.selection_samples, selection_rng, state, result);
  result.approximation = kept_posterior(layout, state);
  result.steps = step;
  result.converged = state.active == 0;
  result.stopped_by_rule = state.stopped;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

}  // namespace vigap
