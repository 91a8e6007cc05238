// The exact marginal-likelihood training objective: its gradient against finite differences of
// the objective itself, its value against the adaptive quadrature of estimators/ (which shares
// no code with it), the unbiasedness of the randomly shifted grid for p(x), training that raises
// the exact log p(x) of the training set, and its input checks.
#include "core/models/mlp_decoder_model.hpp"
#include "core/training/exact_marginal_likelihood_objective.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "core/math/mean_and_standard_error.hpp"
#include "core/training/exact_marginal_likelihood_trainer.hpp"
#include "estimators/exact_marginal_likelihood.hpp"
#include "support/expect_throw_message.hpp"
#include "support/finite_difference.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

/// A random 2-D decoder with weights scaled up (sharper posteriors than the initialization's)
/// and B datapoints drawn from it.
struct DecoderAndData {
  MlpDecoderModel decoder;
  MatrixF X;
};

DecoderAndData make_setup(Index data_dim, Index hidden, Index B, float scale, std::uint64_t seed) {
  DecoderAndData s{MlpDecoderModel(2, {hidden}, data_dim, Activation::tanh, Likelihood::bernoulli), MatrixF()};
  Rng rng(seed);  // a fixture (e.g. posteriors narrower than a coarse cell): fixed; the draws take test_seed
  s.decoder.network().initialize(rng);
  s.decoder.network().parameters() *= scale;
  s.X = s.decoder.sample(B, rng).data;
  return s;
}

TEST(ExactMarginalLikelihoodObjective, GradientMatchesFiniteDifferences) {
  const DecoderAndData s = make_setup(12, 8, 5, 2.0f, 7);
  ExactMarginalLikelihoodObjectiveOptions options;
  options.half_width = 4.0;
  options.cells_per_dimension = 48;
  VectorD shift(2);
  shift << 0.031, -0.047;  // a shifted grid, as in training
  const LatentGrid grid = shifted_latent_grid(2, options, shift);
  VectorF gradient;
  const double value = exact_marginal_likelihood_objective(s.decoder, s.X, grid, 500, &gradient);
  ASSERT_TRUE(std::isfinite(value));
  ASSERT_GT(gradient.norm(), 1e-2) << "a vanishing gradient would make the check vacuous";
  const std::function<double(const VectorF&)> f = [&](const VectorF& theta) {
    MlpDecoderModel decoder = s.decoder;
    decoder.network().parameters() = theta;
    return exact_marginal_likelihood_objective(decoder, s.X, grid, 500, nullptr);
  };
  testing::expect_gradient_matches_finite_differences(f, s.decoder.network().parameters(), gradient, 1e-2, 2e-3, 1e-2,
                                                      150, "decoder");
}

TEST(ExactMarginalLikelihoodObjective, GradientDoesNotDependOnTheBlockSize) {
  const DecoderAndData s = make_setup(12, 8, 4, 2.0f, 8);
  ExactMarginalLikelihoodObjectiveOptions options;
  options.half_width = 4.0;
  options.cells_per_dimension = 30;
  const LatentGrid grid = shifted_latent_grid(2, options, VectorD::Zero(2));
  VectorF one_block, many_blocks;
  VectorD per_one, per_many;
  exact_marginal_likelihood_objective(s.decoder, s.X, grid, grid.size(), &one_block, &per_one);
  exact_marginal_likelihood_objective(s.decoder, s.X, grid, 37, &many_blocks, &per_many);
  EXPECT_LT((per_one - per_many).cwiseAbs().maxCoeff(), 1e-5);
  EXPECT_LT((one_block - many_blocks).norm(), 1e-4 * one_block.norm());
}

TEST(ExactMarginalLikelihoodObjective, FineFixedGridAgreesWithAdaptiveQuadrature) {
  const DecoderAndData s = make_setup(60, 16, 20, 3.0f, 9);
  ExactMarginalLikelihoodObjectiveOptions options;
  options.half_width = 6.0;
  options.cells_per_dimension = 240;  // h = 0.05
  options.random_shift = false;
  const LatentGrid grid = shifted_latent_grid(2, options, VectorD::Zero(2));
  VectorD grid_values;
  exact_marginal_likelihood_objective(s.decoder, s.X, grid, 4096, nullptr, &grid_values);
  QuadratureOptions adaptive;
  adaptive.tolerance = 1e-4;  // the float floor of this decoder is ~1e-5
  const ExactMarginalLikelihood truth = exact_marginal_likelihood(s.decoder, s.X, adaptive);
  ASSERT_EQ(truth.unconverged, 0);
  const VectorD difference = grid_values - truth.log_marginal_likelihood.per_datapoint;
  // Float products over 60 pixels: ~1e-5; the grid resolves posteriors of these widths far better.
  EXPECT_LT(difference.cwiseAbs().maxCoeff(), 1e-3) << difference.transpose();
  // And a coarse grid cannot: the test can tell a resolved grid from an unresolved one.
  options.cells_per_dimension = 6;  // h = 2
  VectorD coarse;
  exact_marginal_likelihood_objective(s.decoder, s.X, shifted_latent_grid(2, options, VectorD::Zero(2)), 4096,
                                      nullptr, &coarse);
  EXPECT_GT((coarse - truth.log_marginal_likelihood.per_datapoint).cwiseAbs().maxCoeff(), 1e-2);
}

