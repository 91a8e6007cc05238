#include "estimators/kl_divergence_quadrature.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "support/linear_gaussian_posteriors.hpp"
#include "core/models/linear_gaussian_model.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/full_covariance_gaussian.hpp"
#include "estimators/exact_marginal_likelihood.hpp"
#include "support/expect_throw_message.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::gaussian_kl;

class KlDivergenceQuadrature : public ::testing::TestWithParam<Index> {};

TEST_P(KlDivergenceQuadrature, DiagonalGaussianMatchesTheClosedFormKl) {
  const Index d = GetParam();
  Rng rng(testing::test_seed(100 + d));
  const LinearGaussianModel model = LinearGaussianModel::random(10, d, 0.4, 1.5, rng);
  const Index B = 20;
  const MatrixF X = model.sample(B, rng).data;
  const MatrixD post_mean = model.posterior_mean(X);
  const MatrixD& post_cov = model.posterior_covariance();
  // q: shifted by up to ±1 posterior sd, variances 0.3x to 3x the marginal posterior variances.
  const MatrixD shift = standard_normal_matrix(d, B, rng) * 0.5;
  const MatrixD log_factor = standard_normal_matrix(d, B, rng) * 0.6;
  const VectorD sd = post_cov.diagonal().cwiseSqrt();
  MatrixD mean = post_mean + sd.asDiagonal() * shift;
  MatrixD log_variance = log_factor;
  log_variance.colwise() += post_cov.diagonal().array().log().matrix();
  const DiagonalGaussian q(mean, log_variance);

  const ExactMarginalLikelihood exact = exact_marginal_likelihood(model, X);
  KlQuadratureOptions options;
  const QuadratureKlDivergence kl = kl_divergence_by_quadrature(model, q, X, exact.log_marginal_likelihood, options, rng);
  EXPECT_EQ(kl.kl_divergence.bias_direction, BiasDirection::exact);
  double worst = 0.0;
  for (Index b = 0; b < B; ++b) {
    const MatrixD Sq = log_variance.col(b).array().exp().matrix().asDiagonal();
    const double truth = gaussian_kl(mean.col(b), Sq, post_mean.col(b), post_cov);
    const double error = std::abs(kl.kl_divergence.per_datapoint(b) - truth);
    worst = std::max(worst, error);
    EXPECT_LT(error, 1e-4) << "datapoint " << b;
    EXPECT_LE(error, kl.kl_divergence.per_datapoint_standard_error(b) + 1e-10) << "datapoint " << b;
    EXPECT_NEAR(kl.approximation_mass(b), 1.0, 1e-6);
    const double true_elbo = model.log_marginal_likelihood(X.col(b))(0) - truth;
    EXPECT_LT(std::abs(kl.elbo.per_datapoint(b) - true_elbo), 1e-4);
    EXPECT_LE(std::abs(kl.elbo.per_datapoint(b) - true_elbo), kl.elbo.per_datapoint_standard_error(b) + 1e-10);
  }
  std::cout << "[ accuracy ] d=" << d << " diagonal q: max |KL error| " << worst << ", max reported "
            << kl.kl_divergence.per_datapoint_standard_error.maxCoeff() << ", mean KL " << kl.kl_divergence.value
            << "\n";
}

TEST_P(KlDivergenceQuadrature, ExactPosteriorHasZeroKl) {
  const Index d = GetParam();
  Rng rng(testing::test_seed(200 + d));
  const LinearGaussianModel model = LinearGaussianModel::random(12, d, 0.3, 3.0, rng);  // sharp posterior
  const Index B = 20;
  const MatrixF X = model.sample(B, rng).data;
  const MatrixD L = model.posterior_covariance().llt().matrixL();
  const FullCovarianceGaussian q(model.posterior_mean(X), std::vector<MatrixD>(B, L));
  const QuadratureKlDivergence kl = kl_divergence_by_quadrature(model, q, X, KlQuadratureOptions{}, rng);
  EXPECT_LT(kl.kl_divergence.per_datapoint.cwiseAbs().maxCoeff(), 1e-4);
  EXPECT_LT((kl.elbo.per_datapoint - model.log_marginal_likelihood(X)).cwiseAbs().maxCoeff(), 1e-4);
  EXPECT_LT((kl.approximation_mass.array() - 1.0).abs().maxCoeff(), 1e-6);
  EXPECT_LE(kl.kl_divergence.per_datapoint.cwiseAbs().maxCoeff(),
            kl.kl_divergence.per_datapoint_standard_error.maxCoeff() + 1e-10);
  std::cout << "[ accuracy ] d=" << d << " exact q: max |KL| " << kl.kl_divergence.per_datapoint.cwiseAbs().maxCoeff()
            << "\n";
}

INSTANTIATE_TEST_SUITE_P(LatentDimensions, KlDivergenceQuadrature, ::testing::Values(1, 2, 3));

/// A sampler without a density.
class SamplesOnly final : public PosteriorApproximation {
 public:
  Index latent_dim() const override { return 2; }
  Index num_datapoints() const override { return 2; }
  std::string describe() const override { return "samples only"; }
  bool has_density() const override { return false; }
  MatrixD sample(Index S, BatchRng& rng) const override { return standard_normal_matrix(2, 2 * S, rng); }
  VectorD log_density(const MatrixD&, Index) const override { throw std::logic_error("no density"); }
};

TEST(KlDivergenceQuadratureErrors, RejectsBadInputs) {
  Rng rng(testing::test_seed(1));
  const LinearGaussianModel model = LinearGaussianModel::random(6, 2, 0.5, 1.0, rng);
  const MatrixF X = model.sample(2, rng).data;
  testing::expect_throw_message<std::invalid_argument>(
      [&] { kl_divergence_by_quadrature(model, SamplesOnly{}, X, KlQuadratureOptions{}, rng); }, {"no density"});
  const DiagonalGaussian three(MatrixD::Zero(2, 3), MatrixD::Zero(2, 3));
  testing::expect_throw_message<std::invalid_argument>(
      [&] { kl_divergence_by_quadrature(model, three, X, KlQuadratureOptions{}, rng); }, {"3 datapoints"});
  const DiagonalGaussian two(MatrixD::Zero(2, 2), MatrixD::Zero(2, 2));
  testing::expect_throw_message<std::invalid_argument>(
      [&] { kl_divergence_by_quadrature(model, two, MatrixF::Zero(5, 2), KlQuadratureOptions{}, rng); },
      {"dimension 5", "expects 6"});
  const LinearGaussianModel model4 = LinearGaussianModel::random(6, 4, 0.5, 1.0, rng);
  const DiagonalGaussian four(MatrixD::Zero(4, 2), MatrixD::Zero(4, 2));
  testing::expect_throw_message<std::invalid_argument>(
      [&] { kl_divergence_by_quadrature(model4, four, X, KlQuadratureOptions{}, rng); }, {"exponential", "AIS"});
  KlQuadratureOptions options;
  options.initial_samples = 1;
  testing::expect_throw_message<std::invalid_argument>(
      [&] { kl_divergence_by_quadrature(model, two, X, options, rng); }, {"initial_samples", "found 1"});
}

}  // namespace
}  // namespace vigap
