// The 2-D posterior comparison in process, on the linear-Gaussian model, whose posterior is the
// Gaussian N(E[z|x], Σ) in closed form: log p(x), the moments, every density on the grid, the
// exact density's mass on its grid, KL(q‖p) and KL(q*‖p) against the Gaussian KL, the HMC mean
// within its Monte Carlo error, and a datapoint's results not depending on the others in the batch.
#include "analyses/posterior_2d.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "support/expect_throw_message.hpp"
#include "support/linear_gaussian_posteriors.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::gaussian_kl;

constexpr Index kB = 3;

/// Small settings: a 41 x 41 grid, short HMC, a short q* fit.
Posterior2dOptions small_options() {
  Posterior2dOptions o;
  o.grid_nodes = 41;
  o.hmc.chains = 2;
  o.hmc.warmup = 200;
  o.hmc.draws = 200;
  o.local.max_steps = 600;
  o.mmd_samples = 300;
  o.json_draws = 100;
  return o;
}

/// log N(z; m, S) for every column of Z.
VectorD gaussian_log_density(const MatrixD& Z, const VectorD& m, const MatrixD& S) {
  const Eigen::LLT<MatrixD> llt(S);
  const double log_det = 2.0 * llt.matrixLLT().diagonal().array().log().sum();
  VectorD out(Z.cols());
  for (Index c = 0; c < Z.cols(); ++c) {
    const VectorD u = llt.matrixL().solve(Z.col(c) - m);
    out(c) = -0.5 * (u.squaredNorm() + log_det + static_cast<double>(m.size()) * std::log(2.0 * std::numbers::pi));
  }
  return out;
}

MatrixD grid_points(const Posterior2dDatapoint& p) {
  MatrixD Z(2, p.z1.size() * p.z2.size());
  for (Index j = 0; j < p.z2.size(); ++j)
    for (Index i = 0; i < p.z1.size(); ++i) Z.col(i + p.z1.size() * j) << p.z1(i), p.z2(j);
  return Z;
}

TEST(Posterior2d, EveryQuantityAgreesWithItsClosedFormOnALinearGaussianModel) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, kB, 71);
  const DiagonalGaussian q = problem.shifted_diagonal(0.7, 2.0);  // a poor "encoder"
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(72), 5, kB);
  const Posterior2dOptions options = small_options();
  const Posterior2dComparison result = compute_posterior_2d_comparison(problem.model, q, problem.X, options, streams);

  ASSERT_EQ(result.datapoints.size(), static_cast<std::size_t>(kB));
  const double quadrature_error = 10.0 * options.exact.quadrature.tolerance;
  const MatrixD& covariance = problem.model.posterior_covariance();
  const VectorD sd = covariance.diagonal().cwiseSqrt();
  for (Index b = 0; b < kB; ++b) {
    const Posterior2dDatapoint& p = result.datapoints[static_cast<std::size_t>(b)];
    EXPECT_EQ(p.datapoint, 5 + b);
    EXPECT_NEAR(p.log_marginal_likelihood, problem.log_marginal_likelihood(b), quadrature_error) << b;
    EXPECT_LT((p.posterior_mean - problem.posterior_mean.col(b)).cwiseAbs().maxCoeff(), 1e-4 * sd.minCoeff()) << b;
    EXPECT_LT((p.posterior_covariance - covariance).cwiseAbs().maxCoeff(), 1e-4 * sd.minCoeff() * sd.minCoeff()) << b;

    // The grid is centred on E[z|x] and its three densities are the closed-form ones.
    ASSERT_EQ(p.z1.size(), options.grid_nodes);
    EXPECT_NEAR(p.z1(20), p.posterior_mean(0), 1e-12);
    EXPECT_NEAR(p.z2(20), p.posterior_mean(1), 1e-12);
    const MatrixD Z = grid_points(p);
    const VectorD exact = gaussian_log_density(Z, problem.posterior_mean.col(b), covariance);
    const MatrixD q_covariance = q.log_variance().col(b).array().exp().matrix().asDiagonal();
    EXPECT_LT((p.log_exact - exact).cwiseAbs().maxCoeff(), quadrature_error) << b;  // log p(x)'s error only
    EXPECT_LT((p.log_q - gaussian_log_density(Z, q.mean().col(b), q_covariance)).cwiseAbs().maxCoeff(), 1e-9) << b;
    EXPECT_LT((p.log_q_star - gaussian_log_density(Z, p.q_star_mean, p.q_star_covariance)).cwiseAbs().maxCoeff(), 1e-9)
        << b;
    // ±5 posterior sd per axis holds all but ~1e-6 of the mass; the midpoint sum is exact to far less.
    EXPECT_NEAR(p.exact_mass_on_grid, 1.0, 1e-4) << b;
    EXPECT_NEAR(p.cell_area, (p.z1(1) - p.z1(0)) * (p.z2(1) - p.z2(0)), 1e-15);

    // KL(q‖p) and KL(q*‖p) by quadrature against the Gaussian KL, within the reported error estimate.
    const double kl_q = gaussian_kl(q.mean().col(b), q_covariance, problem.posterior_mean.col(b), covariance);
    const double kl_q_star = gaussian_kl(p.q_star_mean, p.q_star_covariance, problem.posterior_mean.col(b), covariance);
    EXPECT_NEAR(p.kl_q, kl_q, p.kl_q_error + quadrature_error) << b;
    EXPECT_NEAR(p.kl_q_star, kl_q_star, p.kl_q_star_error + quadrature_error) << b;
    EXPECT_GT(kl_q, 0.1) << b;
    // q* started at q and keeps the better of its start and its best iterate: far better here.
    EXPECT_LT(p.kl_q_star, 0.5 * p.kl_q) << b;

    // HMC: the mean error in whitened coordinates is ~ sqrt(χ²₂ / ESS); χ²₂'s 1 - 1e-4 quantile is
    // 18.4, doubled for the ESS estimate's own error.
    ASSERT_EQ(p.hmc_draws.cols(), options.hmc.chains * options.hmc.draws);
    EXPECT_LT(p.mean_error_in_posterior_sd, std::sqrt(2.0 * 18.4 / p.bulk_ess.minCoeff())) << b;
    for (const double tv : {p.total_variation, p.total_variation_iid}) {
      EXPECT_GE(tv, 0.0) << b;
      EXPECT_LE(tv, 1.0) << b;
    }
  }
  EXPECT_EQ(result.exact_unconverged_datapoints, 0);
  EXPECT_GT(result.hmc_gradient_evaluations_per_datapoint, 0);

  const nlohmann::ordered_json json = result.results_json({4, 8, 1});
  ASSERT_EQ(json["datapoints"].size(), static_cast<std::size_t>(kB));
  EXPECT_EQ(json["datapoints"][1]["label"], 8);
  EXPECT_EQ(json["datapoints"][1]["datapoint"], 6);
  EXPECT_EQ(json["datapoints"][0]["hmc"]["draws"]["z1"].size(), 100u);
  EXPECT_EQ(json["datapoints"][0]["log_density"]["q_star"].size(), 41u);
  EXPECT_FALSE(result.results_json()["datapoints"][0].contains("label"));
  const std::string markdown = result.to_markdown();
  for (const char* fragment : {"| datapoint", "KL(q*‖p)", "| 7 ", "gradient evaluations per datapoint"})
    EXPECT_NE(markdown.find(fragment), std::string::npos) << fragment;
  EXPECT_TRUE(result.timings_json().contains("hmc_seconds"));
}

