#include "estimators/iwae_bound.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <iostream>

#include "support/expect_throw_message.hpp"
#include "core/models/mlp_decoder_model.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/gaussian_encoder.hpp"
#include "estimators/elbo_estimator.hpp"
#include "support/linear_gaussian_posteriors.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::expect_throw_message;

double combined(double a, double b) { return std::sqrt(a * a + b * b); }

class IwaeOnLinearGaussian : public ::testing::TestWithParam<Index> {};

TEST_P(IwaeOnLinearGaussian, ExactPosteriorGivesLogMarginalLikelihood) {
  const Index d = GetParam();
  const auto problem = testing::make_linear_gaussian_posteriors(d, 4, 300 + d);
  IwaeBoundOptions options;
  options.samples = 64;
  Rng rng(testing::test_seed(1));
  const Estimate iwae = estimate_iwae_bound(problem.model, problem.exact_posterior(), problem.X, options, rng);
  for (Index b = 0; b < 4; ++b) {
    const double log_p = problem.log_marginal_likelihood(b);
    EXPECT_NEAR(iwae.per_datapoint(b), log_p, 1e-9 * (1.0 + std::abs(log_p)));
    EXPECT_LT(iwae.per_datapoint_standard_error(b), 1e-6);
  }
}

// ELBO <= IWAE_K <= IWAE_2K <= log p(x), each within the combined standard error, for a poor q:
// the prior N(0, I) where that is usable (d <= 3), otherwise a shifted, widened diagonal Gaussian.
TEST_P(IwaeOnLinearGaussian, BoundsAreOrderedForAPoorApproximation) {
  const Index d = GetParam();
  const Index B = 6;
  const auto problem = testing::make_linear_gaussian_posteriors(d, B, 400 + d);
  const DiagonalGaussian q = d <= 3 ? DiagonalGaussian(MatrixD::Zero(d, B), MatrixD::Zero(d, B), "prior")
                                    : problem.shifted_diagonal(0.3, 1.5);
  Rng parent(testing::test_seed(d));
  Rng rng_elbo = split_rng(parent), rng_k = split_rng(parent), rng_2k = split_rng(parent);
  ElboOptions elbo_options;
  elbo_options.samples = 2000;
  const Estimate elbo = estimate_elbo(problem.model, q, problem.X, elbo_options, rng_elbo);
  IwaeBoundOptions options;
  options.samples = 50;
  options.replicates = 20;  // replicate spread: honest errors even for heavy-tailed weights
  const Estimate iwae_k = estimate_iwae_bound(problem.model, q, problem.X, options, rng_k);
  options.samples = 100;
  const Estimate iwae_2k = estimate_iwae_bound(problem.model, q, problem.X, options, rng_2k);
  const double log_p = problem.log_marginal_likelihood.mean();
  const double se_elbo = elbo.monte_carlo_standard_error, se_k = iwae_k.monte_carlo_standard_error,
               se_2k = iwae_2k.monte_carlo_standard_error;
  std::cout << "d " << d << ": log p " << log_p << ", ELBO " << elbo.value << " ± " << se_elbo << ", IWAE_50 "
            << iwae_k.value << " ± " << se_k << ", IWAE_100 " << iwae_2k.value << " ± " << se_2k << "\n";
  EXPECT_LE(elbo.value, iwae_k.value + 4.0 * combined(se_elbo, se_k));
  EXPECT_LE(iwae_k.value, iwae_2k.value + 4.0 * combined(se_k, se_2k));
  EXPECT_LE(iwae_2k.value, log_p + 4.0 * se_2k);
  // Not vacuous: q is poor, and importance weighting recovers a significant part of the gap.
  EXPECT_GT(log_p - elbo.value, 0.2);
  EXPECT_GT(iwae_2k.value - elbo.value, 4.0 * combined(se_elbo, se_2k));
  EXPECT_EQ(iwae_k.samples_per_datapoint, 50 * 20);
  EXPECT_EQ(iwae_k.bias_direction, BiasDirection::lower_bound);
}

