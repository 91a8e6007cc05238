// The evaluation-side ELBO and IWAE estimators must compute the same per-datapoint values as the
// training objective (core/training/vae_objective.hpp) for the same noise.
#include <gtest/gtest.h>

#include "core/models/mlp_decoder_model.hpp"
#include "core/variational/gaussian_encoder.hpp"
#include "core/training/vae_objective.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "estimators/elbo_estimator.hpp"
#include "estimators/iwae_bound.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

struct SmallVae {
  GaussianEncoder encoder;
  MlpDecoderModel decoder;
  MatrixF X;
};

SmallVae make_small_vae(Likelihood likelihood, std::uint64_t seed) {
  const Index D = 20, d = 3, B = 4;
  SmallVae v{GaussianEncoder(D, {16}, d, Activation::tanh), MlpDecoderModel(d, {16}, D, Activation::tanh, likelihood),
             MatrixF(D, B)};
  Rng rng(testing::test_seed(seed));
  v.encoder.network().initialize(rng);
  v.decoder.network().initialize(rng);
  for (Index i = 0; i < v.X.size(); ++i) v.X(i) = uniform_01(rng) < 0.5 ? 1.0f : 0.0f;
  return v;
}

// The noise the estimators draw from Rng(seed): one standard-normal d x B matrix per sample index
// (sweep_log_weights calls q.sample_with_log_density(1, rng) per index), laid out for vae_objective.
MatrixF estimator_noise(Index d, Index B, Index S, std::uint64_t seed) {
  Rng rng(testing::test_seed(seed));
  MatrixF noise(d, B * S);
  for (Index s = 0; s < S; ++s) {
    const MatrixD draw = standard_normal_matrix(d, B, rng);
    for (Index b = 0; b < B; ++b) noise.col(b * S + s) = draw.col(b).cast<float>();
  }
  return noise;
}

VectorD training_per_datapoint(const SmallVae& v, const MatrixF& noise, TrainingObjective objective, KlEstimator kl,
                               Index samples) {
  VaeObjectiveOptions options;
  options.objective = objective;
  options.kl_estimator = kl;
  options.samples = samples;
  VaeObjectiveWorkspace workspace;
  VectorD per_datapoint;
  vae_objective(v.encoder, v.decoder, v.X, noise, options, workspace, nullptr, nullptr, &per_datapoint);
  return per_datapoint;
}

class VaeObjectiveAgreement : public ::testing::TestWithParam<Likelihood> {};

TEST_P(VaeObjectiveAgreement, ElboAndIwaeEqualTheTrainingObjectiveForTheSameNoise) {
  const SmallVae v = make_small_vae(GetParam(), 61);
  const Index d = 3, B = v.X.cols();
  const DiagonalGaussian q = DiagonalGaussian::from_encoder(v.encoder, v.X);
  const double tolerance = 1e-4;
  const std::uint64_t seed = 77;

  const Index S = 7;
  const MatrixF elbo_noise = estimator_noise(d, B, S, seed);
  for (ElboKlForm form : {ElboKlForm::monte_carlo, ElboKlForm::analytic}) {
    ElboOptions options;
    options.samples = S;
    options.kl_form = form;
    options.max_latent_columns_per_call = 5;  // chunked, and still the same draws
    Rng rng(testing::test_seed(seed));
    const Estimate elbo = estimate_elbo(v.decoder, q, v.X, options, rng);
    const VectorD training =
        training_per_datapoint(v, elbo_noise, TrainingObjective::elbo,
                               form == ElboKlForm::analytic ? KlEstimator::analytic : KlEstimator::monte_carlo, S);
    for (Index b = 0; b < B; ++b)
      EXPECT_NEAR(elbo.per_datapoint(b), training(b), tolerance) << to_string(form) << " datapoint " << b;
  }

  const Index K = 9;
  const MatrixF iwae_noise = estimator_noise(d, B, K, seed);
  IwaeBoundOptions options;
  options.samples = K;
  Rng rng(testing::test_seed(seed));
  const Estimate iwae = estimate_iwae_bound(v.decoder, q, v.X, options, rng);
  const VectorD training = training_per_datapoint(v, iwae_noise, TrainingObjective::iwae, KlEstimator::analytic, K);
  for (Index b = 0; b < B; ++b) EXPECT_NEAR(iwae.per_datapoint(b), training(b), tolerance) << "IWAE datapoint " << b;
}

INSTANTIATE_TEST_SUITE_P(Likelihoods, VaeObjectiveAgreement,
                         ::testing::Values(Likelihood::bernoulli, Likelihood::gaussian));

}  // namespace
}  // namespace vigap
