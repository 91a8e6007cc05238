#include "core/variational/local_gaussian_optimization.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "core/math/mean_and_standard_error.hpp"
#include "core/math/sum_in_order.hpp"
#include "core/nn/columnwise_adam.hpp"
#include "core/variational/patience_stopping_rule.hpp"

namespace vigap {

LocalGaussianFamily parse_local_gaussian_family(const std::string& name) {
  if (name == "diagonal") return LocalGaussianFamily::diagonal;
  if (name == "full-covariance" || name == "full_covariance") return LocalGaussianFamily::full_covariance;
  throw std::invalid_argument("unknown local Gaussian family '" + name + "': expected diagonal or full-covariance");
}

std::string to_string(LocalGaussianFamily family) {
  switch (family) {
    case LocalGaussianFamily::diagonal: return "diagonal";
    case LocalGaussianFamily::full_covariance: return "full-covariance";
  }
  return "unknown";
}

namespace {

void require(bool condition, const std::string& option, const std::string& expected, const std::string& found) {
  if (!condition)
    throw std::invalid_argument("LocalOptimizationOptions: " + option + " must be " + expected + ", found " + found);
}

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

/// One datapoint's parameter column θ = (μ, log L_jj, strictly lower L_ij in column-major order).
struct ParameterLayout {
  Index d;
  bool full;
  Index size() const { return 2 * d + (full ? d * (d - 1) / 2 : 0); }

  /// L (d x d lower triangular) from θ; for the diagonal family only its diagonal is nonzero.
  void cholesky_factor(const Eigen::Ref<const VectorD>& theta, MatrixD& L) const {
    L.setZero(d, d);
    L.diagonal() = theta.segment(d, d).array().exp().matrix();
    if (!full) return;
    Index k = 2 * d;
    for (Index j = 0; j < d; ++j)
      for (Index i = j + 1; i < d; ++i) L(i, j) = theta(k++);
  }

