#include "estimators/exact_marginal_likelihood.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "support/expect_throw_message.hpp"
#include "core/math/log_sum_exp.hpp"
#include "core/models/linear_gaussian_model.hpp"
#include "core/models/mlp_decoder_model.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

// Quadrature is deterministic: the random problems below are fixtures (chosen to show a property,
// e.g. a rule too coarse on purpose) and keep fixed seeds; Monte Carlo draws take test_seed.

struct LinearGaussianCase {
  Index latent_dim;
  Index data_dim;
  double sigma;
  double weight_scale;  // 3 with sigma 0.3: posterior standard deviations ~0.02, far below the coarse grid spacing
};

class ExactMarginalLikelihoodLinearGaussian : public ::testing::TestWithParam<LinearGaussianCase> {};

TEST_P(ExactMarginalLikelihoodLinearGaussian, MatchesTheClosedForm) {
  const LinearGaussianCase c = GetParam();
  Rng rng(1000 + 10 * c.latent_dim + c.data_dim);
  const LinearGaussianModel model = LinearGaussianModel::random(c.data_dim, c.latent_dim, c.sigma, c.weight_scale, rng);
  const MatrixF X = model.sample(24, rng).data;
  const ExactMarginalLikelihood result = exact_marginal_likelihood(model, X);
  const VectorD truth = model.log_marginal_likelihood(X);
  const MatrixD true_mean = model.posterior_mean(X);
  const MatrixD& true_cov = model.posterior_covariance();
  const VectorD true_sd = true_cov.diagonal().cwiseSqrt();
  const Estimate& e = result.log_marginal_likelihood;
  EXPECT_EQ(e.bias_direction, BiasDirection::exact);
  EXPECT_EQ(result.unconverged, 0);
  double worst = 0.0, worst_mean = 0.0, worst_cov = 0.0;
  for (Index b = 0; b < X.cols(); ++b) {
    const double error = std::abs(e.per_datapoint(b) - truth(b));
    worst = std::max(worst, error);
    EXPECT_LT(error, 1e-4) << "datapoint " << b;
    // The reported error estimate bounds the actual error (1e-10: rounding of the closed form itself).
    EXPECT_LE(error, e.per_datapoint_standard_error(b) + 1e-10) << "datapoint " << b;
    EXPECT_LE(e.per_datapoint_standard_error(b), QuadratureOptions{}.tolerance) << "datapoint " << b;
    // Moments relative to the posterior's own scale.
    const VectorD mean_error = (result.posterior_mean.col(b) - true_mean.col(b)).cwiseQuotient(true_sd);
    const MatrixD cov_error = (result.posterior_covariance[b] - true_cov).cwiseQuotient(true_sd * true_sd.transpose());
    worst_mean = std::max(worst_mean, mean_error.cwiseAbs().maxCoeff());
    worst_cov = std::max(worst_cov, cov_error.cwiseAbs().maxCoeff());
  }
  EXPECT_LT(worst_mean, 1e-4);
  EXPECT_LT(worst_cov, 1e-4);
  std::cout << "[ accuracy ] d=" << c.latent_dim << " D=" << c.data_dim << " sigma=" << c.sigma
            << " w=" << c.weight_scale << " posterior sd " << true_sd.minCoeff() << ": max |log p(x) error| " << worst
            << ", max reported error " << e.per_datapoint_standard_error.maxCoeff() << ", mean error/sd "
            << worst_mean << ", cov error/sd^2 " << worst_cov << ", nodes/datapoint " << e.samples_per_datapoint
            << ", " << e.seconds << " s\n";
}

INSTANTIATE_TEST_SUITE_P(Cases, ExactMarginalLikelihoodLinearGaussian,
                         ::testing::Values(LinearGaussianCase{1, 5, 1.0, 1.0}, LinearGaussianCase{1, 12, 0.3, 3.0},
                                           LinearGaussianCase{2, 8, 0.5, 1.0}, LinearGaussianCase{2, 20, 0.3, 3.0},
                                           LinearGaussianCase{2, 5, 1.0, 0.3}, LinearGaussianCase{3, 10, 0.7, 1.0},
                                           LinearGaussianCase{3, 20, 0.3, 3.0}));

