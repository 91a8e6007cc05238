// Equal compute, checked by counting: a model wrapper counts every latent column the methods push
// through it, and the count must equal the cost the budget rules predict (never above the
// budget, and close to it). Then, on a 2-D linear-Gaussian model with a closed-form posterior,
// what the experiment measures behaves as it must: HMC's moment errors fall as its budget grows,
// and the full-covariance q*, whose family contains the posterior, reaches KL ≈ 0 with a large budget.
#include "analyses/decoder_evaluation_budget.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "estimators/posterior_discrepancy.hpp"
#include "support/counting_model.hpp"
#include "support/expect_throw_message.hpp"
#include "support/linear_gaussian_posteriors.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::CountingModel;
using testing::gaussian_kl;

constexpr Index kDatapoints = 3;

TEST(DecoderEvaluationBudget, HmcSpendsWhatTheRulePredictsAndNearlyAllOfTheBudget) {
  const auto lg = testing::make_linear_gaussian_posteriors(2, kDatapoints, 5);
  const CountingModel model(lg.model);
  HmcOptions base;
  base.chains = 4;
  base.leapfrog_steps = 10;
  Rng rng(testing::test_seed(1));
  for (const Index budget : {45, 100, 1000, 4321}) {
    const std::optional<HmcOptions> options = hmc_options_for_budget(base, budget, 0.5);
    ASSERT_TRUE(options) << budget;
    EXPECT_EQ(options->warmup, (options->warmup + options->draws) / 2) << budget;
    const Index predicted = hmc_decoder_evaluations(*options);
    EXPECT_LE(predicted, budget);
    EXPECT_GT(predicted, budget - base.chains * base.leapfrog_steps - base.chains) << budget;
    const HmcResult result = hmc_sample_posterior(model, lg.X, *options, rng);
    EXPECT_EQ(model.take_per_datapoint(kDatapoints), static_cast<double>(predicted)) << budget;
    EXPECT_EQ(result.gradient_evaluations, kDatapoints * predicted) << budget;
  }
  // 40 evaluations for 4 chains: one initial evaluation each leaves 9 < 10 leapfrog steps.
  EXPECT_FALSE(hmc_options_for_budget(base, 40, 0.5));
  testing::expect_throw_message<std::invalid_argument>([&] { hmc_options_for_budget(base, 100, 1.0); },
                                                       {"warmup_fraction", "[0, 1)"});
  testing::expect_throw_message<std::invalid_argument>([&] { hmc_options_for_budget(base, 0, 0.5); },
                                                       {"budget must be >= 1"});
}

TEST(DecoderEvaluationBudget, LocalGaussianSpendsAtMostTheBudgetAndExactlyItWithoutEarlyStopping) {
  const auto lg = testing::make_linear_gaussian_posteriors(2, kDatapoints, 6);
  const CountingModel model(lg.model);
  LocalOptimizationOptions base;
  base.samples_per_step = 10;
  base.check_samples = 20;
  base.patience = 1000000;  // never stops early: spends its maximum
  Rng rng(testing::test_seed(2));
  const DiagonalGaussian initial = lg.shifted_diagonal(1.0, 2.0);
  for (const Index budget : {60, 1000, 2500}) {
    const auto options = local_gaussian_options_for_budget(base, budget);
    ASSERT_TRUE(options) << budget;
    const Index predicted = local_gaussian_max_decoder_evaluations(*options);
    EXPECT_LE(predicted, budget);
    LocalOptimizationOptions one_more = *options;
    ++one_more.max_steps;
    EXPECT_GT(local_gaussian_max_decoder_evaluations(one_more), budget) << "not the largest max_steps";
    const LocalGaussianOptimizationResult fit = optimize_local_gaussian(model, lg.X, initial, *options, rng);
    EXPECT_EQ(model.take_per_datapoint(kDatapoints), static_cast<double>(predicted)) << budget;
    EXPECT_EQ(fit.gradient_evaluations + fit.likelihood_evaluations, kDatapoints * predicted) << budget;
  }
  EXPECT_FALSE(local_gaussian_options_for_budget(base, 49));  // two checks (40) + one step (10) do not fit
}

