#include "core/models/linear_gaussian_model.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/math/log_sum_exp.hpp"
#include "support/finite_difference.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

// Brute-force Riemann sum of p(x, z) on a fine grid over [-L, L]^d (d = 1 or 2): returns
// log p(x), the posterior mean and the posterior covariance, independent of the closed forms.
struct BruteForce {
  double log_marginal;
  VectorD mean;
  MatrixD covariance;
};

BruteForce integrate_on_grid(const LinearGaussianModel& model, const MatrixF& x, Index nodes, double half_width) {
  const Index d = model.latent_dim();
  const double h = 2.0 * half_width / static_cast<double>(nodes - 1);
  const Index G = d == 1 ? nodes : nodes * nodes;
  MatrixD Z(d, G);
  for (Index g = 0; g < G; ++g) {
    Z(0, g) = -half_width + h * static_cast<double>(g % nodes);
    if (d == 2) Z(1, g) = -half_width + h * static_cast<double>(g / nodes);
  }
  const VectorD log_joint = model.log_joint(x.replicate(1, 1), Z, G);
  const double log_cell = static_cast<double>(d) * std::log(h);
  BruteForce r;
  r.log_marginal = log_sum_exp(log_joint) + log_cell;
  const VectorD weights = (log_joint.array() + log_cell - r.log_marginal).exp();
  r.mean = Z * weights;
  MatrixD centered = Z.colwise() - r.mean;
  r.covariance = centered * weights.asDiagonal() * centered.transpose();
  return r;
}

TEST(LinearGaussianModel, ClosedFormsMatchNumericalIntegrationIn1D) {
  Rng rng(testing::test_seed(11));
  const LinearGaussianModel model = LinearGaussianModel::random(5, 1, 0.7, 0.8, rng);
  const ModelSample data = model.sample(4, rng);
  const VectorD log_marginal = model.log_marginal_likelihood(data.data);
  const MatrixD mean = model.posterior_mean(data.data);
  for (Index b = 0; b < 4; ++b) {
    const BruteForce truth = integrate_on_grid(model, data.data.col(b), 4001, 10.0);
    EXPECT_NEAR(log_marginal(b), truth.log_marginal, 1e-8);
    EXPECT_NEAR(mean(0, b), truth.mean(0), 1e-8);
    EXPECT_NEAR(model.posterior_covariance()(0, 0), truth.covariance(0, 0), 1e-8);
  }
}

TEST(LinearGaussianModel, ClosedFormsMatchNumericalIntegrationIn2D) {
  Rng rng(testing::test_seed(12));
  const LinearGaussianModel model = LinearGaussianModel::random(6, 2, 0.9, 0.6, rng);
  const ModelSample data = model.sample(3, rng);
  const VectorD log_marginal = model.log_marginal_likelihood(data.data);
  const MatrixD mean = model.posterior_mean(data.data);
  for (Index b = 0; b < 3; ++b) {
    const BruteForce truth = integrate_on_grid(model, data.data.col(b), 801, 8.0);
    EXPECT_NEAR(log_marginal(b), truth.log_marginal, 1e-7);
    EXPECT_LT((mean.col(b) - truth.mean).norm(), 1e-7);
    EXPECT_LT((model.posterior_covariance() - truth.covariance).norm(), 1e-7);
  }
}

TEST(LinearGaussianModel, LogMarginalIsTheDenseGaussianDensity) {
  // Independent check in higher dimension: N(x; b, WWᵀ + σ²I) by a dense Cholesky.
  Rng rng(testing::test_seed(5));
  const LinearGaussianModel model = LinearGaussianModel::random(12, 4, 0.5, 1.0, rng);
  const ModelSample data = model.sample(3, rng);
  const MatrixD C = model.weight() * model.weight().transpose() +
                    0.25 * MatrixD::Identity(12, 12);
  Eigen::LLT<MatrixD> llt(C);
  const double log_det = 2.0 * llt.matrixL().toDenseMatrix().diagonal().array().log().sum();
  const VectorD values = model.log_marginal_likelihood(data.data);
  for (Index b = 0; b < 3; ++b) {
    const VectorD r = data.data.col(b).cast<double>() - model.bias();
    const double expected = -0.5 * (r.dot(llt.solve(r)) + log_det + 12.0 * std::log(2.0 * std::numbers::pi));
    EXPECT_NEAR(values(b), expected, 1e-9);
  }
}

TEST(LinearGaussianModel, GradientAndAllPairsAgreeWithLogLikelihood) {
  Rng rng(testing::test_seed(8));
  const LinearGaussianModel model = LinearGaussianModel::random(7, 3, 0.8, 1.0, rng);
  const ModelSample data = model.sample(2, rng);
  const MatrixD Z = standard_normal_matrix(3, 2 * 4, rng);
  MatrixD grad;
  const VectorD values = model.log_likelihood_with_gradient(data.data, Z, 4, grad);
  EXPECT_TRUE(values.isApprox(model.log_likelihood(data.data, Z, 4)));
  const VectorD z_flat = Eigen::Map<const VectorD>(Z.data(), Z.size());
  std::function<double(const VectorD&)> f = [&](const VectorD& z) {
    return model.log_likelihood(data.data, Eigen::Map<const MatrixD>(z.data(), 3, 8), 4).sum();
  };
  testing::expect_gradient_matches_finite_differences(f, z_flat, Eigen::Map<const VectorD>(grad.data(), grad.size()),
                                                      1e-5, 1e-6, 1e-6, z_flat.size(), "linear-Gaussian dlogp/dz");
  const MatrixD pairs = model.log_likelihood_all_pairs(data.data, Z);
  for (Index b = 0; b < 2; ++b)
    EXPECT_TRUE(pairs.row(b).transpose().isApprox(model.log_likelihood(data.data.col(b), Z, 8), 1e-10));
}

TEST(LinearGaussianModel, RejectsBadArguments) {
  EXPECT_THROW(LinearGaussianModel(MatrixD::Ones(3, 2), VectorD::Zero(3), 0.0), std::invalid_argument);
  EXPECT_THROW(LinearGaussianModel(MatrixD::Ones(3, 2), VectorD::Zero(2), 1.0), std::invalid_argument);
  Rng rng(testing::test_seed(1));
  const LinearGaussianModel model = LinearGaussianModel::random(3, 2, 1.0, 1.0, rng);
  EXPECT_THROW(model.log_likelihood(MatrixF::Zero(4, 1), MatrixD::Zero(2, 1), 1), std::invalid_argument);
  EXPECT_THROW(model.log_likelihood(MatrixF::Zero(3, 2), MatrixD::Zero(2, 3), 1), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