TEST(ExactMarginalLikelihood, StronglyCorrelatedPosterior) {
  // Two nearly parallel columns of W: posterior correlation ≈ -0.99, handled by the whitened grid.
  MatrixD W(6, 2);
  W << 1.0, 1.02, 2.0, 1.98, -1.0, -1.01, 0.5, 0.52, 1.5, 1.49, -0.7, -0.69;
  const LinearGaussianModel model(W * 2.0, VectorD::Zero(6), 0.3);
  Rng rng(7);
  const MatrixF X = model.sample(20, rng).data;
  const MatrixD& cov = model.posterior_covariance();
  ASSERT_LT(cov(0, 1) / std::sqrt(cov(0, 0) * cov(1, 1)), -0.98);
  const ExactMarginalLikelihood result = exact_marginal_likelihood(model, X);
  const VectorD truth = model.log_marginal_likelihood(X);
  EXPECT_LT((result.log_marginal_likelihood.per_datapoint - truth).cwiseAbs().maxCoeff(), 1e-4);
  EXPECT_LT((result.posterior_mean - model.posterior_mean(X)).cwiseAbs().maxCoeff(), 1e-4 * std::sqrt(cov(0, 0)));
}

TEST(ExactMarginalLikelihood, ChunkingDoesNotChangeTheResult) {
  Rng rng(3);
  const LinearGaussianModel model = LinearGaussianModel::random(6, 2, 0.5, 1.0, rng);
  const MatrixF X = model.sample(10, rng).data;
  QuadratureOptions small;
  small.datapoint_chunk_size = 3;
  small.grid_block_size = 1000;
  small.max_latent_columns_per_call = 2000;
  const VectorD a = exact_marginal_likelihood(model, X).log_marginal_likelihood.per_datapoint;
  const VectorD b = exact_marginal_likelihood(model, X, small).log_marginal_likelihood.per_datapoint;
  EXPECT_LT((a - b).cwiseAbs().maxCoeff(), 1e-11);
}

TEST(ExactMarginalLikelihood, ReportsTheQuadratureErrorOfACoarseRule) {
  // Too coarse on purpose: 11 nodes on [-7, 7] (spacing 1.4) for a posterior of sd ~0.9, no refinement.
  Rng rng(11);
  const LinearGaussianModel model = LinearGaussianModel::random(3, 1, 1.0, 0.3, rng);
  const MatrixF X = model.sample(20, rng).data;
  QuadratureOptions coarse;
  coarse.coarse_nodes_per_dimension = 11;
  coarse.max_refinements = 0;
  const ExactMarginalLikelihood result = exact_marginal_likelihood(model, X, coarse);
  const VectorD error = (result.log_marginal_likelihood.per_datapoint - model.log_marginal_likelihood(X)).cwiseAbs();
  EXPECT_GT(error.minCoeff(), 1e-5);  // the rule really is inaccurate
  EXPECT_EQ(result.unconverged, X.cols());
  for (Index b = 0; b < X.cols(); ++b) {
    EXPECT_LE(error(b), result.log_marginal_likelihood.per_datapoint_standard_error(b)) << "datapoint " << b;
    EXPECT_LT(result.log_marginal_likelihood.per_datapoint_standard_error(b), 1.0) << "datapoint " << b;
  }
}

TEST(ExactMarginalLikelihood, AnUnresolvedPosteriorHasNoFiniteErrorEstimate) {
  // Posterior sd ~0.04 on a grid of spacing 0.7: a spike between nodes, no error bound possible.
  Rng rng(12);
  const LinearGaussianModel model = LinearGaussianModel::random(12, 1, 0.3, 3.0, rng);
  const MatrixF X = model.sample(10, rng).data;
  QuadratureOptions coarse;
  coarse.coarse_nodes_per_dimension = 21;
  coarse.max_refinements = 0;
  const ExactMarginalLikelihood result = exact_marginal_likelihood(model, X, coarse);
  EXPECT_EQ(result.unconverged, X.cols());
  for (Index b = 0; b < X.cols(); ++b)
    EXPECT_TRUE(std::isinf(result.log_marginal_likelihood.per_datapoint_standard_error(b))) << "datapoint " << b;
  // Refinement from the same coarse pass then finds it.
  coarse.max_refinements = 8;
  const ExactMarginalLikelihood refined = exact_marginal_likelihood(model, X, coarse);
  EXPECT_EQ(refined.unconverged, 0);
  EXPECT_LT((refined.log_marginal_likelihood.per_datapoint - model.log_marginal_likelihood(X)).cwiseAbs().maxCoeff(),
            1e-6);
}