TEST(ExactMarginalLikelihoodObjective, RandomShiftIsUnbiasedForTheMarginalLikelihood) {
  // On a coarse grid (h = 1, posteriors narrower than a cell) single estimates of p(x) scatter
  // widely, but their mean over shifts is p(x): the ratio p̂/p averages to 1 within its error.
  const DecoderAndData s = make_setup(30, 8, 3, 2.0f, 10);
  ExactMarginalLikelihoodObjectiveOptions options;
  options.half_width = 7.0;
  options.cells_per_dimension = 14;
  const ExactMarginalLikelihood truth = exact_marginal_likelihood(s.decoder, s.X);
  Rng rng(testing::test_seed(11));
  const Index shifts = 400;
  MatrixD ratios(s.X.cols(), shifts);
  VectorD values;
  for (Index k = 0; k < shifts; ++k) {
    const LatentGrid grid = shifted_latent_grid(2, options, draw_grid_shift(2, options, rng));
    exact_marginal_likelihood_objective(s.decoder, s.X, grid, 4096, nullptr, &values);
    ratios.col(k) = (values - truth.log_marginal_likelihood.per_datapoint).array().exp().matrix();
  }
  for (Index b = 0; b < s.X.cols(); ++b) {
    const MeanAndStandardError stats = mean_and_standard_error(ratios.row(b));
    EXPECT_GT(stats.standard_error, 1e-3) << "datapoint " << b << ": the coarse grid should scatter";
    EXPECT_NEAR(stats.mean, 1.0, 4.0 * stats.standard_error) << "datapoint " << b;
  }
}

TEST(ExactMarginalLikelihoodObjective, TrainingRaisesTheExactLogMarginalLikelihood) {
  // Data from a sharper "teacher" decoder; a fresh student trained by the grid objective must
  // raise the exact (adaptive quadrature) log p(x) of its training set, and the fixed-grid
  // objective must still agree with the adaptive quadrature on the trained decoder.
  const DecoderAndData teacher = make_setup(40, 16, 300, 3.0f, 12);
  MlpDecoderModel student(2, {16}, 40, Activation::tanh, Likelihood::bernoulli);
  Rng rng(testing::test_seed(13));
  student.network().initialize(rng);
  const double before = exact_marginal_likelihood(student, teacher.X).log_marginal_likelihood.value;
  VaeTrainerOptions trainer;
  trainer.epochs = 15;
  trainer.batch_size = 50;
  trainer.learning_rate.initial = 1e-2;
  trainer.binarization = Binarization::none;
  ExactMarginalLikelihoodObjectiveOptions grid;
  grid.half_width = 4.0;
  grid.cells_per_dimension = 80;  // h = 0.1
  const ExactMarginalLikelihoodTrainingSummary summary = train_decoder_by_exact_marginal_likelihood(
      student, teacher.X, MatrixF(40, 0), trainer, grid, rng);
  ASSERT_EQ(summary.epochs.size(), 15u);
  const ExactMarginalLikelihood after = exact_marginal_likelihood(student, teacher.X);
  EXPECT_GT(after.log_marginal_likelihood.value, before + 1.0)
      << "before " << before << ", after " << after.log_marginal_likelihood.value;
  grid.random_shift = false;
  grid.cells_per_dimension = 160;
  const double fixed = exact_marginal_likelihood_objective(student, teacher.X, shifted_latent_grid(2, grid, VectorD::Zero(2)),
                                                           4096, nullptr);
  EXPECT_NEAR(fixed, after.log_marginal_likelihood.value, 2e-3);
}

TEST(ExactMarginalLikelihoodObjective, BadInputsAreNamed) {
  ExactMarginalLikelihoodObjectiveOptions options;
  options.cells_per_dimension = 0;
  testing::expect_throw_message<std::invalid_argument>([&] { options.validate(2); }, {"--grid-cells", ">= 1", "0"});
  options = {};
  options.half_width = -1.0;
  testing::expect_throw_message<std::invalid_argument>([&] { options.validate(2); }, {"--grid-half-width", "> 0"});
  options = {};
  testing::expect_throw_message<std::invalid_argument>([&] { options.validate(4); }, {"latent dimension", "found 4"});
  testing::expect_throw_message<std::invalid_argument>(
      [&] { shifted_latent_grid(2, options, VectorD::Constant(2, 1.0)); }, {"beyond half a cell"});
  MlpDecoderModel gaussian(2, {4}, 5, Activation::tanh, Likelihood::gaussian);
  options.cells_per_dimension = 4;
  const LatentGrid grid = shifted_latent_grid(2, options, VectorD::Zero(2));
  testing::expect_throw_message<std::invalid_argument>(
      [&] { exact_marginal_likelihood_objective(gaussian, MatrixF::Zero(5, 2), grid, 16, nullptr); },
      {"Bernoulli decoder", "gaussian"});
}

}  // namespace
}  // namespace vigap
