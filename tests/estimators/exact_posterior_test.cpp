#include "estimators/exact_posterior.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/models/linear_gaussian_model.hpp"
#include "estimators/quadrature_grid.hpp"
#include "support/expect_throw_message.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

struct Problem {
  LinearGaussianModel model;
  MatrixF X;
};

Problem make_problem(Index d, Index D, double sigma, double weight_scale, Index B, std::uint64_t seed) {
  Rng rng(testing::test_seed(seed));
  LinearGaussianModel model = LinearGaussianModel::random(D, d, sigma, weight_scale, rng);
  MatrixF X = model.sample(B, rng).data;
  return Problem{std::move(model), std::move(X)};
}

TEST(ExactPosterior, MomentsAndLogMarginalLikelihoodMatchTheClosedForm) {
  const Problem p = make_problem(2, 10, 0.4, 1.5, 20, 5);
  const ExactPosterior posterior(p.model, p.X);
  EXPECT_EQ(posterior.latent_dim(), 2);
  EXPECT_EQ(posterior.num_datapoints(), 20);
  const VectorD sd = p.model.posterior_covariance().diagonal().cwiseSqrt();
  EXPECT_LT((posterior.log_marginal_likelihood().per_datapoint - p.model.log_marginal_likelihood(p.X))
                .cwiseAbs()
                .maxCoeff(),
            1e-4);
  EXPECT_LT((posterior.mean() - p.model.posterior_mean(p.X)).cwiseAbs().maxCoeff(), 1e-4 * sd.minCoeff());
  for (const MatrixD& c : posterior.covariance())
    EXPECT_LT((c - p.model.posterior_covariance()).cwiseAbs().maxCoeff(), 1e-4 * sd.minCoeff() * sd.minCoeff());
}

TEST(ExactPosterior, LogDensityIsTheClosedFormAndIntegratesToOne) {
  for (Index d = 1; d <= 3; ++d) {
    const Problem p = make_problem(d, 8, 0.5, 1.0, 4, 40 + d);
    const ExactPosterior posterior(p.model, p.X);
    // Against the closed-form Gaussian posterior at its own draws.
    Rng rng(testing::test_seed(3));
    const MatrixD L = p.model.posterior_covariance().llt().matrixL();
    const FullCovarianceGaussian truth(p.model.posterior_mean(p.X), std::vector<MatrixD>(4, L));
    const MatrixD Z = truth.sample(50, rng);
    EXPECT_LT((posterior.log_density(Z, 50) - truth.log_density(Z, 50)).cwiseAbs().maxCoeff(), 1e-6) << "d=" << d;
    // ∫ p(z|x) dz on an independent trapezoid grid around each posterior.
    const QuadratureGrid unit = trapezoid_grid(d, 8.0, d == 3 ? 41 : 81);
    for (Index b = 0; b < 4; ++b) {
      MatrixD nodes = L * unit.nodes;
      nodes.colwise() += posterior.mean().col(b);
      const double log_jacobian = L.diagonal().array().log().sum();
      const MatrixD on_grid = posterior.log_density_on_grid(nodes);  // 4 x G
      const double mass = (on_grid.row(b).transpose() + unit.log_weights).array().exp().sum() * std::exp(log_jacobian);
      EXPECT_NEAR(mass, 1.0, 1e-6) << "d=" << d << " datapoint " << b;
      // log_density_on_grid agrees with log_density.
      MatrixD Zb(d, 4 * 3);
      for (Index c = 0; c < 4; ++c) Zb.middleCols(3 * c, 3) = nodes.leftCols(3);
      const VectorD direct = posterior.log_density(Zb, 3);
      for (Index s = 0; s < 3; ++s) EXPECT_NEAR(direct(3 * b + s), on_grid(b, s), 1e-9);
    }
  }
}

TEST(ExactPosterior, SamplesHaveThePosteriorMeanAndCovariance) {
  for (Index d = 1; d <= 3; ++d) {
    const Problem p = make_problem(d, 12, 0.3, 2.0, 3, 60 + d);
    const ExactPosterior posterior(p.model, p.X);
    const Index S = 20000;
    Rng rng(testing::test_seed(9));
    const MatrixD Z = posterior.sample(S, rng);
    ASSERT_EQ(Z.rows(), d);
    ASSERT_EQ(Z.cols(), 3 * S);
    const MatrixD& cov = p.model.posterior_covariance();
    const MatrixD true_mean = p.model.posterior_mean(p.X);
    for (Index b = 0; b < 3; ++b) {
      const MatrixD block = Z.middleCols(b * S, S);
      const VectorD mean = block.rowwise().mean();
      const MatrixD centered = block.colwise() - mean;
      const MatrixD sample_cov = centered * centered.transpose() / static_cast<double>(S - 1);
      for (Index i = 0; i < d; ++i) {
        // Mean: se = sd / sqrt(S). Variance: se ≈ var sqrt(2 / S) for near-Gaussian draws.
        EXPECT_LT(std::abs(mean(i) - true_mean(i, b)), 4.0 * std::sqrt(cov(i, i) / S)) << "d=" << d << " b=" << b;
        for (Index j = 0; j < d; ++j) {
          const double se = std::sqrt((cov(i, i) * cov(j, j) + cov(i, j) * cov(i, j)) / S);
          EXPECT_LT(std::abs(sample_cov(i, j) - cov(i, j)), 4.0 * se) << "d=" << d << " b=" << b << " (" << i << j << ")";
        }
      }
    }
  }
}

TEST(ExactPosterior, MomentMatchedGaussianIsThePosterior) {
  const Problem p = make_problem(2, 10, 0.5, 1.0, 5, 8);
  const ExactPosterior posterior(p.model, p.X);
  const FullCovarianceGaussian gaussian = posterior.moment_matched_gaussian();
  Rng rng(testing::test_seed(1));
  const MatrixD Z = gaussian.sample(10, rng);
  EXPECT_LT((gaussian.log_density(Z, 10) - posterior.log_density(Z, 10)).cwiseAbs().maxCoeff(), 1e-6);
}

TEST(ExactPosterior, RejectsBadInputs) {
  const Problem p4 = make_problem(4, 10, 0.5, 1.0, 2, 1);
  testing::expect_throw_message<std::invalid_argument>([&] { ExactPosterior(p4.model, p4.X); },
                                                       {"exponential", "AIS"});
  const Problem p = make_problem(2, 10, 0.5, 1.0, 2, 1);
  testing::expect_throw_message<std::invalid_argument>([&] { ExactPosterior(p.model, MatrixF::Zero(9, 2)); },
                                                       {"dimension 9", "expects 10"});
  ExactPosteriorOptions options;
  options.sampling_nodes_per_dimension = 10;
  testing::expect_throw_message<std::invalid_argument>([&] { ExactPosterior(p.model, p.X, options); },
                                                       {"sampling_nodes_per_dimension", "found 10"});
  const ExactPosterior posterior(p.model, p.X);
  testing::expect_throw_message<std::invalid_argument>([&] { posterior.log_density(MatrixD::Zero(2, 5), 2); },
                                                       {"ExactPosterior::log_density"});
  testing::expect_throw_message<std::invalid_argument>([&] { posterior.log_density_on_grid(MatrixD::Zero(3, 5)); },
                                                       {"latent dimension is 2"});
}

}  // namespace
}  // namespace vigap
