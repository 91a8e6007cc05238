#include "core/variational/flow_posterior.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/variational/diagonal_gaussian.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

AffineCouplingFlow random_flow(Index d, std::uint64_t seed) {
  AffineCouplingFlowArchitecture a;
  a.latent_dim = d;
  a.num_layers = 3;
  a.hidden_sizes = {8};
  a.log_scale_bound = 1.5;
  AffineCouplingFlow flow(a);
  Rng rng(seed);  // a fixture (e.g. integrated on a fixed grid): fixed, not test_seed
  fill_standard_normal(flow.parameters(), rng);
  flow.parameters() *= 0.4f;
  return flow;
}

FlowPosterior make_posterior(Index d, Index B, bool shared, std::uint64_t seed) {
  Rng rng(seed);  // a fixture: fixed; the draws of the tests take test_seed
  const MatrixD mean = standard_normal_matrix(d, B, rng);
  const MatrixD log_variance = standard_normal_matrix(d, B, rng) * 0.3;
  std::vector<AffineCouplingFlow> flows;
  for (Index b = 0; b < (shared ? 1 : B); ++b) flows.push_back(random_flow(d, seed + 10 + static_cast<std::uint64_t>(b)));
  return FlowPosterior(mean, log_variance, flows);
}

TEST(FlowPosterior, LogDensityOfSamplesEqualsWhatSamplingReports) {
  for (bool shared : {true, false}) {
    const FlowPosterior q = make_posterior(3, 4, shared, 21);
    Rng rng(testing::test_seed(1));
    VectorD reported;
    const Index S = 50;
    const MatrixD Z = q.sample_with_log_density(S, rng, reported);
    ASSERT_EQ(Z.rows(), 3);
    ASSERT_EQ(Z.cols(), 4 * S);
    const VectorD recomputed = q.log_density(Z, S);
    EXPECT_LT((reported - recomputed).cwiseAbs().maxCoeff(), 2e-4) << (shared ? "shared" : "per datapoint");
    // Samples of different datapoints differ in distribution: datapoint 0's density is not datapoint 1's.
    EXPECT_GT((q.log_density(Z.middleCols(S, S).replicate(1, 4), S) - recomputed.segment(S, S).replicate(4, 1))
                  .cwiseAbs()
                  .maxCoeff(),
              0.1);
  }
}

TEST(FlowPosterior, DensityIntegratesToOneIn2D) {
  const FlowPosterior q = make_posterior(2, 2, false, 5);
  // Trapezoid (here: plain Riemann on a wide box, exact to the tails for smooth densities).
  const double half_width = 14.0;
  const Index n = 561;
  const double h = 2.0 * half_width / static_cast<double>(n - 1);
  MatrixD grid(2, n * n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) grid.col(i * n + j) << -half_width + h * static_cast<double>(i), -half_width + h * static_cast<double>(j);
  const VectorD log_q = q.log_density(grid.replicate(1, 2), n * n);
  for (Index b = 0; b < 2; ++b) {
    const double mass = log_q.segment(b * n * n, n * n).array().exp().sum() * h * h;
    EXPECT_NEAR(mass, 1.0, 2e-3) << "datapoint " << b;
  }
}

TEST(FlowPosterior, MatchesTheBaseGaussianWhenTheFlowIsTheIdentity) {
  AffineCouplingFlowArchitecture a;
  a.latent_dim = 2;
  AffineCouplingFlow flow(a);
  Rng rng(testing::test_seed(3));
  flow.initialize(rng);
  const MatrixD mean = standard_normal_matrix(2, 3, rng);
  const MatrixD log_variance = standard_normal_matrix(2, 3, rng);
  const FlowPosterior q(mean, log_variance, {flow});
  const DiagonalGaussian base(mean, log_variance);
  const MatrixD Z = standard_normal_matrix(2, 3 * 7, rng);
  EXPECT_LT((q.log_density(Z, 7) - base.log_density(Z, 7)).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(FlowPosterior, RejectsMismatchedFlowsAndShapes) {
  const MatrixD mean = MatrixD::Zero(2, 3);
  EXPECT_THROW(FlowPosterior(mean, mean, {random_flow(2, 1), random_flow(2, 2)}), std::invalid_argument);
  EXPECT_THROW(FlowPosterior(mean, mean, {random_flow(3, 1)}), std::invalid_argument);
  const FlowPosterior q(mean, mean, {random_flow(2, 1)});
  EXPECT_THROW(q.log_density(MatrixD::Zero(2, 5), 2), std::invalid_argument);
  Rng rng(testing::test_seed(1));
  EXPECT_THROW(q.sample(0, rng), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
