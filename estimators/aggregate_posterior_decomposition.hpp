#pragma once
// The decomposition of the ELBO's average KL term over a dataset (Hoffman & Johnson 2016):
//   (1/N) Σ_n KL(q(z|x_n) ‖ p(z)) = I[n; z] + KL(q(z) ‖ p(z)),
// q(z) = (1/N) Σ_n q(z|x_n) the aggregate posterior, I[n; z] the mutual information between the
// datapoint's index n (uniform on 1..N) and its code z. Exact by quadrature for latent dimension
// <= 2, Monte Carlo with standard errors in any dimension. The three terms are computed
// independently, so the identity's residual measures the computation's accuracy.
#include <nlohmann/json.hpp>
#include <string>

#include "core/random.hpp"
#include "estimators/bias_direction.hpp"
#include "estimators/aggregate_posterior.hpp"

namespace vigap {

/// A number with its error: a Monte Carlo standard error or a quadrature error estimate (0 when exact).
struct ValueWithError {
  double value = 0.0;
  double error = 0.0;
};

/// Settings of aggregate_posterior_decomposition_by_quadrature.
struct AggregateQuadratureOptions {
  /// Grid spacing per axis j: h_j = min_n σ_nj / nodes_per_standard_deviation, so that the
  /// narrowest component is resolved (trapezoid error ~ exp(-2π² s²/h²): ~1e-34 at the default 2).
  double nodes_per_standard_deviation = 2.0;
  /// The box on axis j is [min_n(μ_nj - k σ_nj), max_n(μ_nj + k σ_nj)] with k = box_half_width
  /// (default 8: every component's mass beyond its face is below 1e-15).
  double box_half_width = 8.0;
  /// Cap on the nodes per axis (odd, >= 5; default 4001): a narrower spacing than the cap allows is
  /// coarsened, and the error estimate shows what that costs.
  Index max_nodes_per_dimension = 4001;
  /// Doubles per block of component densities (each of the two factors of the product; default 2^22 = 32 MB).
  Index max_block_entries = Index{1} << 22;

  /// Throws std::invalid_argument naming the option, what was expected and what was found.
  void validate() const;
  nlohmann::ordered_json to_json() const;
};

/// Settings of aggregate_posterior_decomposition_by_monte_carlo.
struct AggregateMonteCarloOptions {
  /// Draws z ~ q(z|x_n) per outer component n (default 2; >= 2 gives the stratified standard error).
  Index samples_per_component = 2;
  /// Outer components: 0 (default) uses every n (stratified: exactly samples_per_component draws
  /// from each); M > 0 with M < N uses a uniform random subset of M distinct components (an
  /// unbiased estimate of the outer mean over n). log q(z) always uses all N components.
  Index outer_components = 0;
  /// Doubles of the N x block matrix of component log-densities per block (default 2^22 = 32 MB).
  Index max_block_entries = Index{1} << 22;

