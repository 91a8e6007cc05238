// The VAE objective with a flow posterior (Gaussian encoder + global affine coupling flow):
// gradients against finite differences, values against a direct computation.
#include <gtest/gtest.h>

#include "core/models/mlp_decoder_model.hpp"
#include "core/variational/gaussian_encoder.hpp"
#include "core/math/log_sum_exp.hpp"
#include "core/training/vae_objective.hpp"
#include "core/variational/flow_posterior.hpp"
#include "support/finite_difference.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

struct FlowFixture {
  GaussianEncoder encoder{8, {6}, 2, Activation::tanh};
  AffineCouplingFlow flow;
  MlpDecoderModel decoder{2, {6}, 8, Activation::tanh, Likelihood::bernoulli};
  MatrixF X;
  MatrixF noise;
};

FlowFixture make_fixture(Index S, std::uint64_t seed) {
  FlowFixture s;
  Rng rng(testing::test_seed(seed));
  s.encoder.network().initialize(rng);
  s.decoder.network().initialize(rng);
  AffineCouplingFlowArchitecture a;
  a.latent_dim = 2;
  a.num_layers = 3;
  a.hidden_sizes = {5};
  s.flow = AffineCouplingFlow(a);
  fill_standard_normal(s.flow.parameters(), rng);  // not the identity: every path carries gradient
  s.flow.parameters() *= 0.4f;
  const Index B = 3;
  s.X.resize(8, B);
  for (Index j = 0; j < B; ++j)
    for (Index i = 0; i < 8; ++i) s.X(i, j) = uniform_01(rng) < 0.5 ? 1.0f : 0.0f;
  s.noise.resize(2, B * S);
  fill_standard_normal(s.noise, rng);
  return s;
}

struct FlowCase {
  TrainingObjective objective;
  Index samples;
  double kl_weight;
};

class FlowVaeObjectiveGradient : public ::testing::TestWithParam<FlowCase> {};

TEST_P(FlowVaeObjectiveGradient, EncoderFlowAndDecoderGradientsMatchFiniteDifferences) {
  const FlowCase c = GetParam();
  const FlowFixture s = make_fixture(c.samples, 41);
  VaeObjectiveOptions options;
  options.objective = c.objective;
  options.kl_estimator = KlEstimator::monte_carlo;
  options.samples = c.samples;
  options.kl_weight = c.kl_weight;
  VaeObjectiveWorkspace ws;
  VectorF grad_encoder, grad_flow, grad_decoder;
  vae_objective(s.encoder, &s.flow, s.decoder, s.X, s.noise, options, ws, &grad_encoder, &grad_flow, &grad_decoder);
  ASSERT_EQ(grad_flow.size(), s.flow.num_parameters());

  std::function<double(const VectorF&)> f_encoder = [&](const VectorF& phi) {
    GaussianEncoder encoder = s.encoder;
    encoder.network().parameters() = phi;
    VaeObjectiveWorkspace scratch;
    return vae_objective(encoder, &s.flow, s.decoder, s.X, s.noise, options, scratch, nullptr, nullptr, nullptr);
  };
  std::function<double(const VectorF&)> f_flow = [&](const VectorF& psi) {
    AffineCouplingFlow flow = s.flow;
    flow.parameters() = psi;
    VaeObjectiveWorkspace scratch;
    return vae_objective(s.encoder, &flow, s.decoder, s.X, s.noise, options, scratch, nullptr, nullptr, nullptr);
  };
  std::function<double(const VectorF&)> f_decoder = [&](const VectorF& theta) {
    MlpDecoderModel decoder = s.decoder;
    decoder.network().parameters() = theta;
    VaeObjectiveWorkspace scratch;
    return vae_objective(s.encoder, &s.flow, decoder, s.X, s.noise, options, scratch, nullptr, nullptr, nullptr);
  };
  testing::expect_gradient_matches_finite_differences(f_encoder, s.encoder.network().parameters(), grad_encoder, 1e-2,
                                                      2e-3, 1e-2, 150, "encoder");
  testing::expect_gradient_matches_finite_differences(f_flow, s.flow.parameters(), grad_flow, 1e-2, 2e-3, 1e-2, 150,
                                                      "flow");
  testing::expect_gradient_matches_finite_differences(f_decoder, s.decoder.network().parameters(), grad_decoder, 1e-2,
                                                      2e-3, 1e-2, 150, "decoder");
  // Only some gradients requested: the same values.
  VectorF flow_only;
  vae_objective(s.encoder, &s.flow, s.decoder, s.X, s.noise, options, ws, nullptr, &flow_only, nullptr);
  EXPECT_LT((flow_only - grad_flow).cwiseAbs().maxCoeff(), 1e-6f);
}

