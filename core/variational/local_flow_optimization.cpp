#include "core/variational/local_flow_optimization.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

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
    const double entropy_part = 0.5 * v.cast<double>().sum() + log_2pi_half_d;
    terms.col(b) = log_joint + (0.5 * E_b.cast<double>().colwise().squaredNorm()).transpose() + log_det;
    terms.col(b).array() += entropy_part;
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

/// initialization_rng, draw_rng and selection_rng may be the same object (the legacy single stream).
LocalFlowOptimizationResult optimize_local_flow_with(const GenerativeModel& model, const MatrixF& X,
                                                     const DiagonalGaussian& initial, const LocalFlowOptions& options,
                                                     BatchRng& initialization_rng, BatchRng& draw_rng,
                                                     BatchRng& selection_rng, const ProgressReporter& progress) {
  options.validate();
  const auto start = std::chrono::steady_clock::now();
  const Index d = model.latent_dim();
  const Index B = X.cols();
  const Index S = options.samples;
  if (X.rows() != model.data_dim())
    throw std::invalid_argument("optimize_local_flow: data have " + std::to_string(X.rows()) + " rows, the model " +
                                std::to_string(model.data_dim()));
  if (B < 1) throw std::invalid_argument("optimize_local_flow: no datapoints");
  if (initial.latent_dim() != d || initial.num_datapoints() != B)
    throw std::invalid_argument("optimize_local_flow: the initial Gaussian is " + std::to_string(initial.latent_dim()) +
                                " x " + std::to_string(initial.num_datapoints()) + ", expected " + std::to_string(d) +
                                " x " + std::to_string(B));


  AffineCouplingFlowArchitecture architecture = options.flow;
  architecture.latent_dim = d;
  std::vector<AffineCouplingFlow> flows;
  const AffineCouplingFlow prototype(architecture);
  const Index P = prototype.num_parameters();
  const Index block = 2 * d + P;  // [μ_b, v_b, θ_b]
  VectorF parameters(B * block);
  for (Index b = 0; b < B; ++b) {
    flows.push_back(prototype);
    flows.back().initialize(initialization_rng.for_datapoint(b));
    parameters.segment(b * block, d) = initial.mean().col(b).cast<float>();
    parameters.segment(b * block + d, d) = initial.log_variance().col(b).cast<float>();
    parameters.segment(b * block + 2 * d, P) = flows.back().parameters();
  }
  const VectorF start_parameters = parameters;  // the initial Gaussian, identity flows
  VectorF best_parameters = parameters;
  Adam adam(parameters.size(), options.adam);

  std::vector<AffineCouplingFlow::Workspace> workspaces(static_cast<size_t>(B));
  MatrixF eps(d, B * S), Z0(d, S), Zb, grad_Zb, grad_Z0;
  MatrixD Z(d, B * S), grad_Z;
  VectorD log_det;
  std::vector<VectorD> log_dets(static_cast<size_t>(B));
  VectorF gradient(parameters.size()), grad_theta(P);
  const VectorF grad_log_det = VectorF::Constant(S, 1.0f / static_cast<float>(S));
  const double log_2pi_half_d = 0.5 * static_cast<double>(d) * std::log(2.0 * std::numbers::pi);

  LocalFlowOptimizationResult result{FlowPosterior(initial.mean(), initial.log_variance(), {prototype}), {}, {}, {}, 0,
                                     false, 0.0, {}, {}, {}};
  VectorD window_sum = VectorD::Zero(B);
  VectorD window_sum_of_squares = VectorD::Zero(B);  // for the check's standard error
  result.decision_standard_error = VectorD::Constant(B, std::numeric_limits<double>::quiet_NaN());
  VectorD best = VectorD::Constant(B, -std::numeric_limits<double>::infinity());
  std::vector<Index> checks_without_improvement(static_cast<size_t>(B), 0);
  result.stopped_at_step.assign(static_cast<size_t>(B), options.max_steps);
  std::vector<bool> stopped(static_cast<size_t>(B), false);
  Index active = B;

  Index step = 0;
  while (step < options.max_steps && active > 0) {
    fill_standard_normal(eps, draw_rng);
    for (Index b = 0; b < B; ++b) {
      const auto mu = parameters.segment(b * block, d);
      const VectorF sd = (0.5f * parameters.segment(b * block + d, d).array()).exp();
      AffineCouplingFlow& flow = flows[static_cast<size_t>(b)];
      flow.parameters() = parameters.segment(b * block + 2 * d, P);
      Z0 = (eps.middleCols(b * S, S).array().colwise() * sd.array()).colwise() + mu.array();
      flow.forward(Z0, workspaces[static_cast<size_t>(b)], Zb, log_dets[static_cast<size_t>(b)]);
      Z.middleCols(b * S, S) = Zb.cast<double>();
    }
    const VectorD log_joint = model.log_joint_with_gradient(X, Z, S, grad_Z);
    gradient.setZero();
    for (Index b = 0; b < B; ++b) {
      // ELBO_b = mean_s [log p(x, z) + ½‖ε‖² + ½ Σ v + (d/2) log 2π + log det].
      const double entropy_part =
          0.5 * parameters.segment(b * block + d, d).cast<double>().sum() + log_2pi_half_d;
      double elbo = 0.0;
      for (Index s = 0; s < S; ++s) {
        const Index c = b * S + s;
        elbo += log_joint(c) + 0.5 * eps.col(c).cast<double>().squaredNorm() + log_dets[static_cast<size_t>(b)](s);
      }
      elbo = elbo / static_cast<double>(S) + entropy_part;
      if (!std::isfinite(elbo))
        throw std::runtime_error("optimize_local_flow: the ELBO of datapoint " + std::to_string(b) +
                                 " became non-finite at step " + std::to_string(step + 1) +
                                 "; try a smaller learning_rate");
      window_sum(b) += elbo;
      window_sum_of_squares(b) += elbo * elbo;
      grad_Zb = (grad_Z.middleCols(b * S, S) / static_cast<double>(S)).cast<float>();
      grad_theta.setZero();
      flows[static_cast<size_t>(b)].backward(workspaces[static_cast<size_t>(b)], grad_Zb, grad_log_det, &grad_theta,
                                             &grad_Z0);
      const VectorF sd = (0.5f * parameters.segment(b * block + d, d).array()).exp();
      // Adam minimizes: gradient of -ELBO_b. z0 = μ + e^{v/2} ε: ∂z0/∂μ = 1, ∂z0/∂v = ½ e^{v/2} ε;
      // the entropy term ½ Σ v adds ½ to every ∂/∂v_j.
      gradient.segment(b * block, d) = -grad_Z0.rowwise().sum();
      gradient.segment(b * block + d, d) =
          -(0.5f * (grad_Z0.array() * eps.middleCols(b * S, S).array()).rowwise().sum() * sd.array() + 0.5f).matrix();
      gradient.segment(b * block + 2 * d, P) = -grad_theta;
    }
    adam.step(parameters, gradient, options.learning_rate);
    ++step;

    if (step % options.check_interval == 0) {
      double mean = 0.0;
      for (Index b = 0; b < B; ++b) {
        const double window = window_sum(b) / static_cast<double>(options.check_interval);
        const double window_square = window_sum_of_squares(b) / static_cast<double>(options.check_interval);
        mean += window / static_cast<double>(B);
        window_sum(b) = 0.0;
        window_sum_of_squares(b) = 0.0;
        const size_t bi = static_cast<size_t>(b);
        if (stopped[bi]) continue;
        result.decision_standard_error(b) = window_standard_error(window, window_square, options.check_interval);
        if (window > best(b)) {
          best(b) = window;
          best_parameters.segment(b * block, block) = parameters.segment(b * block, block);
          checks_without_improvement[bi] = 0;
        } else if (++checks_without_improvement[bi] >= options.patience) {
          stopped[bi] = true;
          result.stopped_at_step[bi] = step;
          --active;
        }
      }
      result.trajectory.push_back({step, mean, active});
      if (progress.enabled())
        progress.update("local flow q*: step " + std::to_string(step) + ", " + std::to_string(active) + "/" +
                        std::to_string(B) + " datapoints active, mean window ELBO " + std::to_string(mean));
    }
  }
  progress.finish();
  result.best_window_elbo = best;
  // Datapoints never checked (max_steps < check_interval) keep their last parameters.
  for (Index b = 0; b < B; ++b)
    if (!std::isfinite(best(b))) best_parameters.segment(b * block, block) = parameters.segment(b * block, block);

  // The start against the best check's parameters on common draws: never end worse than the start.
  const Index E = options.selection_samples;
  if (E > 0) {
  MatrixF selection_eps(d, B * E);
  fill_standard_normal(selection_eps, selection_rng);
  result.selection = select_start_or_best(
      flow_elbo_terms_on_draws(model, X, start_parameters, prototype, selection_eps, E),
      flow_elbo_terms_on_draws(model, X, best_parameters, prototype, selection_eps, E));
  for (Index b = 0; b < B; ++b)
    if (result.selection.kept_start[static_cast<size_t>(b)])
      best_parameters.segment(b * block, block) = start_parameters.segment(b * block, block);
  }

  MatrixD mean(d, B), log_variance(d, B);
  for (Index b = 0; b < B; ++b) {
    mean.col(b) = best_parameters.segment(b * block, d).cast<double>();
    log_variance.col(b) = best_parameters.segment(b * block + d, d).cast<double>();
    flows[static_cast<size_t>(b)].parameters() = best_parameters.segment(b * block + 2 * d, P);
  }
  result.approximation = FlowPosterior(std::move(mean), std::move(log_variance), std::move(flows),
                                       "locally fitted flow posterior");
  result.steps = step;
  result.converged = active == 0;
  result.stopped_by_rule = stopped;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

}  // namespace vigap
