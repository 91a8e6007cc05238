// The aggregate posterior q(z) = (1/N) Σ_n q(z|x_n) and the decomposition
// (1/N) Σ_n KL(q(z|x_n) ‖ p(z)) = I[n; z] + KL(q(z) ‖ p(z)): the mixture density against a
// brute-force sum, closed forms (identical components: I = 0 and KL(q‖p) is the Gaussian KL;
// components far apart: I = log N), the identity to 1e-6 nats by quadrature on narrow overlapping
// components, Monte Carlo against quadrature within its standard error (and the standard error
// itself calibrated over seeds), and active units.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "estimators/active_units.hpp"
#include "estimators/aggregate_posterior.hpp"
#include "estimators/aggregate_posterior_decomposition.hpp"
#include "support/expect_throw_message.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

/// N components with means N(0, mean_scale²) and standard deviations log-uniform in [sd_low, sd_high].
DiagonalGaussian random_components(Index d, Index N, double mean_scale, double sd_low, double sd_high, std::uint64_t seed) {
  Rng rng(testing::test_seed(seed));
  MatrixD mean = mean_scale * standard_normal_matrix(d, N, rng);
  MatrixD log_variance(d, N);
  for (Index n = 0; n < N; ++n)
    for (Index j = 0; j < d; ++j) {
      const double log_sd = std::log(sd_low) + uniform_01(rng) * (std::log(sd_high) - std::log(sd_low));
      log_variance(j, n) = 2.0 * log_sd;
    }
  return DiagonalGaussian(mean, log_variance);
}

/// KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² - 1 - log σ_j²).
double gaussian_kl_to_standard_normal(const VectorD& mean, const VectorD& sd) {
  double kl = 0.0;
  for (Index j = 0; j < mean.size(); ++j) kl += 0.5 * (mean(j) * mean(j) + sd(j) * sd(j) - 1.0 - 2.0 * std::log(sd(j)));
  return kl;
}

/// log (1/N) Σ_n Π_j N(z_j; μ_nj, σ_nj) term by term, in long double.
double brute_force_log_density(const DiagonalGaussian& q, const VectorD& z) {
  long double sum = 0.0L;
  for (Index n = 0; n < q.num_datapoints(); ++n) {
    long double log_density = 0.0L;
    for (Index j = 0; j < z.size(); ++j) {
      const long double var = std::exp(static_cast<long double>(q.log_variance()(j, n)));
      const long double u = z(j) - q.mean()(j, n);
      log_density += -0.5L * (std::log(2.0L * std::numbers::pi_v<long double>) + std::log(var) + u * u / var);
    }
    sum += std::exp(log_density);
  }
  return static_cast<double>(std::log(sum / static_cast<long double>(q.num_datapoints())));
}

TEST(AggregatePosteriorDecomposition, AliasingBoundHoldsAtEveryGridOffset) {
  // h Σ_i φ(x_i) (a + b u_i²) against ∫ φ (a + b u²) = a + b on an infinite grid of spacing h = σ/s,
  // at 64 offsets: the error never exceeds the bound times |a| + |b|, and the bound is tight within 3x.
  for (const double s : {0.15, 0.3, 0.6, 1.0}) {
    const double bound = trapezoid_aliasing_bound(s);
    double worst = 0.0;
    for (int o = 0; o < 64; ++o) {
      const double offset = o / 64.0;
      double sum0 = 0.0, sum2 = 0.0;
      for (int i = -2000; i <= 2000; ++i) {
        const double u = (i + offset) / s;
        const double phi = std::exp(-0.5 * u * u) / std::sqrt(2.0 * std::numbers::pi) / s;
        sum0 += phi;
        sum2 += phi * u * u;
      }
      worst = std::max({worst, std::abs(sum0 - 1.0), std::abs(sum2 - 1.0)});
    }
    EXPECT_LE(worst, bound) << "s " << s;
    EXPECT_GE(3.0 * worst, bound) << "s " << s;
  }
  EXPECT_LT(trapezoid_aliasing_bound(2.0), 1e-30);
}

