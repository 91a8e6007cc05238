#include "estimators/importance_sampling.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <iostream>

#include "support/expect_throw_message.hpp"
#include "estimators/iwae_bound.hpp"
#include "core/models/linear_gaussian_model.hpp"
#include "core/variational/diagonal_gaussian.hpp"
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

/// log M_k = log E_{p(z)}[(p(z|x) / p(z))^k] = log ∫ p(z|x)^k p(z)^{1-k} dz for p(z) = N(0, I),
/// p(z|x) = N(m, Σ): -(k/2) log|Σ| - ½ log|kΣ⁻¹ - (k-1)I| + ½ k(k-1) mᵀ(kI - (k-1)Σ)⁻¹ m.
/// With the prior as proposal the normalized weights are w = p(z|x)/p(z), so E w = 1 and E w^k = M_k.
double log_prior_weight_moment(const VectorD& m, const MatrixD& sigma, int k) {
  const Index d = m.size();
  const MatrixD I = MatrixD::Identity(d, d);
  const Eigen::LLT<MatrixD> outer((k * sigma.inverse() - (k - 1) * I).eval());
  const Eigen::LLT<MatrixD> inner((k * I - (k - 1) * sigma).eval());
  const double log_det_sigma = 2.0 * Eigen::LLT<MatrixD>(sigma).matrixLLT().diagonal().array().log().sum();
  const double log_det_outer = 2.0 * outer.matrixLLT().diagonal().array().log().sum();
  return -0.5 * k * log_det_sigma - 0.5 * log_det_outer + 0.5 * k * (k - 1) * m.dot(inner.solve(m));
}

// The prior as proposal on a fixed model whose posteriors sit 2 prior sds from the origin with
// variance 1/8.2: ESS/K → ρ = 1/M_2 ≈ 0.027 (closed form; ρ <= exp(-|m|²/2) = 0.135 for any Σ <= I),
// so the ESS is low by construction, and log p̂ is still unbiased up to its standard error.
TEST(ImportanceSampling, PriorProposalIsUnbiasedInPButHasALowEss) {
  const Index D = 20, d = 2, B = 6, K = 20000;
  MatrixD W(D, d);  // orthogonal columns 0.3·(1, ..., 1) and 0.3·(1, -1, ...): WᵀW = 1.8 I
  for (Index i = 0; i < D; ++i) W.row(i) << 0.3, (i % 2 == 0 ? 0.3 : -0.3);
  const double sigma = 0.5;
  const LinearGaussianModel model(W, VectorD::Zero(D), sigma);
  // x_b = W (WᵀW)⁻¹ (σ²I + WᵀW) m_b has posterior mean exactly m_b, |m_b| = 2 in six directions.
  MatrixD M(d, B);
  for (Index b = 0; b < B; ++b) M.col(b) << 2.0 * std::cos(2.0 * std::numbers::pi * b / B), 2.0 * std::sin(2.0 * std::numbers::pi * b / B);
  const MatrixF X = (W * (W.transpose() * W).ldlt().solve(sigma * sigma * MatrixD::Identity(d, d) + W.transpose() * W) *
                     M).cast<float>();
  const MatrixD posterior_mean = model.posterior_mean(X);
  const VectorD log_p = model.log_marginal_likelihood(X);
  const DiagonalGaussian prior(MatrixD::Zero(d, B), MatrixD::Zero(d, B), "prior");
  ImportanceSamplingOptions options;
  options.samples = K;
  Rng rng(testing::test_seed(2));
  const ImportanceSamplingResult result =
      estimate_log_marginal_likelihood_by_importance_sampling(model, prior, X, options, rng);
  const Estimate& e = result.log_marginal_likelihood;
  // E log p̂ = log p - O(se²/2) (here ~0.05 se): 4.5 se is a two-sided normal tail of 7e-6.
  EXPECT_LT(std::abs(e.value - log_p.mean()), 4.5 * e.monte_carlo_standard_error);
  double rho_mean = 0.0;
  for (Index b = 0; b < B; ++b) {
    const VectorD m = posterior_mean.col(b);
    const MatrixD& S = model.posterior_covariance();
    const double M2 = std::exp(log_prior_weight_moment(m, S, 2)), M3 = std::exp(log_prior_weight_moment(m, S, 3)),
                 M4 = std::exp(log_prior_weight_moment(m, S, 4));
    const double rho = 1.0 / M2;
    rho_mean += rho / B;
    ASSERT_LT(rho, std::exp(-0.5 * m.squaredNorm()) + 1e-12) << "b " << b;  // the closed form's bound
    // Delta method: log(ESS/K) = 2 log mean w - log mean w² has variance Var(2w - w²/M_2) / K =
    // [4(M_2 - 1) + M_4/M_2² - 1 - 4(M_3/M_2 - 1)] / K (sd ≈ 3.3% here). 6 sd: beyond the 4.3 sd a
    // Bonferroni bound over 6 datapoints at 1e-4 needs, with room for the ratio's non-normal tail.
    const double sd = std::sqrt((4.0 * (M2 - 1.0) + M4 / (M2 * M2) - 1.0 - 4.0 * (M3 / M2 - 1.0)) / K);
    EXPECT_LT(std::abs(std::log(result.effective_sample_size(b) / K / rho)), 6.0 * sd)
        << "b " << b << ": ESS " << result.effective_sample_size(b) << ", closed form " << rho * K;
  }
  EXPECT_LT(rho_mean, 0.03);  // closed form ≈ 0.0272: the low ESS is a property of the problem
  EXPECT_LT(result.effective_sample_size.mean(), 0.2 * K);
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
