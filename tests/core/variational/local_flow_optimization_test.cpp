#include "core/variational/local_flow_optimization.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/models/linear_gaussian_model.hpp"
#include "estimators/exact_marginal_likelihood.hpp"
#include "estimators/kl_divergence_quadrature.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

// p(z) = N(0, I_2), x | z ~ N(W z + b, 0.5² I_3) with W's columns nearly parallel: the posterior
// precision I + WᵀW/σ² = [[9.04, 7.96], [7.96, 9.04]] has correlation -0.88, so the best diagonal
// Gaussian (means exact, variances 1/Λ_jj) stays ½ log(Λ11 Λ22 / |Λ|) = 0.747 nats from p(z|x).
LinearGaussianModel correlated_model() {
  MatrixD W(3, 2);
  W << 1.0, 1.0, 1.0, 1.0, 0.1, -0.1;
  return LinearGaussianModel(W, VectorD::Constant(3, 0.2), 0.5);
}

TEST(LocalFlowOptimization, ClosesTheGapADiagonalGaussianLeavesOnACorrelatedPosterior) {
  const LinearGaussianModel model = correlated_model();
  Rng rng(testing::test_seed(2024));
  const Index B = 2;
  const MatrixF X = model.sample(B, rng).data;
  const MatrixD precision = model.posterior_covariance().inverse();
  const double best_diagonal_kl =
      0.5 * std::log(precision(0, 0) * precision(1, 1) / precision.determinant());
  ASSERT_NEAR(best_diagonal_kl, 0.747, 1e-3);

  // Start where Cremer et al. start: mean 0, log-variance 0.
  const DiagonalGaussian start(MatrixD::Zero(2, B), MatrixD::Zero(2, B));
  LocalFlowOptions options;
  options.flow.num_layers = 2;
  options.flow.hidden_sizes = {16};
  options.samples = 32;
  options.learning_rate = 1e-2;
  options.check_interval = 100;
  options.patience = 5;
  options.max_steps = 3000;
  const LocalFlowOptimizationResult fit = optimize_local_flow(model, X, start, options, rng);
  ASSERT_FALSE(fit.trajectory.empty());
  EXPECT_FALSE(fit.approximation.shares_flow());

  const ExactMarginalLikelihood exact = exact_marginal_likelihood(model, X);
  const QuadratureKlDivergence kl =
      kl_divergence_by_quadrature(model, fit.approximation, X, exact.log_marginal_likelihood, KlQuadratureOptions{}, rng);
  const VectorD truth_log_p = model.log_marginal_likelihood(X);
  for (Index b = 0; b < B; ++b) {
    const double value = kl.kl_divergence.per_datapoint(b);
    const double error = kl.kl_divergence.per_datapoint_standard_error(b);
    RecordProperty("kl_flow_" + std::to_string(b), std::to_string(value));
    std::printf("datapoint %lld: KL(local flow || p(z|x)) = %.4f ± %.1e nats, best diagonal %.4f; steps %lld\n",
                static_cast<long long>(b), value, error, best_diagonal_kl, static_cast<long long>(fit.steps));
    EXPECT_GE(value, -error - 1e-6);  // a KL
    // The flow family is richer: well under the diagonal family's optimum.
    EXPECT_LT(value + 4.0 * error, 0.1 * best_diagonal_kl) << "datapoint " << b;
    EXPECT_NEAR(kl.approximation_mass(b), 1.0, 1e-3);
    // The windowed training ELBO is a noisy, optimistic but close estimate of the true ELBO.
    EXPECT_NEAR(fit.best_window_elbo(b), truth_log_p(b) - value, 0.1);
  }
}

TEST(LocalFlowOptimization, StopsByThePatienceRuleAndValidatesOptions) {
  const LinearGaussianModel model = correlated_model();
  Rng rng(testing::test_seed(7));
  const MatrixF X = model.sample(3, rng).data;
  const DiagonalGaussian start(MatrixD::Zero(2, 3), MatrixD::Zero(2, 3));
  LocalFlowOptions options;
  options.flow.num_layers = 1;
  options.flow.hidden_sizes = {4};
  options.samples = 4;
  options.learning_rate = 3e-2;
  options.check_interval = 20;
  options.patience = 3;
  options.max_steps = 20000;
  const LocalFlowOptimizationResult fit = optimize_local_flow(model, X, start, options, rng);
  ASSERT_FALSE(fit.trajectory.empty());
  EXPECT_GE(fit.steps, options.check_interval * (options.patience + 1));
  EXPECT_TRUE(fit.converged);
  EXPECT_LT(fit.steps, options.max_steps);
  EXPECT_EQ(fit.trajectory.back().active_datapoints, 0);
  for (Index s : fit.stopped_at_step) EXPECT_LE(s, fit.steps);
  EXPECT_EQ(fit.steps % options.check_interval, 0);

  LocalFlowOptions bad;
  bad.samples = 0;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
  bad = {};
  bad.patience = 0;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
  bad = {};
  bad.learning_rate = 0.0;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
  EXPECT_THROW(optimize_local_flow(model, X, DiagonalGaussian(MatrixD::Zero(2, 2), MatrixD::Zero(2, 2)), options, rng),
               std::invalid_argument);
}

}  // namespace
}  // namespace vigap