INSTANTIATE_TEST_SUITE_P(LatentDimensions, IwaeOnLinearGaussian, ::testing::Values(1, 2, 3, 10, 50));

TEST(IwaeBound, ChunkingDoesNotChangeTheResultOnALinearGaussianModel) {
  // The random stream is independent of the chunk size by design (one batched draw per sample
  // index), so only the grouping of the model calls changes: equal up to double rounding.
  const auto problem = testing::make_linear_gaussian_posteriors(10, 7, 17);
  const DiagonalGaussian q = problem.shifted_diagonal(0.5, 2.0);
  IwaeBoundOptions options;
  options.samples = 300;
  options.replicates = 2;
  options.max_latent_columns_per_call = 1 << 20;
  Rng rng(testing::test_seed(8));
  const Estimate unchunked = estimate_iwae_bound(problem.model, q, problem.X, options, rng);
  for (Index max_columns : {Index(3), Index(7), Index(50), Index(1000)}) {
    options.max_latent_columns_per_call = max_columns;
    Rng same(testing::test_seed(8));
    const Estimate chunked = estimate_iwae_bound(problem.model, q, problem.X, options, same);
    EXPECT_LT((chunked.per_datapoint - unchunked.per_datapoint).cwiseAbs().maxCoeff(), 1e-10) << max_columns;
    EXPECT_LT((chunked.per_datapoint_standard_error - unchunked.per_datapoint_standard_error).cwiseAbs().maxCoeff(),
              1e-10);
  }
}

TEST(IwaeBound, ChunkingDoesNotChangeTheResultOnAnMlpDecoder) {
  // Float network: the draws are identical; per-column float results may differ in the last
  // bits when the GEMM sees a different number of columns, hence the small tolerance.
  Rng init(testing::test_seed(21));
  MlpDecoderModel decoder(4, {16}, 12, Activation::tanh, Likelihood::bernoulli);
  decoder.network().initialize(init);
  GaussianEncoder encoder(12, {16}, 4, Activation::tanh);
  encoder.network().initialize(init);
  MatrixF X(12, 5);
  for (Index i = 0; i < X.size(); ++i) X(i) = uniform_01(init) < 0.5 ? 1.0f : 0.0f;
  const DiagonalGaussian q = DiagonalGaussian::from_encoder(encoder, X);
  IwaeBoundOptions options;
  options.samples = 200;
  options.max_latent_columns_per_call = 1 << 20;
  Rng rng(testing::test_seed(9));
  const Estimate unchunked = estimate_iwae_bound(decoder, q, X, options, rng);
  for (Index max_columns : {Index(2), Index(64)}) {
    options.max_latent_columns_per_call = max_columns;
    Rng same(testing::test_seed(9));
    const Estimate chunked = estimate_iwae_bound(decoder, q, X, options, same);
    EXPECT_LT((chunked.per_datapoint - unchunked.per_datapoint).cwiseAbs().maxCoeff(), 1e-4) << max_columns;
  }
}

TEST(IwaeBound, DeltaMethodErrorMatchesTheSpreadOfReplicates) {
  // For well-behaved weights the R = 1 delta-method error must describe the actual scatter of
  // independent IWAE_K values; here compared with the spread of 40 replicates, pooled over datapoints.
  const auto problem = testing::make_linear_gaussian_posteriors(3, 20, 23);
  const DiagonalGaussian q = problem.shifted_diagonal(0.5, 1.5);
  IwaeBoundOptions options;
  options.samples = 200;
  Rng rng(testing::test_seed(10));
  const Estimate single = estimate_iwae_bound(problem.model, q, problem.X, options, rng);
  options.replicates = 40;
  const Estimate replicated = estimate_iwae_bound(problem.model, q, problem.X, options, rng);
  // sd over replicates = se * sqrt(R); compare mean variances over datapoints.
  const double replicate_variance = (replicated.per_datapoint_standard_error.array().square() * 40.0).mean();
  const double delta_variance = single.per_datapoint_standard_error.array().square().mean();
  const double ratio = std::sqrt(delta_variance / replicate_variance);
  std::cout << "delta-method se / replicate sd = " << ratio << "\n";
  // 20 datapoints x 39 degrees of freedom: the ratio's own noise is a few percent.
  EXPECT_GT(ratio, 0.8);
  EXPECT_LT(ratio, 1.25);
  // Both estimate the same IWAE_200.
  EXPECT_LT(std::abs(single.value - replicated.value),
            4.0 * combined(single.monte_carlo_standard_error, replicated.monte_carlo_standard_error));
}

