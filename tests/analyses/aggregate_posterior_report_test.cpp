// The aggregate-posterior report in process, on Gaussian components whose decomposition has a
// closed form: identical components (I[n; z] = 0, KL(q(z) ‖ p) the Gaussian KL, no active unit),
// components far apart (I[n; z] = log N, KL(q(z) ‖ p) = mean KL - log N), the quadrature rows to
// 1e-6 nats, the Monte Carlo rows within 4.5 of their standard errors (two-sided normal tail
// 7e-6 each), the active units against the sample variance of the means, the picture grid's mass,
// one stream per split, and bad options named.
#include "analyses/aggregate_posterior_report.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "support/expect_throw_message.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

constexpr double kStandardErrors = 4.5;

/// KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² - 1 - log σ_j²).
double kl_to_standard_normal(const VectorD& mean, const VectorD& log_variance) {
  return 0.5 * (mean.array().square() + log_variance.array().exp() - 1.0 - log_variance.array()).sum();
}

/// N copies of N(mu, diag sd²).
DiagonalGaussian identical_components(const VectorD& mu, const VectorD& sd, Index N) {
  MatrixD log_variance(mu.size(), N);
  log_variance.colwise() = (2.0 * sd.array().log()).matrix();
  return DiagonalGaussian(mu.replicate(1, N), log_variance);
}

/// N narrow components 30 σ apart along z1 (and alternating along z2).
DiagonalGaussian separated_components(Index N) {
  MatrixD mean(2, N), log_variance(2, N);
  for (Index n = 0; n < N; ++n) {
    mean.col(n) << -1.5 + 0.6 * static_cast<double>(n), 0.3 * std::pow(-1.0, static_cast<double>(n));
    log_variance.col(n) << 2.0 * std::log(0.02), 2.0 * std::log(0.05 + 0.01 * static_cast<double>(n));
  }
  return DiagonalGaussian(mean, log_variance);
}

AggregatePosteriorReportOptions small_options() {
  AggregatePosteriorReportOptions o;
  o.monte_carlo.samples_per_component = 40;
  o.picture_grid_nodes = 41;
  return o;
}

/// |estimate - truth| <= 4.5 standard errors (+ rounding: a term that is constant across the
/// draws has a standard error of 0).
void expect_within_standard_errors(const ValueWithError& estimate, double truth, const std::string& what) {
  EXPECT_GE(estimate.error, 0.0) << what;
  EXPECT_NEAR(estimate.value, truth, kStandardErrors * estimate.error + 1e-9) << what;
}

TEST(AggregatePosteriorReport, ClosedFormsOfIdenticalAndSeparatedComponents) {
  const Index N = 25, far = 6;
  const VectorD mu = (VectorD(2) << 0.7, -0.4).finished(), sd = (VectorD(2) << 0.3, 0.05).finished();
  const std::vector<EncodedSplit> splits{{"test", "identical", identical_components(mu, sd, N)},
                                         {"train", "separated", separated_components(far)}};
  Rng rng(testing::test_seed(81));
  const AggregatePosteriorReport report = compute_aggregate_posterior_report(splits, small_options(), rng);
  ASSERT_EQ(report.splits.size(), 2u);
  ASSERT_EQ(report.latent_dim, 2);

  // Identical components: q(z) = q(z|x_n), so I = 0 and KL(q(z) ‖ p) is the Gaussian KL.
  const AggregatePosteriorSplitReport& same = report.splits[0];
  const double kl = kl_to_standard_normal(mu, (2.0 * sd.array().log()).matrix());
  EXPECT_EQ(same.num_datapoints, N);
  EXPECT_NEAR(same.mean_kl_to_prior, kl, 1e-12);
  ASSERT_TRUE(same.quadrature && same.monte_carlo);
  EXPECT_NEAR(same.quadrature->mutual_information.value, 0.0, 1e-6);
  EXPECT_NEAR(same.quadrature->aggregate_kl_to_prior.value, kl, 1e-6);
  EXPECT_NEAR(same.quadrature->identity_residual.value, 0.0, 1e-6);
  EXPECT_NEAR(same.monte_carlo->mutual_information.value, 0.0, 1e-9);  // log q(z) = log q(z|x_n) exactly
  EXPECT_GT(same.monte_carlo->aggregate_kl_to_prior.error, 0.0);
  expect_within_standard_errors(same.monte_carlo->aggregate_kl_to_prior, kl, "identical: KL");
  EXPECT_EQ(same.units.count, 0);
  EXPECT_NEAR(same.units.activity.norm(), 0.0, 1e-20);

  // Separated components: I = log N and KL(q(z) ‖ p) = mean KL - log N.
  const AggregatePosteriorSplitReport& apart = report.splits[1];
  const DiagonalGaussian& q = splits[1].q;
  double mean_kl = 0.0;
  for (Index n = 0; n < far; ++n) mean_kl += kl_to_standard_normal(q.mean().col(n), q.log_variance().col(n)) / far;
  const double log_n = std::log(static_cast<double>(far));
  EXPECT_NEAR(apart.mean_kl_to_prior, mean_kl, 1e-12);
  EXPECT_NEAR(apart.quadrature->mutual_information.value, log_n, 1e-6);
  EXPECT_NEAR(apart.quadrature->aggregate_kl_to_prior.value, mean_kl - log_n, 1e-6);
  expect_within_standard_errors(apart.monte_carlo->mutual_information, log_n, "separated: I");
  EXPECT_GT(apart.monte_carlo->aggregate_kl_to_prior.error, 0.0);
  expect_within_standard_errors(apart.monte_carlo->aggregate_kl_to_prior, mean_kl - log_n, "separated: KL");
  // Active units: the sample variance of the means, exactly.
  for (Index j = 0; j < 2; ++j) {
    const double m = q.mean().row(j).mean();
    const double variance = (q.mean().row(j).array() - m).square().sum() / (far - 1);
    EXPECT_NEAR(apart.units.activity(j), variance, 1e-12) << j;
  }
  EXPECT_EQ(apart.units.count, 2);

  // The picture grid is square, centred on 0, and holds all of each split's mass.
  ASSERT_EQ(report.picture_z1.size(), 41);
  EXPECT_DOUBLE_EQ(report.picture_z1(0), -report.picture_z1(40));
  EXPECT_GE(report.picture_z1(40), 3.5);
  const double h = report.picture_z1(1) - report.picture_z1(0);
  for (const AggregatePosteriorSplitReport& r : report.splits)
    EXPECT_NEAR(r.picture_log_density.array().exp().sum() * h * h, 1.0, 1e-9) << r.split;

  const nlohmann::ordered_json json = report.results_json();
  EXPECT_EQ(json["splits"]["test"]["dataset"], "identical");
  EXPECT_EQ(json["splits"]["train"]["quadrature"]["bias_direction"], "exact");
  EXPECT_EQ(json["splits"]["train"]["monte_carlo"]["bias_direction"], "unbiased");
  EXPECT_EQ(json["splits"]["train"]["picture_log_density"].size(), 41u);
  EXPECT_EQ(json["picture_grid"]["z2"].size(), 41u);
  EXPECT_TRUE(report.timings_json()["train"].contains("monte_carlo_seconds"));
  const std::string markdown = report.to_markdown();
  for (const char* fragment : {"| test  |     25 | quadrature", "| train |      6 | monte carlo", "train activity per unit:"})
    EXPECT_NE(markdown.find(fragment), std::string::npos) << fragment << "\n" << markdown;
}

