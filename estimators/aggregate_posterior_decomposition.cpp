#include "estimators/aggregate_posterior_decomposition.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

namespace vigap {

namespace {

const double kLog2Pi = std::log(2.0 * std::numbers::pi);

std::string number(double v) { return std::to_string(v); }

double seconds_since(const std::chrono::steady_clock::time_point& start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// One axis of the tensor grid: trapezoid nodes and weights, and the half rule on every other node.
struct Axis {
  VectorD nodes, weights, half_weights;
  double spacing = 1.0;
};

/// n (odd) trapezoid nodes on [lower, upper].
Axis trapezoid_axis(double lower, double upper, Index n) {
  Axis axis;
  axis.nodes = VectorD::LinSpaced(n, lower, upper);
  axis.spacing = (upper - lower) / static_cast<double>(n - 1);
  axis.weights = VectorD::Constant(n, axis.spacing);
  axis.weights(0) = axis.weights(n - 1) = 0.5 * axis.spacing;
  axis.half_weights = VectorD::Zero(n);
  for (Index i = 0; i < n; i += 2) axis.half_weights(i) = 2.0 * axis.spacing;
  axis.half_weights(0) = axis.half_weights(n - 1) = axis.spacing;
  return axis;
}

/// The single "node" of the absent second axis when d = 1.
Axis unit_axis() {
  Axis axis;
  axis.nodes = VectorD::Zero(1);
  axis.weights = axis.half_weights = VectorD::Ones(1);
  return axis;
}

/// Running sums Σ w q f for one integrand f with both rules, the face share and the bulk Σ w q (1 + |f|).
struct GridSum {
  double fine = 0.0, half = 0.0, face = 0.0, bulk = 0.0;
  void add(double wq, double wq_half, double f, bool on_face) {
    fine += wq * f;
    half += wq_half * f;
    bulk += wq * (1.0 + std::abs(f));
    if (on_face) face += wq * (1.0 + std::abs(f));
  }
  /// |rule(h) - rule(2h)| + (2/ĥ)·face share + aliasing·bulk. The nested difference bounds the
  /// error only while the 2h rule resolves every component; the aliasing term (the product over
  /// axes of the narrowest component's per-axis bound, minus 1) bounds it on any grid, and is
  /// negligible (< 1e-30) on a grid of >= 2 nodes per smallest σ.
  double error(double inverse_relative_spacing, double aliasing) const {
    return std::abs(fine - half) + 2.0 * inverse_relative_spacing * face + aliasing * bulk;
  }
};

ValueWithError with_error(double value, double error) { return ValueWithError{value, error}; }

/// Mean and standard error of per-sample values v (M outer components x S draws, component k's
/// draws in entries k·S ... k·S+S-1); stratified when every component is an outer one and S >= 2.
ValueWithError mean_with_standard_error(const VectorD& v, Index S, bool stratified) {
  const Index M = v.size() / S;
  VectorD component_mean(M);
  double within = 0.0;
  for (Index k = 0; k < M; ++k) {
    const auto segment = v.segment(k * S, S);
    component_mean(k) = segment.mean();
    if (S >= 2) within += (segment.array() - component_mean(k)).square().sum() / static_cast<double>(S - 1);
  }
  const double mean = component_mean.mean();
  double se = 0.0;
  if (stratified && S >= 2) {
    se = std::sqrt(within / static_cast<double>(S)) / static_cast<double>(M);
  } else if (M >= 2) {
    const double variance = (component_mean.array() - mean).square().sum() / static_cast<double>(M - 1);
    se = std::sqrt(variance / static_cast<double>(M));
  } else {
    se = std::numeric_limits<double>::quiet_NaN();
  }
  return {mean, se};
}

}  // namespace

double trapezoid_aliasing_bound(double s) {
  double sum = 0.0;
  for (int k = 1; k <= 64; ++k) {
    const double a = 2.0 * std::numbers::pi * static_cast<double>(k) * s;
    const double term = 2.0 * std::exp(-0.5 * a * a) * (1.0 + a * a);
    sum += term;
    if (term < 1e-17 * sum || term == 0.0) break;
  }
  return sum;
}

void AggregateQuadratureOptions::validate() const {
  if (!(nodes_per_standard_deviation >= 0.5) || !std::isfinite(nodes_per_standard_deviation))
    throw std::invalid_argument("AggregateQuadratureOptions::nodes_per_standard_deviation must be finite and >= 0.5, found " +
                                number(nodes_per_standard_deviation));
  if (!(box_half_width >= 3.0) || !std::isfinite(box_half_width))
    throw std::invalid_argument("AggregateQuadratureOptions::box_half_width must be finite and >= 3 (standard deviations), found " +
                                number(box_half_width));
  if (max_nodes_per_dimension < 5 || max_nodes_per_dimension % 2 == 0)
    throw std::invalid_argument("AggregateQuadratureOptions::max_nodes_per_dimension must be odd and >= 5, found " +
                                std::to_string(max_nodes_per_dimension));
  if (max_block_entries < 1)
    throw std::invalid_argument("AggregateQuadratureOptions::max_block_entries must be >= 1, found " +
                                std::to_string(max_block_entries));
}

nlohmann::ordered_json AggregateQuadratureOptions::to_json() const {
  return {{"nodes_per_standard_deviation", nodes_per_standard_deviation},
          {"box_half_width", box_half_width},
          {"max_nodes_per_dimension", max_nodes_per_dimension},
          {"max_block_entries", max_block_entries}};
}

void AggregateMonteCarloOptions::validate() const {
  if (samples_per_component < 1)
    throw std::invalid_argument("AggregateMonteCarloOptions::samples_per_component must be >= 1, found " +
                                std::to_string(samples_per_component));
  if (outer_components < 0)
    throw std::invalid_argument("AggregateMonteCarloOptions::outer_components must be >= 0 (0: all), found " +
                                std::to_string(outer_components));
  if (max_block_entries < 1)
    throw std::invalid_argument("AggregateMonteCarloOptions::max_block_entries must be >= 1, found " +
                                std::to_string(max_block_entries));
}

nlohmann::ordered_json AggregateMonteCarloOptions::to_json() const {
  return {{"samples_per_component", samples_per_component},
          {"outer_components", outer_components},
          {"max_block_entries", max_block_entries}};
}

AggregatePosteriorDecomposition aggregate_posterior_decomposition_by_quadrature(const AggregatePosterior& aggregate,
                                                                                const AggregateQuadratureOptions& options) {
  options.validate();
  const Index d = aggregate.latent_dim(), N = aggregate.num_components();
  if (d > 2)
    throw std::invalid_argument("aggregate_posterior_decomposition_by_quadrature: latent dimension " + std::to_string(d) +
                                " > 2; the tensor grid's cost grows exponentially with the dimension, use the Monte "
                                "Carlo estimator (aggregate_posterior_decomposition_by_monte_carlo)");
  const auto start = std::chrono::steady_clock::now();
  const MatrixD& mean = aggregate.mean();
  const MatrixD& sd = aggregate.standard_deviation();

  std::vector<Axis> axes;
  nlohmann::ordered_json grid_settings = nlohmann::ordered_json::array();
  double inverse_relative_spacing = 0.0;  // 1/ĥ = σ_min / h, the largest over axes (conservative)
  double aliasing_product = 1.0;          // Π_j (1 + aliasing_bound(σ_min,j / h_j))
  for (Index j = 0; j < d; ++j) {
    const double lower = (mean.row(j) - options.box_half_width * sd.row(j)).minCoeff();
    const double upper = (mean.row(j) + options.box_half_width * sd.row(j)).maxCoeff();
    const double min_sd = sd.row(j).minCoeff();
    const double target = min_sd / options.nodes_per_standard_deviation;
    const double cells = std::ceil((upper - lower) / target);
    Index n = static_cast<Index>(std::min<double>(cells, static_cast<double>(options.max_nodes_per_dimension))) + 1;
    n = std::max<Index>(5, n % 2 == 0 ? n + 1 : n);
    n = std::min(n, options.max_nodes_per_dimension);
    axes.push_back(trapezoid_axis(lower, upper, n));
    inverse_relative_spacing = std::max(inverse_relative_spacing, min_sd / axes.back().spacing);
    aliasing_product *= 1.0 + trapezoid_aliasing_bound(min_sd / axes.back().spacing);
    grid_settings.push_back({{"lower", lower},
                             {"upper", upper},
                             {"nodes", n},
                             {"spacing", axes.back().spacing},
                             {"smallest_component_sd", min_sd},
                             {"nodes_per_smallest_sd", min_sd / axes.back().spacing},
                             {"aliasing_bound", trapezoid_aliasing_bound(min_sd / axes.back().spacing)}});
  }
  const Axis& ax = axes[0];
  const Axis ay = d == 2 ? axes[1] : unit_axis();
  // log p(z) = -(d/2) log 2π - ½ Σ_j z_j², separable.
  const VectorD log_prior_x = -0.5 * ax.nodes.array().square();
  const VectorD log_prior_y = d == 2 ? VectorD(-0.5 * ay.nodes.array().square()) : VectorD::Zero(1);
  const double log_prior_constant = -0.5 * static_cast<double>(d) * kLog2Pi;
  const Index n1 = ax.nodes.size(), n2 = ay.nodes.size();

  GridSum mass, q_log_q, q_log_p;
  Index zero_nodes = 0;  // nodes where q underflowed to 0 (skipped: 0 log 0 = 0)
  aggregate.visit_density_on_grid(
      ax.nodes, ay.nodes,
      [&](Index i0, Index j0, const MatrixD& Q) {
        for (Index b = 0; b < Q.cols(); ++b) {
          const Index j = j0 + b;
          const bool face_j = d == 2 && (j == 0 || j == n2 - 1);
          for (Index a = 0; a < Q.rows(); ++a) {
            const double q = Q(a, b);
            if (!(q > 0.0)) {
              ++zero_nodes;
              continue;
            }
            const Index i = i0 + a;
            const bool on_face = face_j || i == 0 || i == n1 - 1;
            const double wq = ax.weights(i) * ay.weights(j) * q;
            const double wq_half = ax.half_weights(i) * ay.half_weights(j) * q;
            mass.add(wq, wq_half, 1.0, on_face);
            q_log_q.add(wq, wq_half, std::log(q), on_face);
            q_log_p.add(wq, wq_half, log_prior_constant + log_prior_x(i) + log_prior_y(j), on_face);
          }
        }
      },
      options.max_block_entries);

  AggregatePosteriorDecomposition r;
  r.method = "quadrature";
  r.bias_direction = BiasDirection::exact;
  r.num_components = N;
  r.latent_dim = d;
  r.mean_kl_to_prior = aggregate.mean_kl_to_prior();
  r.mean_component_entropy = aggregate.mean_component_entropy();
  r.log_num_components = std::log(static_cast<double>(N));
  const double aliasing = aliasing_product - 1.0;  // relative aliasing bound of the tensor rule
  const double error_q_log_q = q_log_q.error(inverse_relative_spacing, aliasing);
  const double error_q_log_p = q_log_p.error(inverse_relative_spacing, aliasing);
  r.aggregate_entropy = with_error(-q_log_q.fine, error_q_log_q);
  r.aggregate_kl_to_prior = with_error(q_log_q.fine - q_log_p.fine, error_q_log_q + error_q_log_p);
  r.mutual_information = with_error(r.aggregate_entropy.value - r.mean_component_entropy, error_q_log_q);
  r.identity_residual = with_error(r.mutual_information.value + r.aggregate_kl_to_prior.value - r.mean_kl_to_prior,
                                   r.mutual_information.error + r.aggregate_kl_to_prior.error);
  r.settings = {{"options", options.to_json()},
                {"rule", "trapezoid tensor grid over all components; error = |rule(h) - rule(2h)| + truncation + aliasing bound"},
                {"axes", grid_settings},
                {"nodes", n1 * n2},
                {"grid_mass", mass.fine},
                {"grid_mass_half_rule", mass.half},
                {"grid_mass_error_estimate", mass.error(inverse_relative_spacing, aliasing)},
                {"aliasing_bound", aliasing},
                {"face_mass", mass.face},
                {"nodes_with_underflowed_density", zero_nodes},
                {"expected_log_prior_grid", q_log_p.fine},
                {"expected_log_prior_analytic", aggregate.expected_log_prior()}};
  r.seconds = seconds_since(start);
  return r;
}

AggregatePosteriorDecomposition aggregate_posterior_decomposition_by_monte_carlo(const AggregatePosterior& aggregate,
                                                                                 const AggregateMonteCarloOptions& options,
                                                                                 Rng& rng) {
  options.validate();
  const auto start = std::chrono::steady_clock::now();
  const Index d = aggregate.latent_dim(), N = aggregate.num_components(), S = options.samples_per_component;
  std::vector<Index> outer(static_cast<size_t>(N));
  for (Index n = 0; n < N; ++n) outer[static_cast<size_t>(n)] = n;
  const bool all = options.outer_components == 0 || options.outer_components >= N;
  if (!all) {
    shuffle_in_place(outer, rng);
    outer.resize(static_cast<size_t>(options.outer_components));
    std::sort(outer.begin(), outer.end());
  }
  const Index M = static_cast<Index>(outer.size());
  const MatrixD& mean = aggregate.mean();
  const MatrixD& sd = aggregate.standard_deviation();
  const MatrixD& log_variance = aggregate.components().log_variance();
  const VectorD kl_per_component = aggregate.components().kl_to_standard_normal();

  // Draws: z = μ_n + σ_n ε for the S draws of each outer component, and their own-component log-density.
  const MatrixD eps = standard_normal_matrix(d, M * S, rng);
  MatrixD Z(d, M * S);
  VectorD log_own(M * S), kl_own(M * S);
  for (Index k = 0; k < M; ++k) {
    const Index n = outer[static_cast<size_t>(k)];
    const double log_normalizer = -0.5 * (static_cast<double>(d) * kLog2Pi + log_variance.col(n).sum());
    for (Index s = 0; s < S; ++s) {
      const Index c = k * S + s;
      Z.col(c) = mean.col(n) + sd.col(n).cwiseProduct(eps.col(c));
      log_own(c) = log_normalizer - 0.5 * eps.col(c).squaredNorm();
      kl_own(c) = kl_per_component(n);
    }
  }
  const VectorD log_aggregate = aggregate.log_density(Z, options.max_block_entries);
  const VectorD log_prior =
      (-0.5 * Z.colwise().squaredNorm().array() - 0.5 * static_cast<double>(d) * kLog2Pi).matrix().transpose();

  const bool stratified = all && S >= 2;
  AggregatePosteriorDecomposition r;
  r.method = "monte carlo";
  r.bias_direction = BiasDirection::unbiased;
  r.num_components = N;
  r.latent_dim = d;
  r.mean_kl_to_prior = aggregate.mean_kl_to_prior();
  r.mean_component_entropy = aggregate.mean_component_entropy();
  r.log_num_components = std::log(static_cast<double>(N));
  r.mutual_information = mean_with_standard_error(log_own - log_aggregate, S, stratified);
  r.aggregate_kl_to_prior = mean_with_standard_error(log_aggregate - log_prior, S, stratified);
  r.aggregate_entropy = mean_with_standard_error(-log_aggregate, S, stratified);
  r.identity_residual = mean_with_standard_error(log_own - log_prior - kl_own, S, stratified);
  r.settings = {{"options", options.to_json()},
                {"outer_components_used", M},
                {"draws", M * S},
                {"log_q_aggregate", "exact: log-mean-exp over all N components"},
                {"standard_error_method",
                 stratified ? "stratified over components: sqrt(sum_n s_n^2 / S) / N"
                            : (all ? "sd of per-component means / sqrt(N) (conservative: ignores the stratification)"
                                   : "sd of per-component means / sqrt(M) over a uniform random subset of M distinct components (no finite-population correction: conservative)")}};
  r.seconds = seconds_since(start);
  return r;
}

nlohmann::ordered_json to_json(const AggregatePosteriorDecomposition& r) {
  const auto pair = [](const ValueWithError& v) {
    nlohmann::ordered_json j;
    j["value"] = v.value;
    if (std::isfinite(v.error))
      j["error"] = v.error;
    else
      j["error"] = nullptr;
    return j;
  };
  nlohmann::ordered_json j;
  j["method"] = r.method;
  j["bias_direction"] = to_string(r.bias_direction);
  j["error_kind"] = r.method == "quadrature" ? "quadrature error estimate (nats)" : "Monte Carlo standard error (nats)";
  j["num_components"] = r.num_components;
  j["latent_dim"] = r.latent_dim;
  j["mean_kl_to_prior"] = r.mean_kl_to_prior;
  j["mean_component_entropy"] = r.mean_component_entropy;
  j["mutual_information"] = pair(r.mutual_information);
  j["aggregate_kl_to_prior"] = pair(r.aggregate_kl_to_prior);
  j["aggregate_entropy"] = pair(r.aggregate_entropy);
  j["identity_residual"] = pair(r.identity_residual);
  j["mutual_information_upper_bound_log_n"] = r.log_num_components;
  j["settings"] = r.settings;
  return j;
}

}  // namespace vigap