  /// Throws std::invalid_argument naming the option, what was expected and what was found.
  void validate() const;
  nlohmann::ordered_json to_json() const;
};

/// The terms of the decomposition, each computed on its own.
struct AggregatePosteriorDecomposition {
  std::string method;          ///< "quadrature" or "monte carlo"
  BiasDirection bias_direction = BiasDirection::exact;  ///< exact (quadrature) or unbiased (Monte Carlo)
  Index num_components = 0;    ///< N
  Index latent_dim = 0;
  /// (1/N) Σ_n KL(q(z|x_n) ‖ p(z)), analytic (error 0): the average KL term of the ELBO.
  double mean_kl_to_prior = 0.0;
  /// (1/N) Σ_n H[q(z|x_n)], analytic.
  double mean_component_entropy = 0.0;
  /// I[n; z] = (1/N) Σ_n E_{q(z|x_n)}[log q(z|x_n) - log q(z)] = H[q(z)] - (1/N) Σ_n H[q(z|x_n)],
  /// 0 <= I <= min(log N, mean_kl_to_prior).
  ValueWithError mutual_information;
  /// KL(q(z) ‖ p(z)) = E_{q(z)}[log q(z) - log p(z)] >= 0.
  ValueWithError aggregate_kl_to_prior;
  /// H[q(z)] = -E_{q(z)}[log q(z)].
  ValueWithError aggregate_entropy;
  /// I + KL(q(z) ‖ p(z)) - mean_kl_to_prior: 0 up to the computation's error.
  ValueWithError identity_residual;
  /// log N, the upper bound of I[n; z].
  double log_num_components = 0.0;
  double seconds = 0.0;
  /// What produced the numbers: options, grid (nodes, spacing, box, mass, boundary mass) or
  /// sample counts and the standard-error method.
  nlohmann::ordered_json settings = nlohmann::ordered_json::object();
};

/// The trapezoid rule's relative aliasing bound on one axis for a Gaussian of standard deviation
/// s·h (h the spacing), by Poisson summation: 2 Σ_{k>=1} e^{-2π²k²s²} (1 + 4π²k²s²) bounds
/// |h Σ_i φ(x_i) f(x_i) - ∫ φ f| / (|a| + |b|) for f(x) = a + b ((x - μ)/σ)², whatever the grid's
/// offset (the infinite grid). ~1e-32 at s = 2 (the default spacing), ~2e-7 at s = 1, ~3 at s = 0.2.
double trapezoid_aliasing_bound(double s);

/// Quadrature for latent dimension d <= 2, on one trapezoid tensor grid covering every component
/// (spacing from the narrowest σ, box from the extreme means; see AggregateQuadratureOptions), with
/// the mixture density on the grid q(z_g) = (1/N) Σ_n Π_j N(z_gj; μ_nj, σ_nj) as one matrix
/// product per block (AggregatePosterior::visit_density_on_grid):
///   H[q(z)]        ≈ -Σ_g w_g q_g log q_g,
///   KL(q(z)‖p(z))  ≈  Σ_g w_g q_g log q_g - Σ_g w_g q_g log p(z_g),
///   I[n; z]        =  H[q(z)] - (1/N) Σ_n H[q(z|x_n)]   (component entropies analytic),
/// mean KL analytic. Error estimate of each integral ∫ q f: |rule(h) - rule(2h)| (the same grid's every
/// other node, free) + a truncation term (2/ĥ)·Σ_{g on a face} w_g q_g (1 + |f_g|), ĥ the
/// finest spacing in units of the narrowest component's σ (as adaptive_quadrature.hpp bounds tails)
/// + an aliasing term α·Σ_g w_g q_g (1 + |f_g|), α = Π_j (1 + trapezoid_aliasing_bound(σ_min,j / h_j)) - 1.
/// The nested difference bounds the error only while the 2h rule resolves every component (on a
/// coarsened grid two unresolved rules can agree by chance); the aliasing term bounds it on any grid
/// and is below 1e-30 of the integrand at the default 2 nodes per smallest σ, so it matters only when
/// max_nodes_per_dimension coarsens the grid. settings also hold the grid mass Σ_g w_g q_g (1 up to its
/// error estimate) and α ("aliasing_bound"; per axis in "axes").
/// Bias direction: exact (deterministic; error bounded by the reported estimate).
/// Throws std::invalid_argument for latent dimension > 2 or invalid options.
AggregatePosteriorDecomposition aggregate_posterior_decomposition_by_quadrature(
    const AggregatePosterior& aggregate, const AggregateQuadratureOptions& options = {});

/// Monte Carlo in any dimension: for each outer component n, S draws z ~ q(z|x_n), and with
/// log q(z) exact over all N components (AggregatePosterior::log_density, O(N) per draw):
///   I[n; z]       ≈ mean of log q(z|x_n) - log q(z),
///   KL(q(z)‖p(z)) ≈ mean of log q(z) - log p(z),
///   H[q(z)]       ≈ mean of -log q(z),
///   residual      ≈ mean of [log q(z|x_n) - log p(z)] - KL(q(z|x_n) ‖ p(z)) (analytic, per n).
/// Only the outer expectation is random. Standard errors: with every component used and S >= 2,
/// stratified, sqrt(Σ_n s_n² / S) / N (s_n² the within-component sample variance); otherwise
/// sd_k(per-component means) / sqrt(M) (for a random subset: conservative by the missing finite-population
/// factor sqrt(1 - M/N) on the between-component part; for all N with S = 1: conservative, ignores the strata).
/// Bias direction: unbiased. Draws come from rng only. Throws std::invalid_argument for invalid options.
AggregatePosteriorDecomposition aggregate_posterior_decomposition_by_monte_carlo(
    const AggregatePosterior& aggregate, const AggregateMonteCarloOptions& options, Rng& rng);

/// {"method", "bias_direction", "num_components", "latent_dim", "mean_kl_to_prior",
///  "mean_component_entropy", "mutual_information": {"value", "error"}, "aggregate_kl_to_prior",
///  "aggregate_entropy", "identity_residual", "mutual_information_upper_bound_log_n", "error_kind",
///  "settings"} (seconds go to the caller's "timings").
nlohmann::ordered_json to_json(const AggregatePosteriorDecomposition& decomposition);

}  // namespace vigap