TEST(ExactMarginalLikelihood, MlpDecoderIsStableUnderDoublingAndMatchesPriorSampling) {
  Rng rng(21);
  MlpDecoderModel model(2, {16, 16}, 12, Activation::tanh, Likelihood::bernoulli);
  model.network().initialize(rng);
  model.network().parameters() *= 3.0f;  // logits of order a few: a non-Gaussian posterior
  const Index B = 20;
  MatrixF X(12, B);
  for (Index b = 0; b < B; ++b)
    for (Index i = 0; i < 12; ++i) X(i, b) = uniform_01(rng) < 0.5 ? 1.0f : 0.0f;

  const ExactMarginalLikelihood base = exact_marginal_likelihood(model, X);
  QuadratureOptions doubled;
  doubled.coarse_nodes_per_dimension = 2 * doubled.coarse_nodes(2) - 1;
  doubled.refined_nodes_per_dimension = 2 * doubled.refined_nodes(2) - 1;
  const ExactMarginalLikelihood fine = exact_marginal_likelihood(model, X, doubled);
  const VectorD& value = base.log_marginal_likelihood.per_datapoint;
  EXPECT_LT((value - fine.log_marginal_likelihood.per_datapoint).cwiseAbs().maxCoeff(), 1e-4);
  EXPECT_EQ(base.unconverged, 0);
  for (Index b = 0; b < B; ++b)  // the reported error estimates cover the change under doubling
    EXPECT_LE(std::abs(value(b) - fine.log_marginal_likelihood.per_datapoint(b)),
              base.log_marginal_likelihood.per_datapoint_standard_error(b) +
                  fine.log_marginal_likelihood.per_datapoint_standard_error(b));
  std::cout << "[ accuracy ] MLP 2-16-16-12: max |doubled - base| "
            << (value - fine.log_marginal_likelihood.per_datapoint).cwiseAbs().maxCoeff() << ", max reported error "
            << base.log_marginal_likelihood.per_datapoint_standard_error.maxCoeff() << "\n";

  // Brute force: log-mean-exp of log p(x|z) over N prior draws, with the delta-method standard error.
  const Index N = 400000;
  Rng prior_rng(testing::test_seed(22));
  const MatrixD Z = standard_normal_matrix(2, N, prior_rng);
  const MatrixD log_lik = model.log_likelihood_all_pairs(X, Z);  // B x N
  for (Index b = 0; b < B; ++b) {
    const double estimate = log_mean_exp(log_lik.row(b));
    const RowVectorD w = (log_lik.row(b).array() - log_lik.row(b).maxCoeff()).exp();
    const double relative_sd = std::sqrt((w.array() - w.mean()).square().mean()) / w.mean();
    const double se = relative_sd / std::sqrt(static_cast<double>(N));
    EXPECT_LT(std::abs(value(b) - estimate), 4.0 * se + 1e-4) << "datapoint " << b << " se " << se;
  }
}

TEST(ExactMarginalLikelihood, RejectsLatentDimensionAboveThree) {
  Rng rng(1);
  const LinearGaussianModel model = LinearGaussianModel::random(8, 4, 0.5, 1.0, rng);
  const MatrixF X = model.sample(3, rng).data;
  testing::expect_throw_message<std::invalid_argument>([&] { exact_marginal_likelihood(model, X); },
                                                       {"latent dimension is 4", "exponential", "AIS"});
}

TEST(ExactMarginalLikelihood, RejectsDataOfTheWrongDimension) {
  Rng rng(1);
  const LinearGaussianModel model = LinearGaussianModel::random(8, 2, 0.5, 1.0, rng);
  const MatrixF X = MatrixF::Zero(7, 3);
  testing::expect_throw_message<std::invalid_argument>([&] { exact_marginal_likelihood(model, X); },
                                                       {"dimension 7", "expects 8"});
}

TEST(ExactMarginalLikelihood, RejectsBadOptions) {
  Rng rng(1);
  const LinearGaussianModel model = LinearGaussianModel::random(8, 2, 0.5, 1.0, rng);
  const MatrixF X = model.sample(2, rng).data;
  QuadratureOptions options;
  options.refined_nodes_per_dimension = 32;
  testing::expect_throw_message<std::invalid_argument>([&] { exact_marginal_likelihood(model, X, options); },
                                                       {"refined_nodes_per_dimension", "odd", "found 32"});
  options = {};
  options.tolerance = 0.0;
  testing::expect_throw_message<std::invalid_argument>([&] { exact_marginal_likelihood(model, X, options); },
                                                       {"tolerance", "positive"});
}

}  // namespace
}  // namespace vigap