TEST(AggregatePosterior, LogDensityMatchesTheMixtureSumTermByTerm) {
  for (const Index d : {1, 3}) {
    const DiagonalGaussian components = random_components(d, 37, 1.5, 0.03, 0.8, 11 + d);
    const AggregatePosterior aggregate(components);
    Rng rng(testing::test_seed(5));
    const MatrixD Z = 1.7 * standard_normal_matrix(d, 50, rng);
    // A small block size exercises the blocking.
    const VectorD log_q = aggregate.log_density(Z, 37 * 7);
    for (Index c = 0; c < Z.cols(); ++c)
      EXPECT_NEAR(log_q(c), brute_force_log_density(components, Z.col(c)), 1e-9) << "d " << d << " column " << c;
  }
}

TEST(AggregatePosterior, GridDensityIsTheProductOfPerAxisDensities) {
  const DiagonalGaussian components = random_components(2, 41, 1.0, 0.05, 0.5, 3);
  const AggregatePosterior aggregate(components);
  const VectorD x = VectorD::LinSpaced(13, -2.0, 2.5), y = VectorD::LinSpaced(9, -1.5, 1.0);
  MatrixD blocked = MatrixD::Constant(13, 9, -1.0);
  // Blocks of 3 nodes (41 x 3 entries) on both axes: every block boundary is exercised.
  aggregate.visit_density_on_grid(
      x, y, [&](Index i0, Index j0, const MatrixD& Q) { blocked.block(i0, j0, Q.rows(), Q.cols()) = Q; }, 41 * 3);
  const MatrixD whole = aggregate.density_on_grid(x, y);
  for (Index j = 0; j < y.size(); ++j)
    for (Index i = 0; i < x.size(); ++i) {
      const VectorD z = (VectorD(2) << x(i), y(j)).finished();
      const double expected = std::exp(brute_force_log_density(components, z));
      EXPECT_NEAR(blocked(i, j), expected, 1e-12 + 1e-10 * expected) << i << "," << j;
      EXPECT_NEAR(whole(i, j), expected, 1e-12 + 1e-10 * expected) << i << "," << j;
    }
}

TEST(AggregatePosterior, CellAveragesAreExactCellMasses) {
  const DiagonalGaussian components = random_components(2, 30, 1.0, 0.01, 0.3, 9);
  const AggregatePosterior aggregate(components);
  // Cells wider than the narrowest components: the masses still sum to 1 over a box holding everything.
  const VectorD wide = VectorD::LinSpaced(41, -6.0, 6.0);
  const MatrixD averages = aggregate.cell_averaged_density_on_grid(wide, wide);
  const double h = wide(1) - wide(0);
  EXPECT_NEAR(averages.sum() * h * h, 1.0, 1e-12);
  // Cells far narrower than every component: the average is the density at the node to O(h²).
  const VectorD x = VectorD::LinSpaced(7, 0.3, 0.3 + 6e-4), y = VectorD::LinSpaced(5, -0.2, -0.2 + 4e-4);
  const MatrixD fine = aggregate.cell_averaged_density_on_grid(x, y);
  const MatrixD point = aggregate.density_on_grid(x, y);
  for (Index j = 0; j < y.size(); ++j)
    for (Index i = 0; i < x.size(); ++i) EXPECT_NEAR(fine(i, j), point(i, j), 1e-5 * point(i, j) + 1e-12) << i << "," << j;
}

TEST(AggregatePosteriorDecomposition, IdenticalComponentsHaveNoMutualInformation) {
  // q(z|x_n) the same for every n: q(z) = q(z|x_n), so I[n; z] = 0 and KL(q(z) ‖ p) is the Gaussian KL.
  for (const Index d : {1, 2}) {
    const Index N = 25;
    const VectorD mu = (VectorD(2) << 0.7, -0.4).finished().head(d);
    const VectorD sd = (VectorD(2) << 0.3, 0.05).finished().head(d);
    MatrixD mean = mu.replicate(1, N), log_variance(d, N);
    for (Index j = 0; j < d; ++j) log_variance.row(j).setConstant(2.0 * std::log(sd(j)));
    const AggregatePosterior aggregate(DiagonalGaussian(mean, log_variance));
    const double kl = gaussian_kl_to_standard_normal(mu, sd);
    const auto r = aggregate_posterior_decomposition_by_quadrature(aggregate);
    EXPECT_EQ(r.method, "quadrature");
    EXPECT_NEAR(r.mean_kl_to_prior, kl, 1e-12) << d;
    EXPECT_NEAR(r.mutual_information.value, 0.0, 1e-6) << d;
    EXPECT_NEAR(r.aggregate_kl_to_prior.value, kl, 1e-6) << d;
    EXPECT_NEAR(r.identity_residual.value, 0.0, 1e-6) << d;
    EXPECT_LT(r.mutual_information.error, 1e-6) << d;
    EXPECT_NEAR(r.settings["grid_mass"].get<double>(), 1.0, 1e-9) << d;

    // Monte Carlo: log q(z) = log q(z|x_n) exactly, so I is 0 up to rounding; KL within 4 standard errors.
    Rng rng(testing::test_seed(7));
    AggregateMonteCarloOptions mc;
    mc.samples_per_component = 40;
    const auto m = aggregate_posterior_decomposition_by_monte_carlo(aggregate, mc, rng);
    EXPECT_NEAR(m.mutual_information.value, 0.0, 1e-9) << d;
    EXPECT_GT(m.aggregate_kl_to_prior.error, 0.0) << d;
    EXPECT_NEAR(m.aggregate_kl_to_prior.value, kl, 4.0 * m.aggregate_kl_to_prior.error) << d;
  }
}

