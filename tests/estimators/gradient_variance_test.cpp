// estimate_gradient_variance against closed forms and a direct computation: the variance of the
// single-sample analytic-KL ELBO on the linear-Gaussian model, the trace / SNR summaries against a
// two-pass computation from stored gradients, the 1/S law of the averaged ELBO gradient, and STL's
// zero variance at the exact posterior.
#include "estimators/gradient_variance.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/variational/gaussian_encoder.hpp"
#include "support/linear_gaussian_vae.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

GradientVarianceOptions variance_options(TrainingObjective objective, KlEstimator kl, Index samples,
                                         EncoderGradient gradient, Index replicates) {
  GradientVarianceOptions o;
  o.objective.objective = objective;
  o.objective.kl_estimator = kl;
  o.objective.samples = samples;
  o.objective.encoder_gradient = gradient;
  o.replicates = replicates;
  return o;
}

// Single-sample ELBO with analytic KL: f = log p(x|z) - KL, z = m + Lε, so with M = W L and
// r = x - W m - b, f = const - ‖r - Mε‖² / (2σ²) and
//   Var f = (4‖Mᵀr‖² + 2‖MᵀM‖_F²) / (4σ⁴) / S   (S samples averaged).
TEST(GradientVariance, ElboVarianceMatchesTheLinearGaussianClosedForm) {
  const testing::LinearGaussianVae v = testing::make_linear_gaussian_vae(2, 6, 4, 11, 0.7, 1.8);
  GaussianEncoder::Workspace ws;
  MatrixF mean, log_variance;
  v.encoder.forward(v.X, ws, mean, log_variance);
  for (Index S : {Index{1}, Index{3}}) {
    Rng rng(testing::test_seed(2024));
    const GradientVarianceResult r = estimate_gradient_variance(
        v.encoder, v.decoder, v.X,
        variance_options(TrainingObjective::elbo, KlEstimator::analytic, S, EncoderGradient::reparameterized, 4000),
        rng);
    const double s4 = std::pow(v.sigma, 4);
    for (Index b = 0; b < v.X.cols(); ++b) {
      const MatrixD M = v.W * (0.5 * log_variance.col(b).cast<double>().array()).exp().matrix().asDiagonal();
      const VectorD residual = v.X.col(b).cast<double>() - v.W * mean.col(b).cast<double>() - v.b;
      const double truth =
          (4.0 * (M.transpose() * residual).squaredNorm() + 2.0 * (M.transpose() * M).squaredNorm()) / (4.0 * s4) /
          static_cast<double>(S);
      const double estimate = r.objective_variance.per_datapoint(b);
      const double se = r.objective_variance.per_datapoint_standard_error(b);
      EXPECT_GT(se, 0.0);
      EXPECT_LT(se, 0.1 * truth);  // the test has power: 4 s.e. is < 40% of the value
      EXPECT_NEAR(estimate, truth, 4.0 * se) << "S=" << S << " datapoint " << b;
    }
  }
}

// The streaming summaries equal a direct two-pass computation from the stored gradients (same
// noise: datapoint b's stream is the b-th split_rng of the caller's rng).
TEST(GradientVariance, SummariesEqualADirectComputationFromStoredGradients) {
  const testing::LinearGaussianVae v = testing::make_linear_gaussian_vae(2, 6, 3, 5, 0.5, 1.3);
  const Index R = 40, S = 2;
  const GradientVarianceOptions options =
      variance_options(TrainingObjective::iwae, KlEstimator::monte_carlo, S, EncoderGradient::reparameterized, R);
  Rng rng(testing::test_seed(7));
  Rng replay = rng;
  const GradientVarianceResult result = estimate_gradient_variance(v.encoder, v.decoder, v.X, options, rng);
  std::vector<Rng> streams;
  for (Index b = 0; b < v.X.cols(); ++b) streams.push_back(split_rng(replay));
  for (Index b = 0; b < v.X.cols(); ++b) {
    const MatrixF x = v.X.col(b);
    MatrixD encoder_gradients(v.encoder.network().num_parameters(), R);
    MatrixD decoder_gradients(v.decoder.network().num_parameters(), R);
    VectorD values(R);
    VaeObjectiveWorkspace ws;
    MatrixF noise(2, S);
    for (Index r = 0; r < R; ++r) {
      fill_standard_normal(noise, streams[static_cast<size_t>(b)]);
      VectorF ge, gd;
      values(r) = vae_objective(v.encoder, v.decoder, x, noise, options.objective, ws, &ge, &gd);
      encoder_gradients.col(r) = ge.cast<double>();
      decoder_gradients.col(r) = gd.cast<double>();
    }
    const double value_mean = values.mean();
    EXPECT_NEAR(result.objective_mean.per_datapoint(b), value_mean, 1e-9);
    EXPECT_NEAR(result.objective_variance.per_datapoint(b),
                (values.array() - value_mean).square().sum() / static_cast<double>(R - 1), 1e-9);
    for (const auto& [gradients, stats] : {std::pair{&encoder_gradients, &result.encoder},
                                           std::pair{&decoder_gradients, &result.decoder}}) {
      const VectorD mean = gradients->rowwise().mean();
      const VectorD variance = (gradients->colwise() - mean).rowwise().squaredNorm() / static_cast<double>(R - 1);
      std::vector<double> snr;
      for (Index i = 0; i < mean.size(); ++i)
        if (variance(i) > 1e-20) snr.push_back(std::abs(mean(i)) / std::sqrt(variance(i)));
      double snr_mean = 0.0;
      for (double s : snr) snr_mean += s / static_cast<double>(snr.size());
      std::sort(snr.begin(), snr.end());
      const size_t n = snr.size();
      const double snr_median = n % 2 == 1 ? snr[n / 2] : 0.5 * (snr[n / 2 - 1] + snr[n / 2]);
      const double trace = variance.sum();
      EXPECT_NEAR(stats->total_variance.per_datapoint(b), trace, 1e-7 * trace);
      EXPECT_NEAR(stats->mean_snr.per_datapoint(b), snr_mean, 1e-6 * snr_mean);
      EXPECT_NEAR(stats->median_snr.per_datapoint(b), snr_median, 1e-6 * snr_median);
      EXPECT_NEAR(stats->mean_squared_norm.per_datapoint(b), mean.squaredNorm() - trace / static_cast<double>(R),
                  1e-7 * (mean.squaredNorm() + trace));
    }
  }
}

