#include "core/variational/affine_coupling_flow.hpp"

#include <gtest/gtest.h>

#include "support/finite_difference.hpp"
#include "support/test_seed.hpp"
#include "support/thread_count.hpp"

namespace vigap {
namespace {

AffineCouplingFlow random_flow(Index d, Index layers, std::vector<Index> hidden, Activation activation,
                               std::uint64_t seed, float scale = 0.4f) {
  AffineCouplingFlowArchitecture a;
  a.latent_dim = d;
  a.num_layers = layers;
  a.hidden_sizes = std::move(hidden);
  a.activation = activation;
  a.log_scale_bound = 2.0;
  AffineCouplingFlow flow(a);
  Rng rng(testing::test_seed(seed));
  fill_standard_normal(flow.parameters(), rng);
  flow.parameters() *= scale;
  return flow;
}

// F(θ, Z0) = Σ R ⊙ T(Z0) + Σ_n r_n log_det_n with fixed random R, r: the backward pass gives ∂F/∂θ and ∂F/∂Z0.
struct Probe {
  MatrixF R;
  VectorF r;
  double operator()(const AffineCouplingFlow& flow, const MatrixF& Z0) const {
    AffineCouplingFlow::Workspace ws;
    MatrixF Z;
    VectorD log_det;
    flow.forward(Z0, ws, Z, log_det);
    return (R.cast<double>().array() * Z.cast<double>().array()).sum() + r.cast<double>().dot(log_det);
  }
};

class AffineCouplingFlowGradient
    : public ::testing::TestWithParam<std::tuple<Index, Index, std::vector<Index>, Activation>> {};

TEST_P(AffineCouplingFlowGradient, ParameterAndInputGradientsMatchFiniteDifferences) {
  const auto [d, layers, hidden, activation] = GetParam();
  const AffineCouplingFlow flow = random_flow(d, layers, hidden, activation, 7);
  Rng rng(testing::test_seed(3));
  const Index N = 5;
  MatrixF Z0(d, N);
  fill_standard_normal(Z0, rng);
  Probe probe{MatrixF(d, N), VectorF(N)};
  fill_standard_normal(probe.R, rng);
  fill_standard_normal(probe.r, rng);

  AffineCouplingFlow::Workspace ws;
  MatrixF Z, grad_Z0;
  VectorD log_det;
  flow.forward(Z0, ws, Z, log_det);
  VectorF grad_theta = VectorF::Zero(flow.num_parameters());
  flow.backward(ws, probe.R, probe.r, &grad_theta, &grad_Z0);

  std::function<double(const VectorF&)> f_theta = [&](const VectorF& theta) {
    AffineCouplingFlow perturbed = flow;
    perturbed.parameters() = theta;
    return probe(perturbed, Z0);
  };
  testing::expect_gradient_matches_finite_differences(f_theta, flow.parameters(), grad_theta, 1e-2, 2e-3, 1e-2, 200,
                                                      "flow parameters");
  std::function<double(const VectorF&)> f_input = [&](const VectorF& z) {
    return probe(flow, Eigen::Map<const MatrixF>(z.data(), d, N));
  };
  const VectorF z0_flat = Eigen::Map<const VectorF>(Z0.data(), Z0.size());
  const VectorF g0_flat = Eigen::Map<const VectorF>(grad_Z0.data(), grad_Z0.size());
  testing::expect_gradient_matches_finite_differences(f_input, z0_flat, g0_flat, 1e-2, 2e-3, 1e-2, 100, "flow input");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AffineCouplingFlowGradient,
    ::testing::Values(std::make_tuple(Index{2}, Index{2}, std::vector<Index>{6}, Activation::tanh),
                      std::make_tuple(Index{3}, Index{3}, std::vector<Index>{5, 4}, Activation::elu),
                      std::make_tuple(Index{1}, Index{2}, std::vector<Index>{3}, Activation::tanh),
                      std::make_tuple(Index{4}, Index{1}, std::vector<Index>{}, Activation::tanh)));

TEST(AffineCouplingFlow, LogDeterminantMatchesTheNumericalJacobian) {
  const Index d = 3;
  AffineCouplingFlow flow = random_flow(d, 4, {6}, Activation::tanh, 11, 0.6f);
  // Non-volume-preserving by construction: the hidden tanh units lie in (-1, 1), so a raw log-scale
  // a_j = W_j·h + b_j with b_j = ‖W_j‖₁ + 0.25 is > 0.25 for every input, s_j = c·tanh(a_j/c) >
  // 2·tanh(0.125) ≈ 0.249 on each of the 1 + 2 + 1 + 2 transformed coordinates: log-det > 1.49.
  // s still depends on the input (random W, scaled by 1/4 to keep the scales and the finite
  // differences moderate), so the Jacobian check keeps its teeth.
  for (Index k = 0; k < flow.num_layers(); ++k) {
    const DenseLayer& out = flow.conditioner_layers(k).back();
    auto W = out.weight(flow.parameters());
    W.topRows(d) *= 0.25f;
    out.bias(flow.parameters()).head(d) = (W.topRows(d).cwiseAbs().rowwise().sum().array() + 0.25f).matrix();
  }
  Rng rng(testing::test_seed(5));
  MatrixF z0(d, 1);
  fill_standard_normal(z0, rng);
  AffineCouplingFlow::Workspace ws;
  MatrixF z, up, down;
  VectorD log_det, unused;
  flow.forward(z0, ws, z, log_det);
  MatrixD jacobian(d, d);
  const float h = 1e-2f;
  for (Index j = 0; j < d; ++j) {
    MatrixF zp = z0, zm = z0;
    zp(j, 0) += h;
    zm(j, 0) -= h;
    flow.forward(zp, ws, up, unused);
    flow.forward(zm, ws, down, unused);
    jacobian.col(j) = ((up - down) / (2.0f * h)).cast<double>();
  }
  EXPECT_GT(log_det(0), 1.49);  // guaranteed by the biases above: a genuinely non-volume-preserving map
  EXPECT_NEAR(std::log(std::abs(jacobian.determinant())), log_det(0), 5e-3);
}

TEST(AffineCouplingFlow, InverseUndoesForwardAndReportsTheSameLogDeterminant) {
  const AffineCouplingFlow flow = random_flow(5, 4, {8}, Activation::relu, 2, 0.5f);
  Rng rng(testing::test_seed(9));
  MatrixF Z0(5, 40);
  fill_standard_normal(Z0, rng);
  Z0 *= 2.0f;
  AffineCouplingFlow::Workspace ws;
  MatrixF Z, back;
  VectorD log_det, inverse_log_det;
  flow.forward(Z0, ws, Z, log_det);
  flow.inverse(Z, back, inverse_log_det);
  // Float round-off, amplified by the layers' scales (up to e^{2} each): relative to the largest |z|.
  const float scale = std::max(Z.cwiseAbs().maxCoeff(), Z0.cwiseAbs().maxCoeff());
  EXPECT_LT((back - Z0).cwiseAbs().maxCoeff(), 2e-6f * scale * std::exp(2.0f * 4)) << "max |z| " << scale;
  EXPECT_LT((back - Z0).cwiseAbs().maxCoeff() / scale, 1e-4f);
  EXPECT_LT((log_det - inverse_log_det).cwiseAbs().maxCoeff(), 1e-3);
  EXPECT_GT((Z - Z0).cwiseAbs().maxCoeff(), 0.1f);  // not the identity
}

TEST(AffineCouplingFlow, InitializationIsTheIdentityMapWithMasksAlternating) {
  AffineCouplingFlowArchitecture a;
  a.latent_dim = 3;
  a.num_layers = 2;
  AffineCouplingFlow flow(a);
  Rng rng(testing::test_seed(1));
  flow.initialize(rng);
  EXPECT_GT(flow.parameters().cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_EQ(flow.mask(0), (VectorF(3) << 1, 0, 1).finished());
  EXPECT_EQ(flow.mask(1), (VectorF(3) << 0, 1, 0).finished());
  MatrixF Z0(3, 4), Z;
  fill_standard_normal(Z0, rng);
  AffineCouplingFlow::Workspace ws;
  VectorD log_det;
  flow.forward(Z0, ws, Z, log_det);
  EXPECT_EQ(Z, Z0);
  EXPECT_EQ(log_det, VectorD::Zero(4));
}

TEST(AffineCouplingFlow, LogScaleIsBoundedAndOptionsAreValidated) {
  AffineCouplingFlow flow = random_flow(2, 1, {4}, Activation::tanh, 4, 30.0f);  // huge raw outputs
  MatrixF Z0 = MatrixF::Constant(2, 1, 3.0f), Z;
  AffineCouplingFlow::Workspace ws;
  VectorD log_det;
  flow.forward(Z0, ws, Z, log_det);
  EXPECT_LE(std::abs(log_det(0)), 2.0 + 1e-5);  // one transformed coordinate, bound c = 2

  AffineCouplingFlowArchitecture a;
  a.num_layers = 0;
  EXPECT_THROW(AffineCouplingFlow{a}, std::invalid_argument);
  a = {};
  a.hidden_sizes = {0};
  EXPECT_THROW(a.validate(), std::invalid_argument);
  a = {};
  a.log_scale_bound = -1.0;
  EXPECT_THROW(a.validate(), std::invalid_argument);
  MatrixF wrong(3, 2);
  EXPECT_THROW(flow.forward(wrong, ws, Z, log_det), std::invalid_argument);
}


// Fixed column blocks: a column's forward value, log-det, inverse and ∂F/∂z0 are the same bits
// evaluated alone, at any offset inside a batch of 37 columns, and with 1 or 2 threads; the
// parameter gradient is the same bits with 1 and 2 threads.
TEST(AffineCouplingFlowColumnBlocks, ColumnResultsDoNotDependOnBatchOffsetOrThreads) {
  for (const Index d : {Index{2}, Index{5}}) {
    const AffineCouplingFlow flow = random_flow(d, 3, {16}, Activation::tanh, 40 + static_cast<std::uint64_t>(d));
    Rng rng(41);
    MatrixF z0(d, 1), g(d, 1);
    fill_standard_normal(z0, rng);
    fill_standard_normal(g, rng);
    const VectorF r = VectorF::Constant(1, 0.7f);
    auto evaluate = [&](const MatrixF& Z0, const MatrixF& G, const VectorF& R, int threads) {
      return testing::with_threads(threads, [&] {
        AffineCouplingFlow::Workspace ws;
        MatrixF Z, back, grad_Z0;
        VectorD log_det, inverse_log_det;
        flow.forward(Z0, ws, Z, log_det);
        VectorF grad = VectorF::Zero(flow.num_parameters());
        flow.backward(ws, G, R, &grad, &grad_Z0);
        flow.inverse(Z, back, inverse_log_det);
        return std::make_tuple(Z, log_det, grad_Z0, back, inverse_log_det, grad);
      });
    };
    const auto [z, log_det, grad_z0, back, inverse_log_det, unused] = evaluate(z0, g, r, 1);
    for (const int threads : {1, 2}) {
      for (const Index offset : {0, 1, 15, 31, 32, 36}) {
        MatrixF Z0(d, 37), G(d, 37);
        VectorF R(37);
        fill_standard_normal(Z0, rng);
        fill_standard_normal(G, rng);
        fill_standard_normal(R, rng);
        Z0.col(offset) = z0.col(0);
        G.col(offset) = g.col(0);
        R(offset) = r(0);
        const auto [Zb, log_det_b, grad_Z0b, back_b, inverse_log_det_b, grad_b] = evaluate(Z0, G, R, threads);
        const std::string where = "d " + std::to_string(d) + ", threads " + std::to_string(threads) + ", offset " +
                                  std::to_string(offset);
        EXPECT_TRUE(Zb.col(offset) == z.col(0)) << where;
        EXPECT_EQ(log_det_b(offset), log_det(0)) << where;
        EXPECT_TRUE(grad_Z0b.col(offset) == grad_z0.col(0)) << where;
        EXPECT_TRUE(back_b.col(offset) == back.col(0)) << where;
        EXPECT_EQ(inverse_log_det_b(offset), inverse_log_det(0)) << where;
        if (threads == 2) {
          const auto one_thread = evaluate(Z0, G, R, 1);
          EXPECT_TRUE(std::get<5>(one_thread) == grad_b) << where;
        }
      }
    }
  }
}

}  // namespace
}  // namespace vigap