TEST(AggregatePosteriorDecomposition, ComponentsFarApartCarryLogNNatsOfInformation) {
  // N narrow components 30 σ apart: q(z) restricted to component n's bulk is q(z|x_n) / N, so
  // I[n; z] = log N and KL(q(z) ‖ p) = mean KL - log N.
  const Index N = 6;
  MatrixD mean(2, N), log_variance(2, N);
  for (Index n = 0; n < N; ++n) {
    mean.col(n) << -1.5 + 0.6 * static_cast<double>(n), 0.3 * std::pow(-1.0, static_cast<double>(n));
    log_variance.col(n) << 2.0 * std::log(0.02), 2.0 * std::log(0.05 + 0.01 * static_cast<double>(n));
  }
  const AggregatePosterior aggregate(DiagonalGaussian(mean, log_variance));
  const auto r = aggregate_posterior_decomposition_by_quadrature(aggregate);
  EXPECT_NEAR(r.mutual_information.value, std::log(static_cast<double>(N)), 1e-6);
  EXPECT_NEAR(r.aggregate_kl_to_prior.value, r.mean_kl_to_prior - std::log(static_cast<double>(N)), 1e-6);
  EXPECT_NEAR(r.identity_residual.value, 0.0, 1e-6);
  EXPECT_DOUBLE_EQ(r.log_num_components, std::log(static_cast<double>(N)));

  // In 3-D (Monte Carlo only): the same closed form, within 4 standard errors.
  MatrixD mean3(3, N), log_variance3(3, N);
  mean3 << mean, VectorD::LinSpaced(N, -1.0, 1.0).transpose();
  log_variance3 << log_variance, RowVectorD::Constant(N, 2.0 * std::log(0.1));
  Rng rng(testing::test_seed(19));
  AggregateMonteCarloOptions mc;
  mc.samples_per_component = 50;
  const auto m = aggregate_posterior_decomposition_by_monte_carlo(AggregatePosterior(DiagonalGaussian(mean3, log_variance3)), mc, rng);
  EXPECT_NEAR(m.mutual_information.value, std::log(static_cast<double>(N)), 4.0 * m.mutual_information.error + 1e-9);
}

TEST(AggregatePosteriorDecomposition, IdentityHoldsToOneMicroNatOnNarrowOverlappingComponents) {
  // 300 components with σ in [0.02, 0.2] overlapping in a 2-D cloud (like a 2-D VAE's encoder).
  for (const Index d : {1, 2}) {
    const AggregatePosterior aggregate(random_components(d, 300, 1.0, 0.02, 0.2, 23 + d));
    const auto r = aggregate_posterior_decomposition_by_quadrature(aggregate);
    // At 2 nodes per smallest σ the h rule's aliasing is < 1e-30, so the residual is rounding and the
    // reported error (the sum of the terms' nested estimates, the 2h rule's aliasing) must cover it.
    EXPECT_LT(std::abs(r.identity_residual.value), 1e-6) << d;
    EXPECT_LE(std::abs(r.identity_residual.value), r.identity_residual.error) << d;
    EXPECT_LE(r.mutual_information.error, r.identity_residual.error) << d;
    EXPECT_LT(r.settings["aliasing_bound"].get<double>(), 1e-30) << d;
    // The grid's E_q[log p] against its closed form: what the identity checks.
    EXPECT_NEAR(r.settings["expected_log_prior_grid"].get<double>(), aggregate.expected_log_prior(), 1e-6) << d;
    EXPECT_NEAR(r.settings["grid_mass"].get<double>(), 1.0, 1e-8) << d;
    EXPECT_GT(r.mutual_information.value, 0.0) << d;
    EXPECT_LT(r.mutual_information.value, std::min(std::log(300.0), r.mean_kl_to_prior)) << d;
    EXPECT_GT(r.aggregate_kl_to_prior.value, 0.0) << d;
  }
}

