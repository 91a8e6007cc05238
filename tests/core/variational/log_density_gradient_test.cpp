// PosteriorApproximation::log_density_with_gradient of every family that has one, against finite
// differences of log_density, and the flow's inverse backward pass it rests on.
#include <gtest/gtest.h>

#include <functional>

#include "core/variational/affine_coupling_flow.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/flow_posterior.hpp"
#include "core/variational/full_covariance_gaussian.hpp"
#include "support/expect_throw_message.hpp"
#include "support/finite_difference.hpp"
#include "support/samples_only_approximation.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

AffineCouplingFlow random_flow(Index d, std::uint64_t seed) {
  AffineCouplingFlow flow(AffineCouplingFlowArchitecture{d, 3, {6}, Activation::tanh, 1.5});
  Rng rng(testing::test_seed(seed));
  fill_standard_normal(flow.parameters(), rng);
  flow.parameters() *= 0.4f;
  return flow;
}

/// Checks grad_Z of q at Z (S per datapoint) against central differences of q.log_density, and
/// that log_density_with_gradient's values are log_density's bits.
void expect_gradient_of_log_density(const PosteriorApproximation& q, const MatrixD& Z, Index S, double step,
                                    double absolute, double relative, const std::string& what) {
  ASSERT_TRUE(q.has_density_gradient()) << what;
  MatrixD grad_Z;
  const VectorD values = q.log_density_with_gradient(Z, S, grad_Z);
  const VectorD reference = q.log_density(Z, S);
  ASSERT_EQ(values.size(), reference.size()) << what;
  for (Index c = 0; c < values.size(); ++c) EXPECT_EQ(values(c), reference(c)) << what << ", column " << c;
  ASSERT_EQ(grad_Z.rows(), Z.rows());
  ASSERT_EQ(grad_Z.cols(), Z.cols());
  // F(Z) = Σ_c log q(z_c): its gradient is grad_Z, column by column.
  const std::function<double(const VectorD&)> f = [&](const VectorD& z) {
    return q.log_density(Eigen::Map<const MatrixD>(z.data(), Z.rows(), Z.cols()), S).sum();
  };
  const VectorD z_flat = Eigen::Map<const VectorD>(Z.data(), Z.size());
  const VectorD g_flat = Eigen::Map<const VectorD>(grad_Z.data(), grad_Z.size());
  testing::expect_gradient_matches_finite_differences<VectorD>(f, z_flat, g_flat, step, absolute, relative, 60, what);
}

TEST(LogDensityGradient, DiagonalGaussianMatchesFiniteDifferences) {
  Rng rng(testing::test_seed(1));
  const Index d = 3, B = 2, S = 4;
  const DiagonalGaussian q(standard_normal_matrix(d, B, rng), 0.5 * standard_normal_matrix(d, B, rng));
  expect_gradient_of_log_density(q, standard_normal_matrix(d, B * S, rng), S, 1e-5, 1e-6, 1e-6, "diagonal Gaussian");
}

TEST(LogDensityGradient, FullCovarianceGaussianMatchesFiniteDifferences) {
  Rng rng(testing::test_seed(2));
  const Index d = 3, B = 2, S = 4;
  std::vector<MatrixD> factors;
  for (Index b = 0; b < B; ++b) {
    MatrixD L = 0.3 * standard_normal_matrix(d, d, rng);
    L = L.triangularView<Eigen::Lower>();
    L.diagonal() = (0.3 * standard_normal_matrix(d, 1, rng)).array().exp().matrix();
    factors.push_back(L);
  }
  const FullCovarianceGaussian q(standard_normal_matrix(d, B, rng), factors);
  expect_gradient_of_log_density(q, standard_normal_matrix(d, B * S, rng), S, 1e-5, 1e-6, 1e-6,
                                 "full-covariance Gaussian");
}

TEST(LogDensityGradient, FlowPosteriorMatchesFiniteDifferencesSharedAndPerDatapoint) {
  Rng rng(testing::test_seed(3));
  const Index d = 3, B = 2, S = 4;
  const MatrixD mean = standard_normal_matrix(d, B, rng);
  const MatrixD log_variance = 0.3 * standard_normal_matrix(d, B, rng);
  const MatrixD Z = standard_normal_matrix(d, B * S, rng);
  // Float flows: differences of float log-densities, hence the step and tolerances of the flow's own tests.
  const FlowPosterior shared(mean, log_variance, {random_flow(d, 11)});
  expect_gradient_of_log_density(shared, Z, S, 1e-2, 2e-3, 1e-2, "flow posterior, shared flow");
  const FlowPosterior per_datapoint(mean, log_variance, {random_flow(d, 12), random_flow(d, 13)});
  expect_gradient_of_log_density(per_datapoint, Z, S, 1e-2, 2e-3, 1e-2, "flow posterior, one flow per datapoint");
}