TEST(AggregatePosteriorReport, HigherDimensionsUseMonteCarloWithOneStreamPerSplit) {
  // 3-D: the separated components with a third coordinate; Monte Carlo only, I = log N.
  const Index N = 6;
  const DiagonalGaussian two = separated_components(N);
  MatrixD mean(3, N), log_variance(3, N);
  mean << two.mean(), VectorD::LinSpaced(N, -1.0, 1.0).transpose();
  log_variance << two.log_variance(), RowVectorD::Constant(N, 2.0 * std::log(0.1));
  const DiagonalGaussian q(mean, log_variance);
  const std::vector<EncodedSplit> both{{"test", "a", q}, {"train", "b", q}};
  const std::uint64_t seed = testing::test_seed(83);
  Rng rng(seed);
  const AggregatePosteriorReport report = compute_aggregate_posterior_report(both, small_options(), rng);
  for (const AggregatePosteriorSplitReport& r : report.splits) {
    EXPECT_FALSE(r.quadrature) << r.split;
    ASSERT_TRUE(r.monte_carlo) << r.split;
    expect_within_standard_errors(r.monte_carlo->mutual_information, std::log(static_cast<double>(N)), r.split + ": I");
    expect_within_standard_errors(r.monte_carlo->identity_residual, 0.0, r.split + ": residual");
    EXPECT_EQ(r.picture_log_density.size(), 0) << r.split;
  }
  // The two splits draw from their own streams: same components, different draws.
  EXPECT_NE(report.splits[0].monte_carlo->aggregate_kl_to_prior.value,
            report.splits[1].monte_carlo->aggregate_kl_to_prior.value);
  // The first split alone gives the same bits.
  Rng again(seed);
  const AggregatePosteriorReport first = compute_aggregate_posterior_report({both[0]}, small_options(), again);
  EXPECT_EQ(first.splits[0].monte_carlo->aggregate_kl_to_prior.value,
            report.splits[0].monte_carlo->aggregate_kl_to_prior.value);
  const nlohmann::ordered_json json = report.results_json();
  EXPECT_FALSE(json.contains("picture_grid"));
  EXPECT_FALSE(json["splits"]["test"].contains("quadrature"));
  EXPECT_EQ(json["splits"]["test"]["active_units"]["activity"].size(), 3u);
}

TEST(AggregatePosteriorReport, BadOptionsAreRejectedWithTheirNames) {
  const Index N = 6;
  MatrixD mean = MatrixD::Zero(3, N), log_variance = MatrixD::Zero(3, N);
  const std::vector<EncodedSplit> splits{{"test", "a", DiagonalGaussian(mean, log_variance)}};
  Rng rng(1);
  AggregatePosteriorReportOptions options = small_options();
  options.method = AggregatePosteriorMethod::quadrature;
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_aggregate_posterior_report(splits, options, rng); }, {"--method quadrature needs latent dimension <= 2", "3"});
  options = small_options();
  options.picture_grid_nodes = 5;
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_aggregate_posterior_report(splits, options, rng); }, {"--picture-grid-nodes", "5"});
  options = small_options();
  options.quadrature.max_nodes_per_dimension = 100;
  testing::expect_throw_message<std::invalid_argument>([&] { options.validate(); }, {"--max-grid-nodes must be odd"});
  options = small_options();
  options.active_threshold = -1.0;
  testing::expect_throw_message<std::invalid_argument>([&] { options.validate(); }, {"--active-threshold"});
  testing::expect_throw_message<std::invalid_argument>(
      [] { parse_aggregate_posterior_method("exact", "--method"); }, {"--method expects", "'exact'"});
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_aggregate_posterior_report({}, small_options(), rng); }, {"no splits"});
}

}  // namespace
}  // namespace vigap
