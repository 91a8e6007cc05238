#include "estimators/importance_sampling.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "support/expect_throw_message.hpp"
#include "estimators/iwae_bound.hpp"
#include "support/linear_gaussian_posteriors.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::expect_throw_message;

class ImportanceSamplingOnLinearGaussian : public ::testing::TestWithParam<Index> {};

TEST_P(ImportanceSamplingOnLinearGaussian, BestDiagonalProposalAgreesWithLogMarginalLikelihood) {
  const Index d = GetParam();
  const Index B = 8;
  const auto problem = testing::make_linear_gaussian_posteriors(d, B, 500 + d);
  ImportanceSamplingOptions options;
  options.samples = 2000;
  Rng rng(testing::test_seed(1));
  const ImportanceSamplingResult result = estimate_log_marginal_likelihood_by_importance_sampling(
      problem.model, problem.best_diagonal(), problem.X, options, rng);
  const Estimate& e = result.log_marginal_likelihood;
  EXPECT_EQ(e.bias_direction, BiasDirection::stochastic_lower_bound);
  std::cout << "d " << d << ": KL(best diagonal) " << problem.best_diagonal_kl() << ", IS error "
            << e.value - problem.log_marginal_likelihood.mean() << " ± " << e.monte_carlo_standard_error
            << ", mean ESS " << result.effective_sample_size.mean() << " of 2000\n";
  EXPECT_LT(std::abs(e.value - problem.log_marginal_likelihood.mean()), 4.0 * e.monte_carlo_standard_error + 1e-9);
  for (Index b = 0; b < B; ++b) {
    EXPECT_LT(std::abs(e.per_datapoint(b) - problem.log_marginal_likelihood(b)),
              5.0 * e.per_datapoint_standard_error(b) + 1e-9)
        << "d " << d << " b " << b;
    EXPECT_GE(result.effective_sample_size(b), 1.0);
    EXPECT_LE(result.effective_sample_size(b), 2000.0 + 1e-9);
  }
  if (d == 1) {  // the diagonal Gaussian is the exact posterior: every weight equal
    EXPECT_NEAR(result.effective_sample_size.minCoeff(), 2000.0, 1e-6);
    EXPECT_LT(e.per_datapoint_standard_error.maxCoeff(), 1e-6);
  }
}

INSTANTIATE_TEST_SUITE_P(LatentDimensions, ImportanceSamplingOnLinearGaussian, ::testing::Values(1, 2, 3, 10, 50));

TEST(ImportanceSampling, PriorProposalIsUnbiasedInPButHasALowEss) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, 6, 41);
  const DiagonalGaussian prior(MatrixD::Zero(2, 6), MatrixD::Zero(2, 6), "prior");
  ImportanceSamplingOptions options;
  options.samples = 20000;
  Rng rng(testing::test_seed(2));
  const ImportanceSamplingResult result =
      estimate_log_marginal_likelihood_by_importance_sampling(problem.model, prior, problem.X, options, rng);
  const Estimate& e = result.log_marginal_likelihood;
  EXPECT_LT(std::abs(e.value - problem.log_marginal_likelihood.mean()), 4.0 * e.monte_carlo_standard_error);
  EXPECT_LT(result.effective_sample_size.mean(), 0.2 * 20000.0);
}

TEST(ImportanceSampling, SharesWeightsAndStreamWithIwaeOfOneReplicate) {
  const auto problem = testing::make_linear_gaussian_posteriors(3, 5, 43);
  const DiagonalGaussian q = problem.shifted_diagonal(0.5, 2.0);
  ImportanceSamplingOptions is_options;
  is_options.samples = 333;
  IwaeBoundOptions iwae_options;
  iwae_options.samples = 333;
  Rng rng_is(testing::test_seed(3)), rng_iwae(testing::test_seed(3));
  const Estimate is = estimate_log_marginal_likelihood_by_importance_sampling(problem.model, q, problem.X, is_options,
                                                                              rng_is)
                          .log_marginal_likelihood;
  const Estimate iwae = estimate_iwae_bound(problem.model, q, problem.X, iwae_options, rng_iwae);
  EXPECT_EQ(is.per_datapoint, iwae.per_datapoint);
  EXPECT_EQ(is.per_datapoint_standard_error, iwae.per_datapoint_standard_error);
}

TEST(ImportanceSampling, OptionsAreValidated) {
  ImportanceSamplingOptions options;
  EXPECT_NO_THROW(options.validate());
  options.samples = 0;
  expect_throw_message<std::invalid_argument>([&] { options.validate(); }, {"samples (K)", "found 0"});
  options.samples = 5;
  options.max_latent_columns_per_call = 0;
  expect_throw_message<std::invalid_argument>([&] { options.validate(); }, {"max_latent_columns_per_call"});
}

}  // namespace
}  // namespace vigap
