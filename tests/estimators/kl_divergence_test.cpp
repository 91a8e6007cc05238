#include "estimators/kl_divergence.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "support/expect_throw_message.hpp"
#include "estimators/elbo_estimator.hpp"
#include "estimators/importance_sampling.hpp"
#include "support/linear_gaussian_posteriors.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::expect_throw_message;

Estimate made_up(BiasDirection bias, VectorD values, VectorD errors) {
  Estimate e;
  e.estimator = "made up";
  e.bias_direction = bias;
  e.per_datapoint = std::move(values);
  e.per_datapoint_standard_error = std::move(errors);
  e.summarize();
  return e;
}

TEST(KlToPosteriorFromEstimates, SubtractsPerDatapointAndAddsErrorsInQuadrature) {
  const Estimate log_p = made_up(BiasDirection::stochastic_lower_bound, VectorD::LinSpaced(3, -10.0, -8.0), VectorD::Constant(3, 0.3));
  const Estimate elbo = made_up(BiasDirection::lower_bound, VectorD::LinSpaced(3, -12.0, -9.0),
                                VectorD::Constant(3, 0.4));
  const Estimate kl = kl_to_posterior_from_estimates(log_p, elbo);
  EXPECT_EQ(kl.estimator, "kl_to_posterior");
  for (Index b = 0; b < 3; ++b) {
    EXPECT_DOUBLE_EQ(kl.per_datapoint(b), log_p.per_datapoint(b) - elbo.per_datapoint(b));
    EXPECT_NEAR(kl.per_datapoint_standard_error(b), 0.5, 1e-15);
  }
  EXPECT_NEAR(kl.value, 1.5, 1e-12);
  EXPECT_NEAR(kl.monte_carlo_standard_error, 0.5 / std::sqrt(3.0), 1e-12);
  EXPECT_EQ(kl.bias_direction, BiasDirection::biased_low);
}

TEST(KlToPosteriorFromEstimates, BiasDirectionFollowsTheLogMarginalEstimate) {
  const VectorD v = VectorD::Zero(2);
  const Estimate elbo = made_up(BiasDirection::lower_bound, v, v);
  auto bias = [&](BiasDirection log_p_bias) {
    return kl_to_posterior_from_estimates(made_up(log_p_bias, v, v), elbo).bias_direction;
  };
  EXPECT_EQ(bias(BiasDirection::exact), BiasDirection::unbiased);
  EXPECT_EQ(bias(BiasDirection::unbiased), BiasDirection::unbiased);
  EXPECT_EQ(bias(BiasDirection::lower_bound), BiasDirection::biased_low);
  EXPECT_EQ(bias(BiasDirection::stochastic_lower_bound), BiasDirection::biased_low);
  EXPECT_EQ(bias(BiasDirection::stochastic_upper_bound), BiasDirection::biased_high);
  EXPECT_EQ(bias(BiasDirection::indeterminate), BiasDirection::indeterminate);
}

TEST(KlToPosteriorFromEstimates, RejectsMismatchedEstimates) {
  const Estimate two = made_up(BiasDirection::exact, VectorD::Zero(2), VectorD::Zero(2));
  const Estimate three = made_up(BiasDirection::exact, VectorD::Zero(3), VectorD::Zero(3));
  expect_throw_message<std::invalid_argument>([&] { kl_to_posterior_from_estimates(two, three); },
                                              {"2 datapoints", "ELBO estimate 3"});
  expect_throw_message<std::invalid_argument>([&] { kl_to_posterior_from_estimates(Estimate(), three); },
                                              {"no per-datapoint values"});
}

TEST(KlToPosteriorFromEstimates, RecoversTheClosedFormKlOfTheBestDiagonalGaussian) {
  // KL(q ‖ p(z|x)) = ½[tr(Σ⁻¹Σ_q) - d + log|Σ|/|Σ_q|] for the KL-optimal diagonal q, d = 10.
  const auto problem = testing::make_linear_gaussian_posteriors(10, 8, 47);
  const DiagonalGaussian q = problem.best_diagonal();
  const double truth = problem.best_diagonal_kl();
  ASSERT_GT(truth, 0.05);
  Rng parent(testing::test_seed(5));
  Rng rng_elbo = split_rng(parent), rng_is = split_rng(parent);
  ElboOptions elbo_options;
  elbo_options.samples = 4000;
  const Estimate elbo = estimate_elbo(problem.model, q, problem.X, elbo_options, rng_elbo);
  ImportanceSamplingOptions is_options;
  is_options.samples = 4000;
  const Estimate log_p = estimate_log_marginal_likelihood_by_importance_sampling(problem.model, q, problem.X,
                                                                                 is_options, rng_is)
                             .log_marginal_likelihood;
  const Estimate kl = kl_to_posterior_from_estimates(log_p, elbo);
  EXPECT_LT(std::abs(kl.value - truth), 4.0 * kl.monte_carlo_standard_error) << "truth " << truth;
  // With the exact log p(x) (zero error) only the ELBO's noise remains.
  const Estimate exact = made_up(BiasDirection::exact, problem.log_marginal_likelihood, VectorD::Zero(8));
  const Estimate kl_exact = kl_to_posterior_from_estimates(exact, elbo);
  EXPECT_LT(std::abs(kl_exact.value - truth), 4.0 * kl_exact.monte_carlo_standard_error);
  EXPECT_EQ(kl_exact.bias_direction, BiasDirection::unbiased);
}

}  // namespace
}  // namespace vigap
