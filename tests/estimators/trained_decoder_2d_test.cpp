// A VAE with 2-D latents trained on synthetic 28 x 28 images in Fashion-MNIST's layout
// (tests/support/synthetic_idx_dataset.hpp): AIS, IWAE, importance sampling and the ELBO against
// exact quadrature on 100 test points (the check the estimators exist for).
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <memory>

#include "core/data/idx_dataset.hpp"
#include "core/io/vae_checkpoint.hpp"
#include "core/training/vae_trainer.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "estimators/annealed_importance_sampling.hpp"
#include "estimators/elbo_estimator.hpp"
#include "estimators/exact_marginal_likelihood.hpp"
#include "estimators/iwae_bound.hpp"
#include "estimators/kl_divergence_quadrature.hpp"
#include "support/synthetic_idx_dataset.hpp"
#include "support/temporary_directory.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

struct TrainedModel {
  std::unique_ptr<Vae> vae;
  MatrixF test_points;  // 100 binarized test images
  ExactMarginalLikelihood exact;
};

// Trains once for the whole suite: 784-64-4 encoder, 2-64-784 tanh Bernoulli decoder, 6,000
// synthetic training images (read back through load_fashion_mnist), 5 epochs of the ELBO (about a
// second).
const TrainedModel& trained_model() {
  static const TrainedModel model = [] {
    TrainedModel m;
    const testing::TemporaryDirectory directory;
    testing::SyntheticIdxOptions data;
    data.train_images = 6000;
    data.test_images = 100;
    testing::write_synthetic_idx_dataset(directory.path(), data);
    const Dataset train = load_fashion_mnist("train", directory.path().string());
    const Dataset test = load_fashion_mnist("test", directory.path().string());
    VaeArchitecture architecture;
    architecture.latent_dim = 2;
    architecture.encoder_hidden = {64};
    architecture.decoder_hidden = {64};
    m.vae = std::make_unique<Vae>(architecture);
    // The trained model is a fixture (fixed seed): quadrature on it is deterministic. With other
    // training seeds quadrature can leave a point unconverged (seed 2025: 1 of 100, issue 10 item 7).
    Rng rng(2024);
    m.vae->encoder->network().initialize(rng);
    m.vae->decoder.network().initialize(rng);
    VaeTrainerOptions options;
    options.epochs = 5;
    train_vae(*m.vae->encoder, m.vae->decoder, train.images, MatrixF(784, 0), options, rng);
    m.test_points = binarize(test.images, Binarization::dynamic, 0.5f, rng);
    m.exact = exact_marginal_likelihood(m.vae->decoder, m.test_points);
    return m;
  }();
  return model;
}

TEST(TrainedDecoder2d, QuadratureConvergesOnEveryPoint) {
  const TrainedModel& m = trained_model();
  EXPECT_EQ(m.exact.unconverged, 0);
  EXPECT_LT(m.exact.log_marginal_likelihood.per_datapoint_standard_error.maxCoeff(), 1e-4);
  // A trained model explains the data far better than chance (784 log 2 = 543 nats).
  EXPECT_GT(m.exact.log_marginal_likelihood.value, -400.0);
}

TEST(TrainedDecoder2d, QuadratureErrorEstimatesBoundTheErrorOfAMuchFinerRuleAndTrackIt) {
  // Reference for 20 of the points: the prior-box rule alone with 561 nodes per dimension
  // (spacing 0.025, 16 times the default's node count), which needs no refinement frames.
  const TrainedModel& m = trained_model();
  const Index n = 20;
  const MatrixF X = m.test_points.leftCols(n);
  QuadratureOptions fine;
  fine.coarse_nodes_per_dimension = 561;
  fine.max_refinements = 0;
  const ExactMarginalLikelihood reference = exact_marginal_likelihood(m.vae->decoder, X, fine);
  const Estimate& e = m.exact.log_marginal_likelihood;
  const Estimate& r = reference.log_marginal_likelihood;
  // Above 1e-5 nats, the float decoder's own rounding floor at D = 784 (see QuadratureOptions::tolerance).
  const double floor = 1e-5;
  double worst_ratio = 0.0;
  for (Index b = 0; b < n; ++b) {
    ASSERT_TRUE(std::isfinite(r.per_datapoint_standard_error(b))) << "reference unresolved at datapoint " << b;
    const double error = std::abs(e.per_datapoint(b) - r.per_datapoint(b));
    EXPECT_LE(error, e.per_datapoint_standard_error(b) + r.per_datapoint_standard_error(b) + floor) << "datapoint " << b;
    worst_ratio = std::max(worst_ratio, e.per_datapoint_standard_error(b) / std::max(error, floor));
  }
  EXPECT_LE(worst_ratio, 100.0);
  std::cout << "[ tightness ] trained 2-64-784 decoder: max estimate / max(error, 1e-5) " << worst_ratio << "\n";
  EXPECT_TRUE(e.settings.at("datapoints_over_tolerance").empty());
}