INSTANTIATE_TEST_SUITE_P(Objectives, FlowVaeObjectiveGradient,
                         ::testing::Values(FlowCase{TrainingObjective::elbo, 1, 1.0},
                                           FlowCase{TrainingObjective::elbo, 3, 0.4},
                                           FlowCase{TrainingObjective::iwae, 5, 1.0},
                                           FlowCase{TrainingObjective::iwae, 4, 0.5}),
                         [](const auto& info) {
                           const FlowCase& c = info.param;
                           return to_string(c.objective) + "_S" + std::to_string(c.samples) + "_beta" +
                                  std::to_string(static_cast<int>(c.kl_weight * 10));
                         });

// Values against FlowPosterior's own log-density and the model's log joint.
TEST(FlowVaeObjective, ValuesMatchTheFlowPosteriorDensity) {
  const Index S = 4;
  const FlowFixture s = make_fixture(S, 9);
  VaeObjectiveOptions options;
  options.samples = S;
  options.kl_estimator = KlEstimator::monte_carlo;
  VaeObjectiveWorkspace ws;
  VectorD elbo, iwae;
  vae_objective(s.encoder, &s.flow, s.decoder, s.X, s.noise, options, ws, nullptr, nullptr, nullptr, &elbo);
  options.objective = TrainingObjective::iwae;
  vae_objective(s.encoder, &s.flow, s.decoder, s.X, s.noise, options, ws, nullptr, nullptr, nullptr, &iwae);

  const FlowPosterior q = FlowPosterior::from_encoder(s.encoder, s.flow, s.X);
  const Index B = s.X.cols();
  MatrixF Z0(2, B * S), Z;
  for (Index c = 0; c < B * S; ++c)
    Z0.col(c) = (q.base_mean().col(c / S).array() +
                 (0.5 * q.base_log_variance().col(c / S).array()).exp() * s.noise.col(c).cast<double>().array())
                    .cast<float>()
                    .matrix();
  AffineCouplingFlow::Workspace fws;
  VectorD log_det;
  s.flow.forward(Z0, fws, Z, log_det);
  const MatrixD Zd = Z.cast<double>();
  const VectorD log_w = s.decoder.log_joint(s.X, Zd, S) - q.log_density(Zd, S);
  const VectorD expected_iwae = segment_log_mean_exp(log_w, S);
  for (Index b = 0; b < B; ++b) {
    EXPECT_NEAR(elbo(b), log_w.segment(b * S, S).mean(), 2e-3);
    EXPECT_NEAR(iwae(b), expected_iwae(b), 2e-3);
  }
  // The analytic KL has no meaning for a flow posterior.
  options.objective = TrainingObjective::elbo;
  options.kl_estimator = KlEstimator::analytic;
  EXPECT_THROW(vae_objective(s.encoder, &s.flow, s.decoder, s.X, s.noise, options, ws, nullptr, nullptr, nullptr),
               std::invalid_argument);
}

TEST(FlowVaeObjective, NullFlowIsTheGaussianObjective) {
  const FlowFixture s = make_fixture(2, 3);
  VaeObjectiveOptions options;
  options.samples = 2;
  VaeObjectiveWorkspace ws;
  VectorF ge1, gd1, ge2, gd2;
  const double a = vae_objective(s.encoder, s.decoder, s.X, s.noise, options, ws, &ge1, &gd1);
  const double b = vae_objective(s.encoder, nullptr, s.decoder, s.X, s.noise, options, ws, &ge2, nullptr, &gd2);
  EXPECT_EQ(a, b);
  EXPECT_EQ(ge1, ge2);
  EXPECT_EQ(gd1, gd2);
}

}  // namespace
}  // namespace vigap
