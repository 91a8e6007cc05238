#include "core/models/mlp_decoder_model.hpp"
#include "core/variational/gaussian_encoder.hpp"
#include "core/training/vae_objective.hpp"

#include <gtest/gtest.h>

#include <numbers>

#include "core/math/log_sum_exp.hpp"
#include "support/finite_difference.hpp"
#include "support/test_seed.hpp"
#include "support/thread_count.hpp"

namespace vigap {
namespace {

struct ObjectiveFixture {
  GaussianEncoder encoder{8, {6}, 2, Activation::tanh};
  MlpDecoderModel decoder{2, {6}, 8, Activation::tanh, Likelihood::bernoulli};
  MatrixF X;
  MatrixF noise;
};

ObjectiveFixture make_setup(Index S, std::uint64_t seed) {
  ObjectiveFixture s;
  Rng rng(testing::test_seed(seed));
  s.encoder.network().initialize(rng);
  s.decoder.network().initialize(rng);
  const Index B = 3;
  s.X.resize(8, B);
  for (Index j = 0; j < B; ++j)
    for (Index i = 0; i < 8; ++i) s.X(i, j) = uniform_01(rng) < 0.5 ? 1.0f : 0.0f;
  s.noise.resize(2, B * S);
  fill_standard_normal(s.noise, rng);
  return s;
}

struct Case {
  TrainingObjective objective;
  KlEstimator kl;
  Index samples;
  double kl_weight;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << to_string(c.objective) << " " << to_string(c.kl) << " S=" << c.samples << " beta=" << c.kl_weight;
}

class VaeObjectiveGradient : public ::testing::TestWithParam<Case> {};

TEST_P(VaeObjectiveGradient, EncoderAndDecoderGradientsMatchFiniteDifferences) {
  const Case c = GetParam();
  const ObjectiveFixture s = make_setup(c.samples, 31);
  VaeObjectiveOptions options;
  options.objective = c.objective;
  options.kl_estimator = c.kl;
  options.samples = c.samples;
  options.kl_weight = c.kl_weight;
  VaeObjectiveWorkspace ws;
  VectorF grad_encoder, grad_decoder;
  vae_objective(s.encoder, s.decoder, s.X, s.noise, options, ws, &grad_encoder, &grad_decoder);

  std::function<double(const VectorF&)> f_encoder = [&](const VectorF& phi) {
    GaussianEncoder encoder = s.encoder;
    encoder.network().parameters() = phi;
    VaeObjectiveWorkspace scratch;
    return vae_objective(encoder, s.decoder, s.X, s.noise, options, scratch, nullptr, nullptr);
  };
  std::function<double(const VectorF&)> f_decoder = [&](const VectorF& theta) {
    MlpDecoderModel decoder = s.decoder;
    decoder.network().parameters() = theta;
    VaeObjectiveWorkspace scratch;
    return vae_objective(s.encoder, decoder, s.X, s.noise, options, scratch, nullptr, nullptr);
  };
  testing::expect_gradient_matches_finite_differences(f_encoder, s.encoder.network().parameters(), grad_encoder, 1e-2,
                                                      2e-3, 1e-2, 150, "encoder");
  testing::expect_gradient_matches_finite_differences(f_decoder, s.decoder.network().parameters(), grad_decoder, 1e-2,
                                                      2e-3, 1e-2, 150, "decoder");
}

INSTANTIATE_TEST_SUITE_P(
    Objectives, VaeObjectiveGradient,
    ::testing::Values(Case{TrainingObjective::elbo, KlEstimator::analytic, 1, 1.0},
                      Case{TrainingObjective::elbo, KlEstimator::analytic, 3, 0.3},
                      Case{TrainingObjective::elbo, KlEstimator::monte_carlo, 2, 1.0},
                      Case{TrainingObjective::elbo, KlEstimator::monte_carlo, 2, 0.5},
                      Case{TrainingObjective::iwae, KlEstimator::analytic, 5, 1.0},
                      Case{TrainingObjective::iwae, KlEstimator::analytic, 4, 0.4}),
    [](const auto& info) {
      const Case& c = info.param;
      return to_string(c.objective) + "_" + (c.kl == KlEstimator::analytic ? "analytic" : "mc") + "_S" +
             std::to_string(c.samples) + "_beta" + std::to_string(static_cast<int>(c.kl_weight * 10));
    });

// The objective's value against a direct computation from the model's and q's densities.
TEST(VaeObjective, ValuesMatchDirectComputation) {
  const Index S = 4;
  const ObjectiveFixture s = make_setup(S, 5);
  VaeObjectiveWorkspace ws;
  VectorD elbo_mc, elbo_analytic, iwae;
  VaeObjectiveOptions options;
  options.samples = S;
  options.kl_estimator = KlEstimator::monte_carlo;
  vae_objective(s.encoder, s.decoder, s.X, s.noise, options, ws, nullptr, nullptr, &elbo_mc);
  options.kl_estimator = KlEstimator::analytic;
  vae_objective(s.encoder, s.decoder, s.X, s.noise, options, ws, nullptr, nullptr, &elbo_analytic);
  options.objective = TrainingObjective::iwae;
  vae_objective(s.encoder, s.decoder, s.X, s.noise, options, ws, nullptr, nullptr, &iwae);

  GaussianEncoder::Workspace ews;
  MatrixF mean, log_variance;
  s.encoder.forward(s.X, ews, mean, log_variance);
  const Index B = s.X.cols();
  MatrixD Z(2, B * S);
  VectorD log_q(B * S);
  for (Index c = 0; c < B * S; ++c) {
    const Index b = c / S;
    const VectorD sd = (0.5 * log_variance.col(b).cast<double>().array()).exp();
    Z.col(c) = mean.col(b).cast<double>() + sd.cwiseProduct(s.noise.col(c).cast<double>());
    log_q(c) = -std::log(2.0 * std::numbers::pi) - 0.5 * s.noise.col(c).cast<double>().squaredNorm() -
               0.5 * log_variance.col(b).cast<double>().sum();
  }
  const VectorD log_w = s.decoder.log_joint(s.X, Z, S) - log_q;
  const VectorD expected_iwae = segment_log_mean_exp(log_w, S);
  for (Index b = 0; b < B; ++b) {
    EXPECT_NEAR(elbo_mc(b), log_w.segment(b * S, S).mean(), 1e-3);
    EXPECT_NEAR(iwae(b), expected_iwae(b), 1e-3);
    EXPECT_GE(iwae(b), elbo_mc(b) - 1e-9);  // Jensen, for the same samples
    const double kl = 0.5 * (mean.col(b).cast<double>().squaredNorm() +
                             log_variance.col(b).cast<double>().array().exp().sum() - 2.0 -
                             log_variance.col(b).cast<double>().sum());
    const double expected_analytic =
        s.decoder.log_likelihood(s.X, Z, S).segment(b * S, S).mean() - kl;
    EXPECT_NEAR(elbo_analytic(b), expected_analytic, 1e-3);
  }
}

TEST(VaeObjective, RejectsBadOptionsAndShapes) {
  const ObjectiveFixture s = make_setup(1, 1);
  VaeObjectiveWorkspace ws;
  VaeObjectiveOptions options;
  options.samples = 0;
  EXPECT_THROW(vae_objective(s.encoder, s.decoder, s.X, s.noise, options, ws, nullptr, nullptr), std::invalid_argument);
  options.samples = 2;  // noise has one column per datapoint only
  EXPECT_THROW(vae_objective(s.encoder, s.decoder, s.X, s.noise, options, ws, nullptr, nullptr), std::invalid_argument);
  options.samples = 1;
  options.kl_weight = 1.5;
  EXPECT_THROW(options.validate(), std::invalid_argument);
  EXPECT_THROW(parse_training_objective("vimco"), std::invalid_argument);
}


// A training step at batch 100 (4 column blocks, split over threads, per-block parameter
// gradients added in block order) gives the same bits with 1 and 2 threads.
TEST(VaeObjectiveThreads, ObjectiveAndGradientsDoNotDependOnThreads) {
  Rng rng(61);
  GaussianEncoder encoder{30, {20}, 3, Activation::tanh};
  MlpDecoderModel decoder{3, {20}, 30, Activation::tanh, Likelihood::bernoulli};
  encoder.network().initialize(rng);
  decoder.network().initialize(rng);
  const Index B = 100, S = 2;
  MatrixF X(30, B), noise(3, B * S);
  for (Index j = 0; j < B; ++j)
    for (Index i = 0; i < 30; ++i) X(i, j) = uniform_01(rng) < 0.5 ? 1.0f : 0.0f;
  fill_standard_normal(noise, rng);
  for (const TrainingObjective objective : {TrainingObjective::elbo, TrainingObjective::iwae}) {
    VaeObjectiveOptions options;
    options.objective = objective;
    options.samples = S;
    auto step = [&](int threads) {
      return testing::with_threads(threads, [&] {
        VaeObjectiveWorkspace ws;
        VectorF grad_encoder, grad_decoder;
        const double value = vae_objective(encoder, decoder, X, noise, options, ws, &grad_encoder, &grad_decoder);
        return std::make_tuple(value, grad_encoder, grad_decoder);
      });
    };
    const auto one = step(1);
    const auto two = step(2);
    EXPECT_EQ(std::get<0>(one), std::get<0>(two)) << to_string(objective);
    EXPECT_TRUE(std::get<1>(one) == std::get<1>(two)) << to_string(objective);
    EXPECT_TRUE(std::get<2>(one) == std::get<2>(two)) << to_string(objective);
  }
}

}  // namespace
}  // namespace vigap