TEST(AggregatePosteriorDecomposition, CoarseGridReportsItsOwnError) {
  // 61 nodes per axis (spacing ~0.14) do not resolve components of σ 0.02-0.2: two unresolved nested
  // rules can agree by chance, so the estimate carries the a priori aliasing bound (Poisson summation,
  // trapezoid_aliasing_bound), which must say so (alias > 1) and bound the actual error against a
  // resolved grid whatever the components' offsets; the resolved grid's aliasing is negligible.
  const AggregatePosterior aggregate(random_components(2, 200, 1.0, 0.02, 0.2, 31));
  const auto fine = aggregate_posterior_decomposition_by_quadrature(aggregate);
  AggregateQuadratureOptions coarse_options;
  coarse_options.max_nodes_per_dimension = 61;
  const auto coarse = aggregate_posterior_decomposition_by_quadrature(aggregate, coarse_options);
  const double actual = std::abs(coarse.aggregate_entropy.value - fine.aggregate_entropy.value);
  EXPECT_GT(actual, 1e-4);
  EXPECT_GT(coarse.settings["aliasing_bound"].get<double>(), 1.0);
  EXPECT_GE(coarse.aggregate_entropy.error, actual);
  EXPECT_LT(fine.settings["aliasing_bound"].get<double>(), 1e-30);
}

TEST(AggregatePosteriorDecomposition, MonteCarloAgreesWithQuadratureWithinItsStandardError) {
  const AggregatePosterior aggregate(random_components(2, 400, 1.0, 0.03, 0.3, 41));
  const auto exact = aggregate_posterior_decomposition_by_quadrature(aggregate);
  for (const Index outer : {Index{0}, Index{150}}) {
    AggregateMonteCarloOptions mc;
    mc.samples_per_component = 4;
    mc.outer_components = outer;
    Rng rng(testing::test_seed(43));
    const auto m = aggregate_posterior_decomposition_by_monte_carlo(aggregate, mc, rng);
    EXPECT_EQ(m.settings["outer_components_used"].get<Index>(), outer == 0 ? 400 : outer);
    for (const auto& [name, estimate, truth] :
         {std::tuple{"I", m.mutual_information, exact.mutual_information.value},
          std::tuple{"KL", m.aggregate_kl_to_prior, exact.aggregate_kl_to_prior.value},
          std::tuple{"H", m.aggregate_entropy, exact.aggregate_entropy.value},
          std::tuple{"residual", m.identity_residual, 0.0}}) {
      EXPECT_GT(estimate.error, 0.0) << name << " outer " << outer;
      EXPECT_LT(estimate.error, 0.1) << name << " outer " << outer;
      EXPECT_NEAR(estimate.value, truth, 4.0 * estimate.error) << name << " outer " << outer;
    }
  }
}