TEST(TrainedDecoder2d, AisAtItsDefaultSettingsIsWithinATenthOfANatOfQuadrature) {
  const TrainedModel& m = trained_model();
  AisOptions options;  // the documented defaults
  Rng rng(testing::test_seed(7));
  // The first 20 of the 100 points: the defaults cost about 2e5 gradient columns per datapoint
  // (T = 1000, L = 10, 16 + 2 chains), which on 100 points took 173 s of the suite's 190 s.
  const Index n = 20;
  const MatrixF X = m.test_points.leftCols(n);
  const AnnealedImportanceSamplingResult ais = annealed_importance_sampling(m.vae->decoder, X, options, rng);
  const double exact = m.exact.log_marginal_likelihood.per_datapoint.head(n).mean();
  // Within 0.1 nats (its bias at the default schedule) plus 3.9 standard errors of noise.
  EXPECT_NEAR(ais.estimate.value, exact, 0.1 + 3.9 * ais.estimate.monte_carlo_standard_error)
      << "AIS " << ais.estimate.value << " ± "
                                              << ais.estimate.monte_carlo_standard_error << ", quadrature " << exact;
  // A stochastic lower bound: never clearly above the truth.
  EXPECT_LT(ais.estimate.value, exact + 4.0 * ais.estimate.monte_carlo_standard_error);
}

TEST(TrainedDecoder2d, IwaeRisesWithKTowardQuadratureAndTheElboIsExact) {
  const TrainedModel& m = trained_model();
  const DiagonalGaussian q = DiagonalGaussian::from_encoder(*m.vae->encoder, m.test_points);
  const double exact = m.exact.log_marginal_likelihood.value;
  Rng rng(testing::test_seed(8));
  double previous = -std::numeric_limits<double>::infinity(), previous_se = 0.0, first_gap = 0.0, last_gap = 0.0;
  for (Index K : {1, 10, 100, 1000}) {
    IwaeBoundOptions options;
    options.samples = K;
    options.replicates = 2;
    const Estimate iwae = estimate_iwae_bound(m.vae->decoder, q, m.test_points, options, rng);
    const double se = iwae.monte_carlo_standard_error;
    // One-sided, independent draws for each K: 3.9 combined standard errors (P <~ 5e-5 each).
    EXPECT_GT(iwae.value, previous - 3.9 * std::hypot(se, previous_se)) << "K = " << K;
    EXPECT_LT(iwae.value, exact + 3.9 * se) << "K = " << K;
    if (K == 1) first_gap = exact - iwae.value;
    last_gap = exact - iwae.value;
    previous = iwae.value;
    previous_se = se;
  }
  EXPECT_LT(last_gap, 0.5 * first_gap);

  // The ELBO by sampling agrees with the exact ELBO, and log p(x) = ELBO + KL holds exactly.
  ElboOptions elbo_options;
  elbo_options.samples = 200;
  const Estimate elbo = estimate_elbo(m.vae->decoder, q, m.test_points, elbo_options, rng);
  const QuadratureKlDivergence kl = kl_divergence_by_quadrature(m.vae->decoder, q, m.test_points,
                                                                m.exact.log_marginal_likelihood, {}, rng);
  EXPECT_NEAR(elbo.value, kl.elbo.value, 4.0 * elbo.monte_carlo_standard_error + 1e-4);
  EXPECT_NEAR(kl.elbo.value + kl.kl_divergence.value, exact, 1e-6);
  EXPECT_GT(kl.kl_divergence.per_datapoint.minCoeff(), 0.0);
}

}  // namespace
}  // namespace vigap