TEST(DecoderEvaluationBudget, LocalFlowAndAisSpendWhatTheRulesPredict) {
  const auto lg = testing::make_linear_gaussian_posteriors(2, kDatapoints, 7);
  const CountingModel model(lg.model);
  const DiagonalGaussian initial = lg.shifted_diagonal(0.5, 1.5);
  Rng rng(testing::test_seed(3));

  LocalFlowOptions flow;
  flow.samples = 10;
  flow.patience = 1000000;
  const auto flow_options = local_flow_options_for_budget(flow, 505);
  ASSERT_TRUE(flow_options);
  EXPECT_EQ(flow_options->max_steps, 50);
  const LocalFlowOptimizationResult fit = optimize_local_flow(model, lg.X, initial, *flow_options, rng);
  EXPECT_EQ(fit.steps, 50);
  EXPECT_EQ(model.take_per_datapoint(kDatapoints), static_cast<double>(local_flow_max_decoder_evaluations(*flow_options)));
  EXPECT_FALSE(local_flow_options_for_budget(flow, 9));

  AisOptions ais;
  ais.chains = 8;
  for (const AisStepSizeAdaptation adaptation : {AisStepSizeAdaptation::pilot, AisStepSizeAdaptation::none}) {
    ais.step_size_adaptation = adaptation;
    for (const Index budget : {200, 1000}) {
      const auto options = ais_options_for_budget(ais, budget);
      ASSERT_TRUE(options) << budget;
      const Index predicted = ais_decoder_evaluations(*options);
      EXPECT_LE(predicted, budget);
      AisOptions longer = *options;
      ++longer.num_annealing_steps;
      EXPECT_GT(ais_decoder_evaluations(longer), budget) << "not the largest T";
      const auto from_prior = annealed_importance_sampling(model, lg.X, *options, rng);
      EXPECT_EQ(model.take_per_datapoint(kDatapoints), static_cast<double>(predicted)) << budget;
      EXPECT_EQ(from_prior.gradient_evaluations, kDatapoints * predicted);
      annealed_importance_sampling(model, initial, lg.X, *options, rng);
      EXPECT_EQ(model.take_per_datapoint(kDatapoints), static_cast<double>(predicted)) << budget;
    }
  }
  ais.step_size_adaptation = AisStepSizeAdaptation::pilot;
  EXPECT_FALSE(ais_options_for_budget(ais, 100));  // 10 chains x (1 + 10) = 110 > 100
}

TEST(DecoderEvaluationBudget, OnALinearGaussianModelHmcImprovesWithBudgetAndFullCovarianceQStarBecomesExact) {
  const auto lg = testing::make_linear_gaussian_posteriors(2, kDatapoints, 8);
  const MatrixD& covariance = lg.model.posterior_covariance();
  HmcOptions hmc;
  hmc.chains = 4;
  hmc.leapfrog_steps = 10;
  Rng rng(testing::test_seed(4));
  std::vector<double> mean_errors, covariance_errors;
  for (const Index budget : {300, 30000}) {
    const HmcResult result = hmc_sample_posterior(lg.model, lg.X, *hmc_options_for_budget(hmc, budget, 0.5), rng);
    double mean_error = 0.0, covariance_error = 0.0;
    for (Index b = 0; b < kDatapoints; ++b) {
      VectorD mean;
      MatrixD sample_covariance;
      sample_mean_and_covariance(result.draws_of(b), mean, sample_covariance);
      const MomentDiscrepancy m = moment_discrepancy(mean, sample_covariance, lg.posterior_mean.col(b), covariance);
      mean_error += m.mean_error / kDatapoints;
      covariance_error += m.covariance_error / kDatapoints;
    }
    mean_errors.push_back(mean_error);
    covariance_errors.push_back(covariance_error);
  }
  // 30000 evaluations keep 1500 draws per datapoint: errors of a few hundredths of a posterior sd.
  EXPECT_LT(mean_errors[1], 0.15);
  EXPECT_LT(covariance_errors[1], 0.3);
  EXPECT_LT(mean_errors[1], mean_errors[0]);
  EXPECT_LT(covariance_errors[1], covariance_errors[0]);

  LocalOptimizationOptions gaussian;
  gaussian.family = LocalGaussianFamily::full_covariance;
  gaussian.samples_per_step = 10;
  // As vigap-hmc-vs-vi at large budgets: the budget is the stopping rule, and checks of 100
  // samples (with 20, the kept best check is a lucky early one, KL ≈ 0.045 here).
  gaussian.check_samples = 100;
  gaussian.patience = 1000000;
  const DiagonalGaussian initial = lg.shifted_diagonal(2.0, 3.0);
  std::vector<double> kl;
  for (const Index budget : {300, 30000}) {
    const LocalGaussianOptimizationResult fit =
        optimize_local_gaussian(lg.model, lg.X, initial, *local_gaussian_options_for_budget(gaussian, budget), rng);
    const auto& q = std::get<FullCovarianceGaussian>(fit.optimized);
    double mean_kl = 0.0;
    for (Index b = 0; b < kDatapoints; ++b) {
      const MatrixD& L = q.cholesky_factors()[static_cast<size_t>(b)];
      mean_kl += gaussian_kl(q.mean().col(b), L * L.transpose(), lg.posterior_mean.col(b), covariance) / kDatapoints;
    }
    kl.push_back(mean_kl);

  }
  EXPECT_LT(kl[1], 0.01);  // the family contains p(z|x): KL -> 0 up to Adam's jitter
  EXPECT_LT(kl[1], kl[0]);
}

}  // namespace
}  // namespace vigap
