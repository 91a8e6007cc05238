// The gap table in process, on the linear-Gaussian model, whose every entry has a closed form:
// log p(x), the KL of any Gaussian to the exact posterior, the best diagonal Gaussian's KL.
#include "analyses/gap_table.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "support/expect_throw_message.hpp"
#include "support/linear_gaussian_posteriors.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::gaussian_kl;

constexpr Index kB = 6;

/// Small fits: the table's logic, not the optimizer's accuracy (tests/core/variational has that).
GapTableOptions small_options() {
  GapTableOptions o;
  o.gaussian.max_steps = 1500;
  o.gaussian.check_samples = 1000;
  o.flow.max_steps = 200;
  o.flow.flow.num_layers = 2;
  o.flow.flow.hidden_sizes = {8};
  return o;
}

/// The largest check noise a row's fit reports (its stopping rule's resolution).
double check_noise(const GapTableRow& row) {
  return row.optimization.at("check_standard_error_at_decision").at("max").get<double>();
}

TEST(GapTable, EveryEntryAgreesWithItsClosedFormOnALinearGaussianModel) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, kB, 61);
  const DiagonalGaussian amortized = problem.shifted_diagonal(0.7, 2.0);  // a poor "encoder"
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(62), 0, kB);
  const GapTableOptions options = small_options();
  const GapTable table = compute_gap_table(problem.model, amortized, "amortized FFG", amortized, problem.X, options, streams);

  // log p(x) and the ELBOs are by quadrature (d = 2): exact to its tolerance.
  ASSERT_TRUE(table.log_px_by_quadrature);
  ASSERT_TRUE(table.exact_elbos);
  const double quadrature_error = 10.0 * options.quadrature.tolerance;
  EXPECT_EQ(table.log_px.bias_direction, BiasDirection::exact);
  for (Index b = 0; b < kB; ++b)
    EXPECT_NEAR(table.log_px.per_datapoint(b), problem.log_marginal_likelihood(b), quadrature_error) << b;

  // The inference gap is the amortized q's KL to the exact posterior.
  const MatrixD& posterior_covariance = problem.model.posterior_covariance();
  for (Index b = 0; b < kB; ++b) {
    const MatrixD S = amortized.log_variance().col(b).array().exp().matrix().asDiagonal();
    const double kl = gaussian_kl(amortized.mean().col(b), S, problem.posterior_mean.col(b), posterior_covariance);
    EXPECT_NEAR(table.inference_gap.per_datapoint(b), kl, quadrature_error) << b;
  }
  EXPECT_EQ(table.inference_gap.bias_direction, BiasDirection::exact);

  ASSERT_EQ(table.rows.size(), 3u);
  const double best_diagonal_kl = problem.best_diagonal_kl();
  for (const GapTableRow& row : table.rows) {
    // inference = approximation + amortization, as computed.
    EXPECT_LT(row.identity_max_abs_error, 1e-9) << to_string(row.family);
    EXPECT_EQ(row.approximation_gap.bias_direction, BiasDirection::exact);
    EXPECT_EQ(row.amortization_gap.bias_direction, BiasDirection::exact);
    // The family's optimum bounds its gap from below; the fit leaves at most a floor plus
    // 10 check standard errors above it (the bound of tests/core/variational's q* tests).
    const double optimum = row.family == PosteriorFamily::full ? 0.0 : best_diagonal_kl;
    const double slack = 0.01 + 10.0 * check_noise(row);
    for (Index b = 0; b < kB; ++b) {
      const double gap = row.approximation_gap.per_datapoint(b);
      if (row.family != PosteriorFamily::flow)  // a flow can beat the best diagonal Gaussian
        EXPECT_GE(gap, optimum - quadrature_error) << to_string(row.family) << " datapoint " << b;
      EXPECT_GE(gap, -quadrature_error) << to_string(row.family) << " datapoint " << b;  // a KL
      EXPECT_LE(gap, optimum + slack) << to_string(row.family) << " datapoint " << b;
      // q* started from the amortized q: never worse than it (start-or-best, up to its noise).
      EXPECT_GE(row.amortization_gap.per_datapoint(b), -slack) << to_string(row.family) << " datapoint " << b;
    }
  }
  // The flow started from q*_FFG, which it contains.
  EXPECT_EQ(table.rows[2].optimization.at("started_from"), "q*_FFG");

  const std::string markdown = table.to_markdown();
  for (const char* fragment : {"q*_FFG (diagonal Gaussian)", "q*_full (full-covariance Gaussian)",
                               "q*_flow (local affine coupling flow)", "amortized FFG", "approximation gap"})
    EXPECT_NE(markdown.find(fragment), std::string::npos) << fragment;
  const nlohmann::ordered_json results = table.results_json(false);
  for (const char* key : {"log_px", "amortized", "ffg", "full", "flow"}) EXPECT_TRUE(results.contains(key)) << key;
  EXPECT_EQ(results["ffg"]["approximation_gap"]["bias_direction"], "exact");
}

TEST(GapTable, ARowDoesNotDependOnTheOtherRowsOrDatapoints) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, kB, 63);
  const DiagonalGaussian amortized = problem.shifted_diagonal(0.5, 1.5);
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(64), 0, kB);
  GapTableOptions options = small_options();
  options.families = {PosteriorFamily::full};
  const GapTable full_alone = compute_gap_table(problem.model, amortized, "amortized FFG", amortized, problem.X, options, streams);
  options.families = {PosteriorFamily::ffg, PosteriorFamily::full};
  const GapTable both = compute_gap_table(problem.model, amortized, "amortized FFG", amortized, problem.X, options, streams);
  ASSERT_EQ(both.rows.size(), 2u);
  for (Index b = 0; b < kB; ++b)
    EXPECT_EQ(full_alone.rows[0].elbo.per_datapoint(b), both.rows[1].elbo.per_datapoint(b)) << b;
  // The last 3 datapoints alone give the same row values, bit for bit.
  const MatrixF tail = problem.X.rightCols(3);
  const DiagonalGaussian tail_q(amortized.mean().rightCols(3), amortized.log_variance().rightCols(3));
  const GapTable part = compute_gap_table(problem.model, tail_q, "amortized FFG", tail_q, tail, options, streams.slice(3, 3));
  for (Index b = 0; b < 3; ++b) EXPECT_EQ(part.rows[1].elbo.per_datapoint(b), both.rows[1].elbo.per_datapoint(b + 3)) << b;
}

TEST(GapTable, BadOptionsAreRejectedWithTheirNames) {
  const auto problem = testing::make_linear_gaussian_posteriors(5, 2, 65);
  const DiagonalGaussian q = problem.shifted_diagonal(0.5, 1.5);
  const RandomStreams streams = RandomStreams::consecutive(1, 0, 2);
  GapTableOptions options = small_options();
  options.log_px = LogMarginalMethod::quadrature;  // d = 5 > 3
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_gap_table(problem.model, q, "q", q, problem.X, options, streams); }, {"3"});
  options = small_options();
  options.eval_samples = 1;
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_gap_table(problem.model, q, "q", q, problem.X, options, streams); }, {"--eval-samples", "1"});
  testing::expect_throw_message<std::invalid_argument>(
      [] { parse_posterior_families("ffg,magic", "--families", local_posterior_families(), true); },
      {"--families", "'magic'", "ffg (q* diagonal Gaussian)"});
}

}  // namespace
}  // namespace vigap
