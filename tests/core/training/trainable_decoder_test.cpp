// The training code works through the TrainableDecoder interface: a linear test double (no MLP)
// has correct hand-written gradients, and train_vae and the exact marginal-likelihood objective
// train it.
#include <gtest/gtest.h>

#include <functional>

#include "core/training/exact_marginal_likelihood_objective.hpp"
#include "core/training/vae_trainer.hpp"
#include "core/variational/gaussian_encoder.hpp"
#include "support/finite_difference.hpp"
#include "support/linear_bernoulli_decoder.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::LinearBernoulliDecoder;

LinearBernoulliDecoder make_decoder(Rng& rng) {
  LinearBernoulliDecoder decoder(2, 6);
  fill_standard_normal(decoder.parameters(), rng);
  return decoder;
}

TEST(LinearBernoulliDecoder, BackwardMatchesFiniteDifferences) {
  Rng rng(testing::test_seed(31));
  const LinearBernoulliDecoder decoder = make_decoder(rng);
  const Index S = 3;
  const MatrixF X = decoder.sample(4, rng).data;
  MatrixF Z(2, 4 * S);
  fill_standard_normal(Z, rng);
  VectorF weights(4 * S);
  for (Index c = 0; c < weights.size(); ++c) weights(c) = 0.1f * static_cast<float>(c + 1);
  const auto objective = [&](const LinearBernoulliDecoder& d, const MatrixF& latents) {
    auto ws = d.make_workspace(ColumnBlocking::balanced);
    return d.forward(X, latents, S, *ws).dot(weights.cast<double>());
  };
  auto ws = decoder.make_workspace(ColumnBlocking::balanced);
  decoder.forward(X, Z, S, *ws);
  VectorF grad_parameters = VectorF::Zero(decoder.num_parameters());
  MatrixF grad_Z;
  decoder.backward(X, Z, S, weights, *ws, &grad_parameters, &grad_Z);

  const std::function<double(const VectorF&)> f_theta = [&](const VectorF& theta) {
    LinearBernoulliDecoder d = decoder;
    d.parameters() = theta;
    return objective(d, Z);
  };
  testing::expect_gradient_matches_finite_differences(f_theta, decoder.parameters(), grad_parameters, 1e-2, 2e-3,
                                                      1e-2, 100, "∂F/∂θ");
  const std::function<double(const VectorF&)> f_z = [&](const VectorF& z) {
    return objective(decoder, Eigen::Map<const MatrixF>(z.data(), 2, 4 * S));
  };
  testing::expect_gradient_matches_finite_differences(f_z, Eigen::Map<const VectorF>(Z.data(), Z.size()),
                                                      Eigen::Map<const VectorF>(grad_Z.data(), grad_Z.size()), 1e-2,
                                                      2e-3, 1e-2, 100, "∂F/∂Z");
}

TEST(LinearBernoulliDecoder, ExactMarginalLikelihoodGradientThroughOutputMatchesFiniteDifferences) {
  Rng rng(testing::test_seed(32));
  const LinearBernoulliDecoder decoder = make_decoder(rng);
  const MatrixF X = decoder.sample(5, rng).data;
  ExactMarginalLikelihoodObjectiveOptions options;
  options.cells_per_dimension = 40;
  options.random_shift = false;
  const LatentGrid grid = shifted_latent_grid(2, options, VectorD::Zero(2));
  VectorF gradient;
  exact_marginal_likelihood_objective(decoder, X, grid, 300, &gradient);
  const std::function<double(const VectorF&)> f = [&](const VectorF& theta) {
    LinearBernoulliDecoder d = decoder;
    d.parameters() = theta;
    return exact_marginal_likelihood_objective(d, X, grid, 300, nullptr);
  };
  testing::expect_gradient_matches_finite_differences(f, decoder.parameters(), gradient, 1e-2, 2e-3, 1e-2, 100,
                                                      "∂ log p̂(x)/∂θ");
}

TEST(LinearBernoulliDecoder, TrainVaeTrainsItThroughTheInterface) {
  Rng rng(testing::test_seed(33));
  const LinearBernoulliDecoder truth = make_decoder(rng);
  const MatrixF X = truth.sample(400, rng).data;
  LinearBernoulliDecoder decoder(2, 6);  // starts at θ = 0
  GaussianEncoder encoder(6, {8}, 2, Activation::tanh);
  encoder.network().initialize(rng);
  VaeObjectiveOptions elbo;
  elbo.samples = 10;
  Rng before_rng(testing::test_seed(1));
  const double elbo_before = evaluate_vae_objective(encoder, decoder, X, elbo, 100, before_rng).mean;
  VaeTrainerOptions options;
  options.epochs = 10;
  options.batch_size = 40;
  options.learning_rate.initial = 3e-2;
  options.binarization = Binarization::none;
  const VaeTrainingSummary summary =
      train_vae(encoder, decoder, X, X.leftCols(100), options, rng);
  ASSERT_EQ(summary.epochs.size(), 10u);
  EXPECT_FALSE(decoder.parameters().isZero());
  Rng after_rng(testing::test_seed(1));
  const double elbo_after = evaluate_vae_objective(encoder, decoder, X, elbo, 100, after_rng).mean;
  EXPECT_GT(elbo_after, elbo_before + 0.3) << "before " << elbo_before << ", after " << elbo_after;
  EXPECT_GT(summary.epochs.back().validation_elbo, summary.epochs.front().validation_elbo);
}

}  // namespace
}  // namespace vigap