TEST(AggregatePosteriorDecomposition, MonteCarloStandardErrorsAreCalibrated) {
  // Over 60 seeds, (estimate - exact) / standard error has a second moment near 1.
  const AggregatePosterior aggregate(random_components(2, 120, 1.0, 0.05, 0.4, 53));
  const auto exact = aggregate_posterior_decomposition_by_quadrature(aggregate);
  for (const Index outer : {Index{0}, Index{20}}) {
    double sum_i = 0.0, sum_kl = 0.0;
    const int seeds = 60;
    for (int seed = 0; seed < seeds; ++seed) {
      AggregateMonteCarloOptions mc;
      mc.samples_per_component = 3;
      mc.outer_components = outer;
      Rng rng(testing::test_seed(1000 + static_cast<std::uint64_t>(seed)));
      const auto m = aggregate_posterior_decomposition_by_monte_carlo(aggregate, mc, rng);
      sum_i += std::pow((m.mutual_information.value - exact.mutual_information.value) / m.mutual_information.error, 2);
      sum_kl += std::pow((m.aggregate_kl_to_prior.value - exact.aggregate_kl_to_prior.value) / m.aggregate_kl_to_prior.error, 2);
    }
    // Calibrated standard errors make the mean of 60 squared z-scores χ²_60/60 (stratified SE, 240
    // df: ~normal z), 1e-4 and 1 - 1e-4 quantiles 0.456 and 1.834 (Wilson-Hilferty; 3e5-draw
    // simulation 0.463, 1.834), or for a subset of 20 a mean of 60 F(1, 19) (t_19 z; simulated
    // quantiles 0.495, 2.196) shrunk by at most the missing finite-population factor 1 - 20/120.
    const double lower = outer == 0 ? 0.45 : 0.495 * (1.0 - 20.0 / 120.0);
    const double upper = outer == 0 ? 1.85 : 2.2;
    EXPECT_GT(sum_i / seeds, lower) << "outer " << outer;
    EXPECT_LT(sum_i / seeds, upper) << "outer " << outer;
    EXPECT_GT(sum_kl / seeds, lower) << "outer " << outer;
    EXPECT_LT(sum_kl / seeds, upper) << "outer " << outer;
  }
}

TEST(AggregatePosteriorDecomposition, RejectsBadOptionsAndDimensions) {
  const AggregatePosterior aggregate3(random_components(3, 5, 1.0, 0.1, 0.2, 1));
  testing::expect_throw_message<std::invalid_argument>(
      [&] { aggregate_posterior_decomposition_by_quadrature(aggregate3); }, {"latent dimension 3 > 2", "Monte Carlo"});
  const AggregatePosterior aggregate2(random_components(2, 5, 1.0, 0.1, 0.2, 1));
  AggregateQuadratureOptions q;
  q.max_nodes_per_dimension = 100;
  testing::expect_throw_message<std::invalid_argument>([&] { aggregate_posterior_decomposition_by_quadrature(aggregate2, q); },
                                                       {"max_nodes_per_dimension", "odd", "100"});
  q = {};
  q.nodes_per_standard_deviation = 0.1;
  testing::expect_throw_message<std::invalid_argument>([&] { aggregate_posterior_decomposition_by_quadrature(aggregate2, q); },
                                                       {"nodes_per_standard_deviation", ">= 0.5", "0.1"});
  AggregateMonteCarloOptions mc;
  mc.samples_per_component = 0;
  Rng rng(testing::test_seed(1));
  testing::expect_throw_message<std::invalid_argument>(
      [&] { aggregate_posterior_decomposition_by_monte_carlo(aggregate2, mc, rng); }, {"samples_per_component", ">= 1", "0"});
  testing::expect_throw_message<std::invalid_argument>(
      [&] { AggregatePosterior(DiagonalGaussian(MatrixD(2, 0), MatrixD(2, 0))); }, {"no components"});
  testing::expect_throw_message<std::invalid_argument>(
      [&] { aggregate2.log_density(MatrixD::Zero(3, 4)); }, {"3 rows", "latent dimension 2"});
}

TEST(ActiveUnits, CountsUnitsWhosePosteriorMeanVariesAcrossData) {
  // Unit 0: means 0, 2, 4 (variance 4); unit 1: constant (0); unit 2: 0, 0.05, 0.1 (variance 0.0025);
  // unit 3: 0, 0.3, 0 (variance 0.03).
  MatrixD means(4, 3);
  means << 0, 2, 4, 1, 1, 1, 0, 0.05, 0.1, 0, 0.3, 0;
  const ActiveUnits units = active_units(means);
  EXPECT_NEAR(units.activity(0), 4.0, 1e-12);
  EXPECT_NEAR(units.activity(1), 0.0, 1e-12);
  EXPECT_NEAR(units.activity(2), 0.0025, 1e-12);
  EXPECT_NEAR(units.activity(3), 0.03, 1e-12);
  EXPECT_EQ(units.count, 2);
  EXPECT_EQ(units.active, (std::vector<bool>{true, false, false, true}));
  EXPECT_EQ(active_units(means, 0.002).count, 3);
  testing::expect_throw_message<std::invalid_argument>([&] { active_units(MatrixD::Zero(2, 1)); }, {"at least 2"});
  testing::expect_throw_message<std::invalid_argument>([&] { active_units(means, -1.0); }, {"threshold", "-1"});
}

}  // namespace
}  // namespace vigap
