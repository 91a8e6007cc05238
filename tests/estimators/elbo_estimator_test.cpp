#include "estimators/elbo_estimator.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "support/expect_throw_message.hpp"
#include "estimators/iwae_bound.hpp"
#include "support/linear_gaussian_posteriors.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::expect_throw_message;

class ElboOnLinearGaussian : public ::testing::TestWithParam<Index> {};

TEST_P(ElboOnLinearGaussian, ExactPosteriorGivesLogMarginalLikelihoodWithZeroVariance) {
  const Index d = GetParam();
  const auto problem = testing::make_linear_gaussian_posteriors(d, 6, 100 + d);
  const FullCovarianceGaussian q = problem.exact_posterior();
  ElboOptions options;
  options.samples = 20;
  Rng rng(testing::test_seed(1));
  const Estimate elbo = estimate_elbo(problem.model, q, problem.X, options, rng);
  EXPECT_EQ(elbo.settings["kl_form"], "monte-carlo");
  for (Index b = 0; b < problem.X.cols(); ++b) {
    const double log_p = problem.log_marginal_likelihood(b);
    EXPECT_NEAR(elbo.per_datapoint(b), log_p, 1e-9 * (1.0 + std::abs(log_p))) << "d " << d << " b " << b;
    EXPECT_LT(elbo.per_datapoint_standard_error(b), 1e-9 * (1.0 + std::abs(log_p)));  // every log weight equal
  }
}

TEST_P(ElboOnLinearGaussian, BestDiagonalGaussianMatchesLogMarginalMinusClosedFormKl) {
  const Index d = GetParam();
  const auto problem = testing::make_linear_gaussian_posteriors(d, 8, 200 + d);
  const DiagonalGaussian q = problem.best_diagonal();
  const double kl = problem.best_diagonal_kl();
  const VectorD truth = problem.log_marginal_likelihood.array() - kl;
  for (ElboKlForm form : {ElboKlForm::monte_carlo, ElboKlForm::analytic}) {
    ElboOptions options;
    options.samples = 2000;
    options.kl_form = form;
    Rng rng(testing::test_seed(2));
    const Estimate elbo = estimate_elbo(problem.model, q, problem.X, options, rng);
    EXPECT_EQ(elbo.settings["kl_form"], to_string(form));
    EXPECT_EQ(elbo.bias_direction, BiasDirection::lower_bound);
    EXPECT_GT(elbo.monte_carlo_standard_error, 0.0);
    EXPECT_LT(std::abs(elbo.value - truth.mean()), 4.0 * elbo.monte_carlo_standard_error + 1e-9)
        << "d " << d << " form " << to_string(form) << " KL " << kl;
    for (Index b = 0; b < truth.size(); ++b)
      EXPECT_LT(std::abs(elbo.per_datapoint(b) - truth(b)), 5.0 * elbo.per_datapoint_standard_error(b) + 1e-9)
          << "d " << d << " b " << b;
  }
}

INSTANTIATE_TEST_SUITE_P(LatentDimensions, ElboOnLinearGaussian, ::testing::Values(1, 2, 3, 10, 50));

TEST(Elbo, AutomaticFormIsAnalyticExactlyForDiagonalGaussians) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, 3, 7);
  ElboOptions options;
  options.samples = 10;
  Rng rng(testing::test_seed(3));
  EXPECT_EQ(estimate_elbo(problem.model, problem.best_diagonal(), problem.X, options, rng).settings["kl_form"],
            "analytic");
  EXPECT_EQ(estimate_elbo(problem.model, problem.exact_posterior(), problem.X, options, rng).settings["kl_form"],
            "monte-carlo");
  options.kl_form = ElboKlForm::analytic;
  expect_throw_message<std::invalid_argument>(
      [&] { estimate_elbo(problem.model, problem.exact_posterior(), problem.X, options, rng); },
      {"analytic", "DiagonalGaussian"});
}

TEST(Elbo, IsBelowIwaeOfTheSameDrawsForEveryDatapoint) {
  // Same seed, S = K: the same draws, so log mean w >= mean log w holds exactly (Jensen).
  const auto problem = testing::make_linear_gaussian_posteriors(3, 10, 9);
  const DiagonalGaussian q = problem.shifted_diagonal(1.0, 3.0);
  ElboOptions elbo_options;
  elbo_options.samples = 50;
  elbo_options.kl_form = ElboKlForm::monte_carlo;
  IwaeBoundOptions iwae_options;
  iwae_options.samples = 50;
  Rng rng_elbo(testing::test_seed(4)), rng_iwae(testing::test_seed(4));
  const Estimate elbo = estimate_elbo(problem.model, q, problem.X, elbo_options, rng_elbo);
  const Estimate iwae = estimate_iwae_bound(problem.model, q, problem.X, iwae_options, rng_iwae);
  for (Index b = 0; b < 10; ++b) EXPECT_LE(elbo.per_datapoint(b), iwae.per_datapoint(b));
  EXPECT_GT(iwae.value - elbo.value, 0.1);  // the shifted q is poor enough to show it
}

TEST(Elbo, OptionsAreValidated) {
  ElboOptions options;
  EXPECT_NO_THROW(options.validate());
  options.samples = 0;
  expect_throw_message<std::invalid_argument>([&] { options.validate(); }, {"samples (S)", ">= 1", "found 0"});
  options.samples = 1;
  options.max_latent_columns_per_call = -1;
  expect_throw_message<std::invalid_argument>([&] { options.validate(); }, {"max_latent_columns_per_call", "-1"});
  EXPECT_EQ(parse_elbo_kl_form("monte-carlo"), ElboKlForm::monte_carlo);
  EXPECT_THROW(parse_elbo_kl_form("exact"), std::invalid_argument);
}

TEST(Elbo, OneSampleHasNoStandardError) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, 3, 7);
  ElboOptions options;
  options.samples = 1;
  Rng rng(testing::test_seed(5));
  const Estimate elbo = estimate_elbo(problem.model, problem.best_diagonal(), problem.X, options, rng);
  EXPECT_TRUE(elbo.per_datapoint.allFinite());
  EXPECT_TRUE(std::isnan(elbo.per_datapoint_standard_error(0)));
}

}  // namespace
}  // namespace vigap