TEST(LogDensityGradient, FlowAtIdentityHasTheBaseGaussiansGradient) {
  Rng rng(testing::test_seed(4));
  const Index d = 2, B = 3, S = 2;
  const MatrixD mean = standard_normal_matrix(d, B, rng);
  const MatrixD log_variance = 0.3 * standard_normal_matrix(d, B, rng);
  AffineCouplingFlowArchitecture a;
  a.latent_dim = d;
  AffineCouplingFlow identity(a);
  Rng init(testing::test_seed(5));
  identity.initialize(init);
  const FlowPosterior flow(mean, log_variance, {identity});
  const DiagonalGaussian base(mean, log_variance);
  const MatrixD Z = standard_normal_matrix(d, B * S, rng);
  MatrixD flow_gradient, base_gradient;
  flow.log_density_with_gradient(Z, S, flow_gradient);
  base.log_density_with_gradient(Z, S, base_gradient);
  EXPECT_LT((flow_gradient - base_gradient).cwiseAbs().maxCoeff(), 1e-4 * (1.0 + base_gradient.cwiseAbs().maxCoeff()));
}

TEST(LogDensityGradient, InverseWithWorkspaceGivesTheSameBitsAsInverse) {
  const AffineCouplingFlow flow = random_flow(3, 21);
  Rng rng(testing::test_seed(6));
  MatrixF Z(3, 70);  // more than one column block
  fill_standard_normal(Z, rng);
  MatrixF Z0, Z0_kept;
  VectorD log_det, log_det_kept;
  flow.inverse(Z, Z0, log_det);
  AffineCouplingFlow::Workspace ws;
  flow.inverse(Z, ws, Z0_kept, log_det_kept);
  EXPECT_TRUE(Z0 == Z0_kept);
  EXPECT_TRUE(log_det == log_det_kept);
}

TEST(LogDensityGradient, InverseBackwardMatchesFiniteDifferences) {
  // F(Z) = Σ R ⊙ T⁻¹(Z) + Σ_n r_n log_det_n(T⁻¹(Z)) with fixed random R, r.
  const Index d = 3, N = 5;
  const AffineCouplingFlow flow = random_flow(d, 31);
  Rng rng(testing::test_seed(7));
  MatrixF Z(d, N), R(d, N);
  VectorF r(N);
  fill_standard_normal(Z, rng);
  fill_standard_normal(R, rng);
  fill_standard_normal(r, rng);
  AffineCouplingFlow::Workspace ws;
  MatrixF Z0, grad_Z;
  VectorD log_det;
  flow.inverse(Z, ws, Z0, log_det);
  flow.inverse_backward(ws, R, r, grad_Z);
  const std::function<double(const VectorF&)> f = [&](const VectorF& z) {
    MatrixF x;
    VectorD ld;
    flow.inverse(Eigen::Map<const MatrixF>(z.data(), d, N), x, ld);
    return (R.cast<double>().array() * x.cast<double>().array()).sum() + r.cast<double>().dot(ld);
  };
  const VectorF z_flat = Eigen::Map<const VectorF>(Z.data(), Z.size());
  const VectorF g_flat = Eigen::Map<const VectorF>(grad_Z.data(), grad_Z.size());
  testing::expect_gradient_matches_finite_differences<VectorF>(f, z_flat, g_flat, 1e-2, 2e-3, 1e-2, 100,
                                                               "flow inverse input");
}

TEST(LogDensityGradient, ApproximationsWithoutOneSayWhatTheyLack) {
  const testing::SamplesOnlyApproximation samples(1, 1, "samples only");
  MatrixD grad;
  EXPECT_FALSE(samples.has_density_gradient());
  testing::expect_throw_message<std::invalid_argument>(
      [&] { samples.log_density_with_gradient(MatrixD::Zero(1, 1), 1, grad); }, {"\"samples only\" has no density"});
  EXPECT_FALSE(samples.has_closed_form_kl_to_standard_normal());
  testing::expect_throw_message<std::invalid_argument>([&] { samples.kl_to_standard_normal(); },
                                                       {"\"samples only\" has no closed-form KL to N(0, I)"});
  const FullCovarianceGaussian full(MatrixD::Zero(1, 1), {MatrixD::Identity(1, 1)}, "full");
  EXPECT_FALSE(full.has_closed_form_kl_to_standard_normal());
  const DiagonalGaussian diagonal(MatrixD::Zero(1, 1), MatrixD::Zero(1, 1));
  EXPECT_TRUE(diagonal.has_closed_form_kl_to_standard_normal());
}

}  // namespace
}  // namespace vigap
