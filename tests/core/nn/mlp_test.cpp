#include "core/nn/mlp.hpp"

#include <gtest/gtest.h>

#include "core/nn/adam.hpp"
#include "support/finite_difference.hpp"

namespace vigap {
namespace {

// f(θ, X) = Σ_ij C_ij · mlp(X)_ij for a fixed random C: its gradient is backward(C).
double weighted_output(const Mlp& mlp, const MatrixF& X, const MatrixF& C) {
  Mlp::Workspace ws;
  const MatrixF& out = mlp.forward(X, ws);
  return (out.cast<double>().array() * C.cast<double>().array()).sum();
}

class MlpGradient : public ::testing::TestWithParam<Activation> {};

TEST_P(MlpGradient, ParameterAndInputGradientsMatchFiniteDifferences) {
  Rng rng(7);
  Mlp mlp({4, 6, 5, 3}, GetParam());
  mlp.initialize(rng);
  MatrixF X(4, 5), C(3, 5);
  fill_standard_normal(X, rng);
  fill_standard_normal(C, rng);
  Mlp::Workspace ws;
  mlp.forward(X, ws);
  VectorF gradient = VectorF::Zero(mlp.num_parameters());
  MatrixF grad_input;
  mlp.backward(X, ws, C, &gradient, &grad_input);

  // ReLU has kinks: a smaller step keeps the differences from straddling them.
  const double step = GetParam() == Activation::relu ? 1e-3 : 1e-2;
  std::function<double(const VectorF&)> f_params = [&](const VectorF& theta) {
    Mlp copy = mlp;
    copy.parameters() = theta;
    return weighted_output(copy, X, C);
  };
  testing::expect_gradient_matches_finite_differences(f_params, mlp.parameters(), gradient, step, 2e-3, 1e-2,
                                                      mlp.num_parameters(), "MLP parameters " + to_string(GetParam()));
  std::function<double(const VectorF&)> f_input = [&](const VectorF& x) {
    return weighted_output(mlp, Eigen::Map<const MatrixF>(x.data(), 4, 5), C);
  };
  const VectorF x_flat = Eigen::Map<const VectorF>(X.data(), X.size());
  const VectorF g_flat = Eigen::Map<const VectorF>(grad_input.data(), grad_input.size());
  testing::expect_gradient_matches_finite_differences(f_input, x_flat, g_flat, step, 2e-3, 1e-2, x_flat.size(),
                                                      "MLP input " + to_string(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(AllActivations, MlpGradient,
                         ::testing::Values(Activation::identity, Activation::tanh, Activation::relu, Activation::elu),
                         [](const auto& info) { return to_string(info.param); });

TEST(Mlp, BackwardAccumulatesIntoTheGradient) {
  Rng rng(3);
  Mlp mlp({3, 4, 2}, Activation::tanh);
  mlp.initialize(rng);
  MatrixF X(3, 2), C(2, 2);
  fill_standard_normal(X, rng);
  fill_standard_normal(C, rng);
  Mlp::Workspace ws;
  mlp.forward(X, ws);
  VectorF once = VectorF::Zero(mlp.num_parameters());
  mlp.backward(X, ws, C, &once, nullptr);
  VectorF twice = once;
  mlp.backward(X, ws, C, &twice, nullptr);
  EXPECT_TRUE(twice.isApprox(2.0f * once));
}

TEST(Mlp, InitializationMatchesPyTorchBounds) {
  Rng rng(1);
  Mlp mlp({100, 50, 10}, Activation::relu);
  mlp.initialize(rng);
  const float bound0 = 1.0f / std::sqrt(100.0f);
  EXPECT_LE(mlp.layers()[0].weight(mlp.parameters()).cwiseAbs().maxCoeff(), bound0);
  EXPECT_GT(mlp.layers()[0].weight(mlp.parameters()).cwiseAbs().maxCoeff(), 0.9f * bound0);
  EXPECT_LE(mlp.layers()[1].bias(mlp.parameters()).cwiseAbs().maxCoeff(), 1.0f / std::sqrt(50.0f));
}

TEST(Mlp, RejectsInputOfWrongDimension) {
  Mlp mlp({3, 2}, Activation::tanh);
  Mlp::Workspace ws;
  EXPECT_THROW(mlp.forward(MatrixF::Zero(4, 1), ws), std::invalid_argument);
  EXPECT_THROW(Mlp({3}, Activation::tanh), std::invalid_argument);
  EXPECT_THROW(parse_activation("sigmoid"), std::invalid_argument);
}

TEST(Adam, MinimizesAQuadratic) {
  VectorF theta = VectorF::Constant(3, 5.0f);
  Adam adam(3);
  for (int t = 0; t < 2000; ++t) {
    const VectorF gradient = 2.0f * (theta - VectorF::Constant(3, 1.0f));
    adam.step(theta, gradient, 0.05);
  }
  EXPECT_LT((theta - VectorF::Constant(3, 1.0f)).norm(), 1e-2f);
}

TEST(Adam, FirstStepHasTheLearningRateAsLength) {
  // With bias correction, |Δθ| = lr on the first step whatever the gradient's scale.
  VectorF theta = VectorF::Zero(2);
  Adam adam(2);
  VectorF gradient(2);
  gradient << 1000.0f, -0.001f;
  adam.step(theta, gradient, 0.1);
  EXPECT_NEAR(theta(0), -0.1f, 1e-5f);
  EXPECT_NEAR(theta(1), 0.1f, 1e-3f);
  EXPECT_THROW(adam.step(theta, gradient, 0.0), std::invalid_argument);
  AdamOptions bad;
  bad.beta1 = 1.0;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