// The S-sample ELBO gradient is the mean of S independent single-sample gradients, so its total
// variance is exactly 1/S of the single-sample one. At q = p(z|x) the STL encoder gradient has no
// variance at all while the reparameterized one does; the decoder gradient is the same for both.
TEST(GradientVariance, ElboGradientVarianceFallsAsOneOverSAndStlVanishesAtTheExactPosterior) {
  const testing::LinearGaussianVae shifted = testing::make_linear_gaussian_vae(2, 6, 6, 13, 0.8, 1.5);
  Rng rng1(testing::test_seed(1)), rng4(testing::test_seed(4));
  const Index R = 600;
  const GradientVarianceResult one = estimate_gradient_variance(
      shifted.encoder, shifted.decoder, shifted.X,
      variance_options(TrainingObjective::elbo, KlEstimator::analytic, 1, EncoderGradient::reparameterized, R), rng1);
  const GradientVarianceResult four = estimate_gradient_variance(
      shifted.encoder, shifted.decoder, shifted.X,
      variance_options(TrainingObjective::elbo, KlEstimator::analytic, 4, EncoderGradient::reparameterized, R), rng4);
  for (const auto& [a, b] : {std::pair{&one.encoder, &four.encoder}, std::pair{&one.decoder, &four.decoder}}) {
    const double ratio = a->total_variance.value / b->total_variance.value;
    const double relative_se = std::hypot(a->total_variance.monte_carlo_standard_error / a->total_variance.value,
                                          b->total_variance.monte_carlo_standard_error / b->total_variance.value);
    EXPECT_LT(relative_se, 0.1);
    EXPECT_NEAR(ratio, 4.0, 4.0 * 4.0 * relative_se);
  }

  const testing::LinearGaussianVae exact = testing::make_linear_gaussian_vae(2, 6, 3, 13);
  for (const auto& [objective, gradient] :
       {std::pair{TrainingObjective::elbo, EncoderGradient::sticking_the_landing},
        std::pair{TrainingObjective::iwae, EncoderGradient::doubly_reparameterized}}) {
    Rng a(testing::test_seed(3)), b(testing::test_seed(3));
    const GradientVarianceResult path = estimate_gradient_variance(
        exact.encoder, exact.decoder, exact.X, variance_options(objective, KlEstimator::monte_carlo, 2, gradient, 50), a);
    const GradientVarianceResult standard = estimate_gradient_variance(
        exact.encoder, exact.decoder, exact.X,
        variance_options(objective, KlEstimator::monte_carlo, 2, EncoderGradient::reparameterized, 50), b);
    EXPECT_GT(standard.encoder.total_variance.value, 0.1);
    EXPECT_LT(path.encoder.total_variance.value, 1e-8);
    EXPECT_LT(path.objective_variance.value, 1e-8);  // log w = log p(x) for every z
    EXPECT_EQ(path.decoder.total_variance.per_datapoint, standard.decoder.total_variance.per_datapoint);
  }
}

TEST(GradientVariance, SameSeedSameResultsWhateverTheThreadCount) {
  const testing::LinearGaussianVae v = testing::make_linear_gaussian_vae(2, 6, 5, 2, 0.3, 1.2);
  const GradientVarianceOptions options =
      variance_options(TrainingObjective::iwae, KlEstimator::monte_carlo, 3, EncoderGradient::sticking_the_landing, 20);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  Rng a(testing::test_seed(42));
  const GradientVarianceResult serial = estimate_gradient_variance(v.encoder, v.decoder, v.X, options, a);
  omp_set_num_threads(2);
  Rng b(testing::test_seed(42));
  const GradientVarianceResult parallel = estimate_gradient_variance(v.encoder, v.decoder, v.X, options, b);
  omp_set_num_threads(threads);
  EXPECT_EQ(to_json(serial, true).dump(), to_json(parallel, true).dump());
}

TEST(GradientVariance, RejectsTooFewReplicatesAndMismatchedData) {
  const testing::LinearGaussianVae v = testing::make_linear_gaussian_vae(2, 6, 2, 2);
  Rng rng(testing::test_seed(1));
  GradientVarianceOptions options;
  options.replicates = 3;
  EXPECT_THROW(estimate_gradient_variance(v.encoder, v.decoder, v.X, options, rng), std::invalid_argument);
  options.replicates = 10;
  const MatrixF wrong = MatrixF::Zero(5, 2);
  EXPECT_THROW(estimate_gradient_variance(v.encoder, v.decoder, wrong, options, rng), std::invalid_argument);
  options.objective.encoder_gradient = EncoderGradient::sticking_the_landing;  // analytic KL
  EXPECT_THROW(options.validate(), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