  /// log p(z) - log q(z) = -½‖z‖² + ½‖ε‖² + Σ_j log L_jj for z = μ + L ε (the 2π terms cancel).
  /// Sums in index order (core/math/sum_in_order.hpp), as every per-datapoint computation of this
  /// file: a datapoint's column of θ (P x B) or of ε starts at an alignment that depends on its
  /// position in the batch, and Eigen's vectorized reductions round according to it.
  VectorD log_prior_minus_log_density(const Eigen::Ref<const VectorD>& theta, const Eigen::Ref<const MatrixD>& Z,
                                      const Eigen::Ref<const MatrixD>& eps) const {
    const double log_det = sum_in_order(theta.segment(d, d));
    VectorD out(Z.cols());
    for (Index s = 0; s < Z.cols(); ++s)
      out(s) = 0.5 * (squared_norm_in_order(eps.col(s)) - squared_norm_in_order(Z.col(s))) + log_det;
    return out;
  }
};

/// Z.middleCols(k·S, S) = μ_b + L_b ε for the k-th active datapoint b: scalar loops, the sum over
/// j <= i in index order (a column's bits do not depend on its position in the batch).
MatrixD reparameterize(const ParameterLayout& layout, const MatrixD& theta, const std::vector<Index>& active,
                       const MatrixD& eps, Index S) {
  const Index d = layout.d;
  MatrixD Z(d, eps.cols());
  MatrixD L;
  VectorD sigma(d);
  for (size_t k = 0; k < active.size(); ++k) {
    const auto column = theta.col(active[k]);
    const Index first = static_cast<Index>(k) * S;
    if (layout.full) layout.cholesky_factor(column, L);
    for (Index j = 0; j < d; ++j) sigma(j) = std::exp(column(d + j));
    for (Index c = first; c < first + S; ++c)
      for (Index i = 0; i < d; ++i) {
        double z = column(i);
        if (layout.full) {
          for (Index j = 0; j <= i; ++j) z += L(i, j) * eps(j, c);
        } else {
          z += sigma(i) * eps(i, c);
        }
        Z(i, c) = z;
      }
  }
  return Z;
}

MatrixF gather_columns(const MatrixF& X, const std::vector<Index>& columns) {
  MatrixF out(X.rows(), static_cast<Index>(columns.size()));
  for (size_t k = 0; k < columns.size(); ++k) out.col(static_cast<Index>(k)) = X.col(columns[k]);
  return out;
}

/// E x B: log p(x_b, z_e) - log q_θb(z_e) at z_e = μ_b + L_b ε_e, ε_e = eps.col(b·E + e) (the
/// same eps for every θ: common random numbers), in model calls of at most 16384 columns.
MatrixD elbo_terms_on_draws(const GenerativeModel& model, const MatrixF& X, const ParameterLayout& layout,
                            const MatrixD& theta, const MatrixD& eps, Index E) {
  const Index B = X.cols();
  const Index group = std::max<Index>(1, (Index{1} << 14) / E);
  MatrixD terms(E, B);
  for (Index first = 0; first < B; first += group) {
    const Index m = std::min(group, B - first);
    std::vector<Index> members(static_cast<size_t>(m));
    for (Index k = 0; k < m; ++k) members[static_cast<size_t>(k)] = first + k;
    const MatrixD group_eps = eps.middleCols(first * E, m * E);
    const MatrixD Z = reparameterize(layout, theta, members, group_eps, E);
    const VectorD log_likelihood = model.log_likelihood(X.middleCols(first, m), Z, E);
    for (Index k = 0; k < m; ++k)
      terms.col(first + k) = log_likelihood.segment(k * E, E) +
                             layout.log_prior_minus_log_density(theta.col(first + k), Z.middleCols(k * E, E),
                                                                group_eps.middleCols(k * E, E));
  }
  return terms;
}

/// Per datapoint, the standard error of its last check (the one its stopping decision was made on).
VectorD last_check_standard_error(const MatrixD& check_elbo_standard_error) {
  VectorD out = VectorD::Constant(check_elbo_standard_error.rows(), std::numeric_limits<double>::quiet_NaN());
  for (Index b = 0; b < out.size(); ++b)
    for (Index c = check_elbo_standard_error.cols() - 1; c >= 0; --c)
      if (!std::isnan(check_elbo_standard_error(b, c))) {
        out(b) = check_elbo_standard_error(b, c);
        break;
      }
  return out;
}

}  // namespace

nlohmann::ordered_json LocalOptimizationOptions::to_json() const {
  return {{"family", vigap::to_string(family)},
          {"samples_per_step", samples_per_step},
          {"max_steps", max_steps},
          {"check_interval", check_interval},
          {"check_samples", check_samples},
          {"patience", patience},
          {"selection_samples", selection_samples},
          {"improvement_tolerance", improvement_tolerance},
          {"learning_rate", learning_rate},
          {"learning_rate_half_life", learning_rate_half_life},
          {"adam", {{"beta1", adam.beta1}, {"beta2", adam.beta2}, {"epsilon", adam.epsilon}}}};
}

void LocalOptimizationOptions::validate() const {
  require(samples_per_step >= 1, "samples_per_step (S)", ">= 1", std::to_string(samples_per_step));
  require(max_steps >= 1, "max_steps", ">= 1", std::to_string(max_steps));
  require(check_interval >= 1, "check_interval", ">= 1", std::to_string(check_interval));
  require(check_samples >= 2, "check_samples", ">= 2 (for a standard error)", std::to_string(check_samples));
  require(patience >= 1, "patience", ">= 1", std::to_string(patience));
  require(selection_samples == 0 || selection_samples >= 2, "selection_samples", "0 (no selection) or >= 2 (for a standard error)",
          std::to_string(selection_samples));
  require(improvement_tolerance >= 0.0 && std::isfinite(improvement_tolerance), "improvement_tolerance",
          "finite and >= 0", number(improvement_tolerance));
  require(learning_rate > 0.0 && std::isfinite(learning_rate), "learning_rate", "positive and finite",
          number(learning_rate));
  require(learning_rate_half_life >= 0.0 && !std::isnan(learning_rate_half_life), "learning_rate_half_life",
          ">= 0 steps (0: constant)", number(learning_rate_half_life));
  adam.validate();
}

double LocalOptimizationOptions::learning_rate_at(Index step) const {
  if (learning_rate_half_life == 0.0) return learning_rate;
  return learning_rate * std::exp2(-static_cast<double>(step) / learning_rate_half_life);
}

const PosteriorApproximation& LocalGaussianOptimizationResult::approximation() const {
  return std::visit([](const auto& q) -> const PosteriorApproximation& { return q; }, optimized);
}

namespace {
LocalGaussianOptimizationResult optimize_local_gaussian_with(const GenerativeModel& model, const MatrixF& X,
                                                             const DiagonalGaussian& initial,
                                                             const LocalOptimizationOptions& options, BatchRng& gradient_rng,
                                                             BatchRng& check_rng, BatchRng& selection_rng,
                                                             const ProgressReporter& progress);
}  // namespace

LocalGaussianOptimizationResult optimize_local_gaussian(const GenerativeModel& model, const MatrixF& X,
                                                        const DiagonalGaussian& initial,
                                                        const LocalOptimizationOptions& options, Rng& rng,
                                                        const ProgressReporter& progress) {
  BatchRng gradient_rng(std::vector<Rng>{split_rng(rng)});
  BatchRng check_rng(std::vector<Rng>{split_rng(rng)});
  BatchRng selection_rng(std::vector<Rng>{split_rng(rng)});
  return optimize_local_gaussian_with(model, X, initial, options, gradient_rng, check_rng, selection_rng, progress);
}

LocalGaussianOptimizationResult optimize_local_gaussian(const GenerativeModel& model, const MatrixF& X,
                                                        const DiagonalGaussian& initial,
                                                        const LocalOptimizationOptions& options,
                                                        const RandomStreams& streams, const ProgressReporter& progress) {
  streams.check_size(X.cols(), "optimize_local_gaussian");
  BatchRng gradient_rng = streams.generators(StreamPurpose::local_optimization_gradient);
  BatchRng check_rng = streams.generators(StreamPurpose::local_optimization_check);
  BatchRng selection_rng = streams.generators(StreamPurpose::local_optimization_selection);
  return optimize_local_gaussian_with(model, X, initial, options, gradient_rng, check_rng, selection_rng, progress);
}

namespace {

/// The batch fit as it runs: every datapoint's parameter column θ (P x B), those of its start and
/// of its best check, and the datapoints still optimized.
struct GaussianFitState {
  MatrixD theta;
  MatrixD start_theta;
  MatrixD best_theta;
  VectorD best;  ///< per datapoint, the best check ELBO so far
  std::vector<Index> checks_without_improvement;
  std::vector<Index> active;  ///< datapoints not yet stopped, in batch order
  MatrixF X_active;           ///< their columns of X
  std::vector<VectorD> check_values, check_errors;  ///< per check: B values (NaN for stopped datapoints)
};

void check_shapes(const GenerativeModel& model, const MatrixF& X, const DiagonalGaussian& initial) {
  const Index d = model.latent_dim();
  const Index B = X.cols();
  if (X.rows() != model.data_dim() || B < 1)
    throw std::invalid_argument("optimize_local_gaussian: X must be " + std::to_string(model.data_dim()) +
                                " x B with B >= 1, found " + std::to_string(X.rows()) + " x " + std::to_string(B));
  if (initial.latent_dim() != d || initial.num_datapoints() != B)
    throw std::invalid_argument("optimize_local_gaussian: initial q must be " + std::to_string(d) + " x " +
                                std::to_string(B) + " (latent dim x datapoints), found " +
                                std::to_string(initial.latent_dim()) + " x " +
                                std::to_string(initial.num_datapoints()));
}

/// Every datapoint active at θ = (μ, log σ) of `initial` (off-diagonal L_ij = 0).
GaussianFitState initial_state(const ParameterLayout& layout, const MatrixF& X, const DiagonalGaussian& initial) {
  const Index d = layout.d;
  const Index B = X.cols();
  GaussianFitState state;
  state.theta = MatrixD::Zero(layout.size(), B);
  state.theta.topRows(d) = initial.mean();
  state.theta.middleRows(d, d) = 0.5 * initial.log_variance();
  state.start_theta = state.theta;
  state.best_theta = state.theta;
  state.best = VectorD::Constant(B, -std::numeric_limits<double>::infinity());
  state.checks_without_improvement.assign(static_cast<size_t>(B), 0);
  state.active.resize(static_cast<size_t>(B));
  for (Index b = 0; b < B; ++b) state.active[static_cast<size_t>(b)] = b;
  state.X_active = X;
  return state;
}

/// The check at `step`: estimates the ELBO of every active datapoint on check_samples fresh draws
/// in the Monte Carlo form mean_s[log p(x, z_s) - log q(z_s)] with its standard error, updates
/// the best values and parameters (record_check), and freezes the datapoints the patience rule stops.
void check_active(const GenerativeModel& model, const MatrixF& X, const ParameterLayout& layout,
                  const LocalOptimizationOptions& options, Index step, BatchRng& check_rng, GaussianFitState& state,
                  LocalGaussianOptimizationResult& result, const ProgressReporter& progress) {
  const Index B = X.cols();
  const Index check_S = options.check_samples;
  const Index n = static_cast<Index>(state.active.size());
  const MatrixD eps = standard_normal_matrix_for(layout.d, check_S, state.active, check_rng);
  const MatrixD Z = reparameterize(layout, state.theta, state.active, eps, check_S);
  const VectorD log_likelihood = model.log_likelihood(state.X_active, Z, check_S);
  result.likelihood_evaluations += n * check_S;
  VectorD values = VectorD::Constant(B, std::numeric_limits<double>::quiet_NaN());
  VectorD errors = values;
  std::vector<Index> still_active;
  for (Index k = 0; k < n; ++k) {
    const Index b = state.active[static_cast<size_t>(k)];
    const VectorD terms = log_likelihood.segment(k * check_S, check_S) +
                          layout.log_prior_minus_log_density(state.theta.col(b), Z.middleCols(k * check_S, check_S),
                                                             eps.middleCols(k * check_S, check_S));
    const MeanAndStandardError check = mean_and_standard_error(terms);  // scalar, in index order
    values(b) = check.mean;
    errors(b) = check.standard_error;
    Index& without = state.checks_without_improvement[static_cast<size_t>(b)];
    if (record_check(values(b), options.improvement_tolerance, state.best(b), without))
      state.best_theta.col(b) = state.theta.col(b);
    result.steps_taken[static_cast<size_t>(b)] = step;
    if (without >= options.patience)
      result.stopped_by_rule[static_cast<size_t>(b)] = true;
    else
      still_active.push_back(b);
  }
  state.check_values.push_back(values);
  state.check_errors.push_back(errors);
  result.check_steps.push_back(step);
  if (still_active.size() != state.active.size()) {
    state.active = std::move(still_active);
    state.X_active = gather_columns(X, state.active);
  }
  if (progress.enabled())
    progress.update("local " + to_string(options.family) + " q*: step " + std::to_string(step) + ", " +
                    std::to_string(state.active.size()) + "/" + std::to_string(B) +
                    " datapoints active, mean best ELBO " + number(state.best.mean()));
}

/// Column k: the gradient of the negative ELBO (Adam minimizes) of the k-th active datapoint, from
/// the likelihood gradients G = grad_Z at z_s = μ + L ε_s (its S columns):
///   ∂/∂μ = μ - mean_s g_s,  ∂/∂log σ_j = -(σ_j (mean_s g_sj ε_sj - σ_j) + 1)  (diagonal),
///   M = mean_s g_s ε_sᵀ - L: ∂/∂log L_jj = -(L_jj M_jj + 1), ∂/∂L_ij = -M_ij (i > j; full).
/// Scalar loops, the means over s in index order: a column's bits do not depend on its position
/// in the batch (see ParameterLayout::log_prior_minus_log_density).
void negative_elbo_gradient(const ParameterLayout& layout, const MatrixD& theta, const std::vector<Index>& active,
                            const MatrixD& grad_Z, const MatrixD& eps, Index S, MatrixD& gradient) {
  const Index d = layout.d;
  const Index n = static_cast<Index>(active.size());
  const double inverse_S = 1.0 / static_cast<double>(S);
  MatrixD L, M(d, d);
  VectorD mean_g(d);
  gradient.resize(layout.size(), n);
  for (Index k = 0; k < n; ++k) {
    const auto column = theta.col(active[static_cast<size_t>(k)]);
    const Index first = k * S;
    mean_g.setZero();
    M.setZero();  // diagonal family: only M_jj = mean_s g_sj ε_sj
    for (Index c = first; c < first + S; ++c)
      for (Index i = 0; i < d; ++i) {
        const double g = grad_Z(i, c);
        mean_g(i) += g;
        if (layout.full) {
          for (Index j = 0; j <= i; ++j) M(i, j) += g * eps(j, c);
        } else {
          M(i, i) += g * eps(i, c);
        }
      }
    for (Index i = 0; i < d; ++i) {
      gradient(i, k) = column(i) - mean_g(i) * inverse_S;
      const double sigma = std::exp(column(d + i));
      // ∂/∂L_jj of E[log p(x|z)] - ½‖L‖_F² is M_jj - L_jj; the entropy adds 1 per log L_jj.
      gradient(d + i, k) = -(sigma * (M(i, i) * inverse_S - sigma) + 1.0);
    }
    if (!layout.full) continue;
    layout.cholesky_factor(column, L);
    Index row = 2 * d;
    for (Index j = 0; j < d; ++j)
      for (Index i = j + 1; i < d; ++i) gradient(row++, k) = -(M(i, j) * inverse_S - L(i, j));
  }
}

/// The check trajectory (B x C matrices), the best check values and the decision noise.
void record_checks(const GaussianFitState& state, Index steps, LocalGaussianOptimizationResult& result) {
  const Index B = state.best.size();
  const Index C = static_cast<Index>(state.check_values.size());
  result.check_elbo.resize(B, C);
  result.check_elbo_standard_error.resize(B, C);
  for (Index c = 0; c < C; ++c) {
    result.check_elbo.col(c) = state.check_values[static_cast<size_t>(c)];
    result.check_elbo_standard_error.col(c) = state.check_errors[static_cast<size_t>(c)];
  }
  result.best_check_elbo = state.best;
  result.steps = steps;
  result.all_stopped_by_rule = state.active.empty();
  result.decision_standard_error = last_check_standard_error(result.check_elbo_standard_error);
}

/// The start against the best iterate on selection_samples common draws (skipped when 0): the
/// start's parameters replace the best's where they are better, so a fit never ends worse than its start.
void keep_start_where_better(const GenerativeModel& model, const MatrixF& X, const ParameterLayout& layout,
                             Index selection_samples, BatchRng& selection_rng, GaussianFitState& state,
                             LocalGaussianOptimizationResult& result) {
  const Index E = selection_samples;
  if (E == 0) return;
  const Index B = X.cols();
  const MatrixD selection_eps = standard_normal_matrix(layout.d, B * E, selection_rng);
  result.selection = select_start_or_best(elbo_terms_on_draws(model, X, layout, state.start_theta, selection_eps, E),
                                          elbo_terms_on_draws(model, X, layout, state.best_theta, selection_eps, E));
  for (Index b = 0; b < B; ++b)
    if (result.selection.kept_start[static_cast<size_t>(b)]) {
      state.best_theta.col(b) = state.start_theta.col(b);
      result.best_check_elbo(b) = result.check_elbo(b, 0);
    }
}

/// q* from the kept parameters: DiagonalGaussian or FullCovarianceGaussian as the layout says.
void set_optimized(const ParameterLayout& layout, const MatrixD& best_theta, LocalGaussianOptimizationResult& result) {
  const Index d = layout.d;
  const Index B = best_theta.cols();
  const MatrixD mean = best_theta.topRows(d);
  if (layout.full) {
    std::vector<MatrixD> factors(static_cast<size_t>(B));
    for (Index b = 0; b < B; ++b) layout.cholesky_factor(best_theta.col(b), factors[static_cast<size_t>(b)]);
    result.optimized.emplace<FullCovarianceGaussian>(mean, std::move(factors),
                                                     "locally optimized full-covariance Gaussian q*");
  } else {
    result.optimized.emplace<DiagonalGaussian>(mean, 2.0 * best_theta.middleRows(d, d),
                                               "locally optimized diagonal Gaussian q*");
  }
}

/// The result's `settings`: the options, the ELBO forms, the model and the start.
nlohmann::ordered_json settings_json(const LocalOptimizationOptions& options, const GenerativeModel& model,
                                     const DiagonalGaussian& initial) {
  nlohmann::ordered_json s = nlohmann::ordered_json::object();
  s["family"] = to_string(options.family);
  s["samples_per_step"] = options.samples_per_step;
  s["max_steps"] = options.max_steps;
  s["check_interval"] = options.check_interval;
  s["check_samples"] = options.check_samples;
  s["selection_samples"] = options.selection_samples;
  s["patience"] = options.patience;
  s["improvement_tolerance"] = options.improvement_tolerance;
  s["learning_rate"] = options.learning_rate;
  s["learning_rate_half_life"] = options.learning_rate_half_life;
  s["adam"] = {{"beta1", options.adam.beta1}, {"beta2", options.adam.beta2}, {"epsilon", options.adam.epsilon}};
  s["gradient_elbo_form"] = "Monte Carlo log-likelihood, analytic KL to the prior";
  s["check_elbo_form"] = "Monte Carlo log p(x, z) - log q(z)";
  s["model"] = model.describe();
  s["initial"] = initial.describe();
  return s;
}

LocalGaussianOptimizationResult optimize_local_gaussian_with(const GenerativeModel& model, const MatrixF& X,
                                                             const DiagonalGaussian& initial,
                                                             const LocalOptimizationOptions& options,
                                                             BatchRng& gradient_rng, BatchRng& check_rng,
                                                             BatchRng& selection_rng, const ProgressReporter& progress) {
  options.validate();
  check_shapes(model, X, initial);
  const auto start = std::chrono::steady_clock::now();
  const Index d = model.latent_dim();
  const Index B = X.cols();
  const ParameterLayout layout{d, options.family == LocalGaussianFamily::full_covariance};
  const Index S = options.samples_per_step;
  GaussianFitState state = initial_state(layout, X, initial);
  ColumnwiseAdam adam(layout.size(), B, options.adam);

  LocalGaussianOptimizationResult result(initial);  // replaced by q* at the end
  result.steps_taken.assign(static_cast<size_t>(B), 0);
  result.stopped_by_rule.assign(static_cast<size_t>(B), false);

  check_active(model, X, layout, options, 0, check_rng, state, result, progress);
  Index step = 0;
  MatrixD grad_Z, gradient;
  while (!state.active.empty() && step < options.max_steps) {
    ++step;
    const Index n = static_cast<Index>(state.active.size());
    const MatrixD eps = standard_normal_matrix_for(d, S, state.active, gradient_rng);
    const MatrixD Z = reparameterize(layout, state.theta, state.active, eps, S);
    model.log_likelihood_with_gradient(state.X_active, Z, S, grad_Z);
    ++result.model_gradient_calls;
    result.gradient_evaluations += n * S;
    negative_elbo_gradient(layout, state.theta, state.active, grad_Z, eps, S, gradient);
    const double lr = options.learning_rate_at(step - 1);
    adam.step(state.theta, gradient, state.active, lr);
    if (step % options.check_interval == 0 || step == options.max_steps)
      check_active(model, X, layout, options, step, check_rng, state, result, progress);
  }
  progress.finish();

  record_checks(state, step, result);
  keep_start_where_better(model, X, layout, options.selection_samples, selection_rng, state, result);
  set_optimized(layout, state.best_theta, result);
  result.settings = settings_json(options, model, initial);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

}  // namespace vigap
