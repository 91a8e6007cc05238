#include "core/models/mlp_decoder_model.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "support/finite_difference.hpp"
#include "support/test_seed.hpp"
#include "support/thread_count.hpp"

namespace vigap {
namespace {

MatrixF random_data(Likelihood likelihood, Index D, Index B, Rng& rng) {
  MatrixF X(D, B);
  for (Index j = 0; j < B; ++j)
    for (Index i = 0; i < D; ++i)
      X(i, j) = likelihood == Likelihood::bernoulli ? (uniform_01(rng) < 0.4 ? 1.0f : 0.0f)
                                                   : static_cast<float>(uniform_01(rng));
  return X;
}

class MlpDecoderGradient : public ::testing::TestWithParam<Likelihood> {};

TEST_P(MlpDecoderGradient, ParameterAndLatentGradientsMatchFiniteDifferences) {
  Rng rng(testing::test_seed(21));
  MlpDecoderModel model(2, {5, 4}, 6, Activation::tanh, GetParam());
  model.network().initialize(rng);
  const Index B = 3, S = 2;
  const MatrixF X = random_data(GetParam(), 6, B, rng);
  MatrixF Z(2, B * S);
  fill_standard_normal(Z, rng);
  VectorF w(B * S);
  fill_standard_normal(w, rng);
  MlpDecoderModel::Workspace ws;
  model.forward(X, Z, S, ws);
  VectorF grad = VectorF::Zero(model.network().num_parameters());
  MatrixF grad_Z;
  model.backward(X, Z, S, w, ws, &grad, &grad_Z);

  auto weighted = [&](const MlpDecoderModel& m, const MatrixF& z) {
    MlpDecoderModel::Workspace scratch;
    return m.forward(X, z, S, scratch).dot(w.cast<double>());
  };
  std::function<double(const VectorF&)> f_params = [&](const VectorF& theta) {
    MlpDecoderModel copy = model;
    copy.network().parameters() = theta;
    return weighted(copy, Z);
  };
  testing::expect_gradient_matches_finite_differences(f_params, model.network().parameters(), grad, 1e-2, 3e-3,
                                                      1e-2, 200, "decoder parameters " + to_string(GetParam()));
  std::function<double(const VectorF&)> f_latents = [&](const VectorF& z) {
    return weighted(model, Eigen::Map<const MatrixF>(z.data(), 2, B * S));
  };
  testing::expect_gradient_matches_finite_differences(
      f_latents, Eigen::Map<const VectorF>(Z.data(), Z.size()), Eigen::Map<const VectorF>(grad_Z.data(), grad_Z.size()),
      1e-2, 3e-3, 1e-2, Z.size(), "decoder latents " + to_string(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(BothLikelihoods, MlpDecoderGradient,
                         ::testing::Values(Likelihood::bernoulli, Likelihood::gaussian),
                         [](const auto& info) { return to_string(info.param); });

TEST(MlpDecoderModel, LogLikelihoodMatchesItsDefinition) {
  Rng rng(testing::test_seed(4));
  for (Likelihood likelihood : {Likelihood::bernoulli, Likelihood::gaussian}) {
    MlpDecoderModel model(2, {3}, 4, Activation::elu, likelihood);
    model.network().initialize(rng);
    const MatrixF X = random_data(likelihood, 4, 2, rng);
    const MatrixD Z = standard_normal_matrix(2, 2, rng);
    Mlp::Workspace ws;
    const MatrixF out = model.network().forward(Z.cast<float>(), ws);
    const VectorD values = model.log_likelihood(X, Z, 1);
    for (Index b = 0; b < 2; ++b) {
      double expected = 0.0;
      for (Index i = 0; i < 4; ++i) {
        const double x = X(i, b);
        if (likelihood == Likelihood::bernoulli) {
          const double p = 1.0 / (1.0 + std::exp(-static_cast<double>(out(i, b))));
          expected += x * std::log(p) + (1.0 - x) * std::log(1.0 - p);
        } else {
          const double m = out(i, b), s = out(4 + i, b);
          expected += -0.5 * (std::log(2.0 * std::numbers::pi) + s + (x - m) * (x - m) * std::exp(-s));
        }
      }
      EXPECT_NEAR(values(b), expected, 1e-4) << to_string(likelihood);
    }
  }
}

TEST(MlpDecoderModel, AllPairsAgreesWithLogLikelihood) {
  Rng rng(testing::test_seed(9));
  for (Likelihood likelihood : {Likelihood::bernoulli, Likelihood::gaussian}) {
    MlpDecoderModel model(2, {8}, 10, Activation::relu, likelihood);
    model.network().initialize(rng);
    const MatrixF X = random_data(likelihood, 10, 3, rng);
    const MatrixD Z = standard_normal_matrix(2, 5, rng);
    const MatrixD pairs = model.log_likelihood_all_pairs(X, Z);
    ASSERT_EQ(pairs.rows(), 3);
    ASSERT_EQ(pairs.cols(), 5);
    for (Index b = 0; b < 3; ++b)
      for (Index g = 0; g < 5; ++g)
        EXPECT_NEAR(pairs(b, g), model.log_likelihood(X.col(b), Z.col(g), 1)(0), 1e-4) << to_string(likelihood);
  }
}

TEST(MlpDecoderModel, VirtualGradientIsTheLatentGradient) {
  Rng rng(testing::test_seed(10));
  MlpDecoderModel model(3, {6}, 5, Activation::tanh, Likelihood::bernoulli);
  model.network().initialize(rng);
  const MatrixF X = random_data(Likelihood::bernoulli, 5, 2, rng);
  const MatrixD Z = standard_normal_matrix(3, 6, rng);
  MatrixD grad;
  model.log_joint_with_gradient(X, Z, 3, grad);
  std::function<double(const VectorD&)> f = [&](const VectorD& z) {
    return model.log_joint(X, Eigen::Map<const MatrixD>(z.data(), 3, 6), 3).sum();
  };
  testing::expect_gradient_matches_finite_differences(f, Eigen::Map<const VectorD>(Z.data(), Z.size()).eval(),
                                                      Eigen::Map<const VectorD>(grad.data(), grad.size()).eval(),
                                                      1e-3, 2e-3, 1e-2, Z.size(), "log joint dz");
}

TEST(MlpDecoderModel, SamplesAreBinaryForBernoulli) {
  Rng rng(testing::test_seed(2));
  MlpDecoderModel model(2, {4}, 6, Activation::tanh, Likelihood::bernoulli);
  model.network().initialize(rng);
  const ModelSample s = model.sample(50, rng);
  EXPECT_EQ(s.latents.rows(), 2);
  EXPECT_EQ(s.data.cols(), 50);
  EXPECT_TRUE(((s.data.array() == 0.0f) || (s.data.array() == 1.0f)).all());
}

TEST(MlpDecoderModel, RejectsBadShapes) {
  EXPECT_THROW(MlpDecoderModel(0, {4}, 6, Activation::tanh, Likelihood::bernoulli), std::invalid_argument);
  EXPECT_THROW(parse_likelihood("poisson"), std::invalid_argument);
  MlpDecoderModel model(2, {4}, 6, Activation::tanh, Likelihood::bernoulli);
  EXPECT_THROW(model.log_likelihood(MatrixF::Zero(5, 1), MatrixD::Zero(2, 1), 1), std::invalid_argument);
}


// Fixed column blocks: a column's log-likelihood and gradient are the same bits evaluated alone,
// at any offset inside a batch of 37 columns (S = 1) or of 13 datapoints x 3 samples, and with 1
// or 2 threads. Odd sizes (data dimension 23, latent 5) so that no row count is a packet multiple.
class MlpDecoderColumnBlocks : public ::testing::TestWithParam<Likelihood> {};

TEST_P(MlpDecoderColumnBlocks, ColumnResultsDoNotDependOnBatchOffsetOrThreads) {
  const Likelihood likelihood = GetParam();
  Rng rng(71);
  const Index d = 5, D = 23;
  MlpDecoderModel model(d, {40, 30}, D, Activation::tanh, likelihood);
  model.network().initialize(rng);
  const MatrixF x = random_data(likelihood, D, 1, rng);
  const MatrixD z = standard_normal_matrix(d, 1, rng);
  MatrixD grad_alone;
  const VectorD value_alone = model.log_likelihood_with_gradient(x, z, 1, grad_alone);
  const VectorD value_only = model.log_likelihood(x, z, 1);
  ASSERT_TRUE(std::isfinite(value_alone(0)));
  EXPECT_EQ(value_only(0), value_alone(0));
  for (const int threads : {1, 2}) {
    for (const Index S : {1, 3}) {
      const Index B = S == 1 ? 37 : 13;
      for (const Index offset : {Index{0}, Index{1}, Index{15}, Index{31}, Index{32}, B * S - 1}) {
        MatrixF X = random_data(likelihood, D, B, rng);
        MatrixD Z = standard_normal_matrix(d, B * S, rng);
        X.col(offset / S) = x.col(0);
        Z.col(offset) = z.col(0);
        MatrixD grad;
        const VectorD values =
            testing::with_threads(threads, [&] { return model.log_likelihood_with_gradient(X, Z, S, grad); });
        const VectorD values_only = testing::with_threads(threads, [&] { return model.log_likelihood(X, Z, S); });
        const std::string where = "threads " + std::to_string(threads) + ", S " + std::to_string(S) + ", offset " +
                                  std::to_string(offset);
        EXPECT_EQ(values(offset), value_alone(0)) << where;
        EXPECT_EQ(values_only(offset), value_alone(0)) << where;
        for (Index i = 0; i < d; ++i) EXPECT_EQ(grad(i, offset), grad_alone(i, 0)) << where << ", coordinate " << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(BothLikelihoods, MlpDecoderColumnBlocks,
                         ::testing::Values(Likelihood::bernoulli, Likelihood::gaussian),
                         [](const auto& info) { return to_string(info.param); });

// The training interface (forward, then backward with parameter gradients) gives the same bits
// with 1 and 2 threads: blocks' parameter gradients are added in block order.
TEST(MlpDecoderColumnBlocks, ParameterGradientDoesNotDependOnThreads) {
  Rng rng(72);
  MlpDecoderModel model(5, {40, 30}, 23, Activation::tanh, Likelihood::bernoulli);
  model.network().initialize(rng);
  const Index B = 50, S = 3;
  const MatrixF X = random_data(Likelihood::bernoulli, 23, B, rng);
  MatrixF Z(5, B * S);
  fill_standard_normal(Z, rng);
  VectorF w(B * S);
  fill_standard_normal(w, rng);
  auto gradient = [&](int threads) {
    return testing::with_threads(threads, [&] {
      MlpDecoderModel::Workspace ws;
      model.forward(X, Z, S, ws);
      VectorF grad = VectorF::Zero(model.network().num_parameters());
      MatrixF grad_Z;
      model.backward(X, Z, S, w, ws, &grad, &grad_Z);
      return std::make_pair(grad, grad_Z);
    });
  };
  const auto one = gradient(1);
  const auto two = gradient(2);
  EXPECT_TRUE(one.first == two.first);
  EXPECT_TRUE(one.second == two.second);
}

}  // namespace
}  // namespace vigap