TEST(Posterior2d, ADatapointDoesNotDependOnTheOthersInTheBatch) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, kB, 73);
  const DiagonalGaussian q = problem.shifted_diagonal(0.5, 1.5);
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(74), 0, kB);
  Posterior2dOptions options = small_options();
  options.hmc.warmup = options.hmc.draws = 100;
  const Posterior2dComparison all = compute_posterior_2d_comparison(problem.model, q, problem.X, options, streams);
  const MatrixF last = problem.X.rightCols(1);
  const DiagonalGaussian last_q(q.mean().rightCols(1), q.log_variance().rightCols(1));
  const Posterior2dComparison alone = compute_posterior_2d_comparison(problem.model, last_q, last, options, streams.slice(kB - 1, 1));
  const Posterior2dDatapoint& a = all.datapoints.back();
  const Posterior2dDatapoint& b = alone.datapoints.front();
  EXPECT_EQ(a.datapoint, b.datapoint);
  EXPECT_EQ(a.log_marginal_likelihood, b.log_marginal_likelihood);
  EXPECT_EQ(a.kl_q, b.kl_q);
  EXPECT_EQ(a.kl_q_star, b.kl_q_star);
  EXPECT_EQ(a.q_star_mean, b.q_star_mean);
  EXPECT_EQ(a.hmc_draws, b.hmc_draws);
  EXPECT_EQ(a.log_exact, b.log_exact);
  EXPECT_EQ(a.total_variation_iid, b.total_variation_iid);
  EXPECT_EQ(a.mmd_squared, b.mmd_squared);
}

TEST(Posterior2d, BadInputIsRejectedWithTheOptionsName) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, 2, 75);
  const DiagonalGaussian q = problem.shifted_diagonal(0.5, 1.5);
  const RandomStreams streams = RandomStreams::consecutive(1, 0, 2);
  Posterior2dOptions options = small_options();
  options.grid_nodes = 40;
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_posterior_2d_comparison(problem.model, q, problem.X, options, streams); }, {"--grid-nodes", "40"});
  options = small_options();
  options.grid_half_width = 0.5;
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_posterior_2d_comparison(problem.model, q, problem.X, options, streams); }, {"--grid-half-width must be >= 1"});
  options = small_options();
  options.local.family = LocalGaussianFamily::diagonal;
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_posterior_2d_comparison(problem.model, q, problem.X, options, streams); }, {"local.family", "full_covariance"});
  const auto three = testing::make_linear_gaussian_posteriors(3, 2, 76);
  const DiagonalGaussian q3 = three.shifted_diagonal(0.5, 1.5);
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_posterior_2d_comparison(three.model, q3, three.X, small_options(), streams); }, {"latent dimension 2", "3"});
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_posterior_2d_comparison(problem.model, q, problem.X, small_options(), streams.slice(0, 1)); }, {"compute_posterior_2d_comparison"});
}

}  // namespace
}  // namespace vigap