class NoDensity final : public PosteriorApproximation {
 public:
  Index latent_dim() const override { return 1; }
  Index num_datapoints() const override { return 1; }
  std::string describe() const override { return "sampler without density"; }
  MatrixD sample(Index S, BatchRng& rng) const override { return standard_normal_matrix(1, S, rng); }
  bool has_density() const override { return false; }
  VectorD log_density(const MatrixD&, Index) const override { throw std::logic_error("no density"); }
};

TEST(IwaeBound, OptionsAndInputsAreValidated) {
  IwaeBoundOptions options;
  EXPECT_NO_THROW(options.validate());
  options.samples = 0;
  expect_throw_message<std::invalid_argument>([&] { options.validate(); }, {"samples (K)", ">= 1", "found 0"});
  options.samples = 10;
  options.replicates = 0;
  expect_throw_message<std::invalid_argument>([&] { options.validate(); }, {"replicates (R)", "found 0"});
  options.replicates = 1;
  options.max_latent_columns_per_call = 0;
  expect_throw_message<std::invalid_argument>([&] { options.validate(); }, {"max_latent_columns_per_call"});
  options.max_latent_columns_per_call = 100;
  const auto problem = testing::make_linear_gaussian_posteriors(1, 1, 3);
  Rng rng(testing::test_seed(1));
  expect_throw_message<std::invalid_argument>(
      [&] { estimate_iwae_bound(problem.model, NoDensity(), problem.X, options, rng); }, {"no density"});
  options.samples = 0;
  expect_throw_message<std::invalid_argument>(
      [&] { estimate_iwae_bound(problem.model, problem.best_diagonal(), problem.X, options, rng); }, {"(K)"});
  options.samples = 1;  // one weight, one replicate: the value exists, its error does not
  const Estimate one = estimate_iwae_bound(problem.model, problem.best_diagonal(), problem.X, options, rng);
  EXPECT_TRUE(std::isfinite(one.per_datapoint(0)));
  EXPECT_TRUE(std::isnan(one.per_datapoint_standard_error(0)));
}

// The timing the brief asks for: IWAE-5000 on 100 datapoints, 784-200-200-50 tanh Bernoulli decoder,
// 784-200-200-100 encoder, random init and random binary data. Minutes on 2 cores, so disabled;
// run with --gtest_also_run_disabled_tests --gtest_filter='*Iwae5000*'.
TEST(IwaeBound, DISABLED_Iwae5000TimingOnMnistSizedNetworks) {
  Rng init(testing::test_seed(2015));
  MlpDecoderModel decoder(50, {200, 200}, 784, Activation::tanh, Likelihood::bernoulli);
  decoder.network().initialize(init);
  GaussianEncoder encoder(784, {200, 200}, 50, Activation::tanh);
  encoder.network().initialize(init);
  MatrixF X(784, 100);
  for (Index i = 0; i < X.size(); ++i) X(i) = uniform_01(init) < 0.5 ? 1.0f : 0.0f;
  const DiagonalGaussian q = DiagonalGaussian::from_encoder(encoder, X);
  IwaeBoundOptions options;
  options.samples = 5000;
  Rng rng(testing::test_seed(1));
  const auto start = std::chrono::steady_clock::now();
  const Estimate iwae = estimate_iwae_bound(decoder, q, X, options, rng);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "IWAE-5000, 100 datapoints, " << decoder.describe() << ": " << seconds << " s (estimator reports "
            << iwae.seconds << " s), value " << iwae.value << " ± " << iwae.monte_carlo_standard_error
            << ", Eigen threads " << Eigen::nbThreads() << "\n";
  EXPECT_TRUE(std::isfinite(iwae.value));
}

}  // namespace
}  // namespace vigap
