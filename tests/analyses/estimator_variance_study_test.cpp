// The estimator-variance study in process, on the linear-Gaussian VAE (tests/support): the
// variance of the single-sample ELBO estimate (analytic KL) has a closed form there, the S-sample
// estimate's is 1/S of it, and with the encoder equal to the exact posterior the IWAE estimate is
// log p(x) with no variance and the sticking-the-landing gradient vanishes.
#include "analyses/estimator_variance_study.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/variational/diagonal_gaussian.hpp"
#include "support/expect_throw_message.hpp"
#include "support/linear_gaussian_vae.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

constexpr Index kLatent = 2, kData = 6, kB = 8;

EstimatorVarianceStudyOptions small_options() {
  EstimatorVarianceStudyOptions o;
  o.elbo_samples = {1, 16};
  o.iwae_samples = {1, 4};
  o.iwae_datapoints = 0;
  o.replicates = 1000;
  return o;
}

/// Var_ε[log p(x|z)] for z = m + s ⊙ ε, ε ~ N(0, I), in the linear-Gaussian model with W's columns
/// orthogonal: log p(x|z) = c + aᵀSε/σ² - Σ_j w_j² s_j² ε_j² / (2σ²), a = Wᵀ(x - b - Wm), so
/// (the linear and the quadratic terms are uncorrelated, Var ε² = 2)
///   Var = Σ_j a_j² s_j² / σ⁴ + w_j⁴ s_j⁴ / (2σ⁴).
/// The single-sample ELBO with analytic KL, log p(x|z) - KL(q ‖ p(z)), has this variance.
double single_sample_elbo_variance(const testing::LinearGaussianVae& v, const DiagonalGaussian& q, Index b) {
  const double s4 = std::pow(v.sigma, 4);
  const VectorD m = q.mean().col(b);
  const VectorD s2 = q.log_variance().col(b).array().exp();
  const VectorD a = v.W.transpose() * (v.X.col(b).cast<double>() - v.b - v.W * m);
  double variance = 0.0;
  for (Index j = 0; j < m.size(); ++j) {
    const double w2 = v.W.col(j).squaredNorm();
    variance += a(j) * a(j) * s2(j) / s4 + w2 * w2 * s2(j) * s2(j) / (2.0 * s4);
  }
  return variance;
}

/// log N(x_b; b, WWᵀ + σ²I).
double log_marginal(const testing::LinearGaussianVae& v, Index b) {
  const Index D = v.W.rows();
  const MatrixD C = v.W * v.W.transpose() + v.sigma * v.sigma * MatrixD::Identity(D, D);
  const Eigen::LLT<MatrixD> llt(C);
  const VectorD r = v.X.col(b).cast<double>() - v.b;
  const double log_det = 2.0 * llt.matrixLLT().diagonal().array().log().sum();
  return -0.5 * (static_cast<double>(D) * std::log(2.0 * M_PI) + log_det + r.dot(llt.solve(r)));
}

TEST(EstimatorVarianceStudy, ElboVarianceIsItsClosedFormOverS) {
  // An encoder off the posterior (means shifted by 0.8 sd, variances x 1.5): every variance > 0.
  const auto v = testing::make_linear_gaussian_vae(kLatent, kData, kB, 71, 0.8, 1.5);
  const DiagonalGaussian q = DiagonalGaussian::from_encoder(v.encoder, v.X);
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(72), 0, kB);
  const EstimatorVarianceStudy study = compute_estimator_variance_study(v.encoder, v.decoder, v.X, small_options(), streams);
  ASSERT_EQ(study.elbo.results.size(), 2u);
  double exact_single = 0.0;
  for (Index b = 0; b < kB; ++b) exact_single += single_sample_elbo_variance(v, q, b) / static_cast<double>(kB);
  ASSERT_GT(exact_single, 0.0);

  // Each S: the mean over datapoints of the per-datapoint variances is Var_1 / S. A sample
  // variance is skewed and its reported error grows with it, so the check is on the log scale
  // (delta method: log v has standard error se / v). The error is itself estimated from the
  // draws: over 201 seed offsets log(v / exact) / (se / v) had mean 0.02 and sd 0.97 (S = 1),
  // 1.06 (S = 16), largest |.| 4.2; so the bound is 4.4 of them (P <~ 1e-4 with that spread;
  // R = 1000 replicates of 8 datapoints).
  std::vector<double> relative_se;
  for (size_t i = 0; i < 2; ++i) {
    const Estimate& variance = study.elbo.results[i][0].objective_variance;
    const double expected = exact_single / static_cast<double>(study.elbo.counts[i]);
    ASSERT_GT(variance.monte_carlo_standard_error, 0.0);
    relative_se.push_back(variance.monte_carlo_standard_error / variance.value);
    EXPECT_NEAR(std::log(variance.value / expected), 0.0, 4.4 * relative_se.back())
        << "S = " << study.elbo.counts[i] << ": " << variance.value << " ± " << variance.monte_carlo_standard_error
        << ", exact " << expected;
  }
  // The log-log slope through S = 1 and 16 is -1; by the delta method its standard error is
  // sqrt(se_0² + se_1²) / log 16 in relative errors (the counts draw independent noise).
  ASSERT_EQ(study.log_log_slopes[0].name, "elbo_variance_analytic_kl_vs_S");
  const double slope_se = std::hypot(relative_se[0], relative_se[1]) / std::log(16.0);
  EXPECT_NEAR(study.log_log_slopes[0].value, -1.0, 4.4 * slope_se);
  // Off the posterior the Monte Carlo KL's estimate varies too.
  const Estimate& mc = study.elbo.results[0][1].objective_variance;
  EXPECT_GT(mc.value, 0.0);

  // Reported keys and tables.
  const nlohmann::ordered_json results = study.results_json(false);
  ASSERT_EQ(results["elbo_vs_samples"].size(), 2u);
  EXPECT_EQ(results["elbo_vs_samples"][1]["S"], 16);
  EXPECT_TRUE(results["elbo_vs_samples"][0]["elbo_analytic_kl"].contains("decoder"));
  EXPECT_FALSE(results["elbo_vs_samples"][0]["elbo_stl"].contains("decoder"));
  EXPECT_EQ(results["iwae_vs_samples"][1]["K"], 4);
  EXPECT_TRUE(results["log_log_slopes"]["decoder_mean_snr_vs_K"].is_number());
  const std::string markdown = study.to_markdown();
  for (const char* fragment : {"| S ", "| K ", "log-log slopes: elbo_variance_analytic_kl_vs_S"})
    EXPECT_NE(markdown.find(fragment), std::string::npos) << fragment;
  EXPECT_TRUE(study.timings_json()["elbo_sweep"].contains("elbo_stl_S16_seconds"));
}

TEST(EstimatorVarianceStudy, AtTheExactPosteriorIwaeIsLogPxAndStlVanishes) {
  const auto v = testing::make_linear_gaussian_vae(kLatent, kData, kB, 73);  // encoder = p(z|x)
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(74), 0, kB);
  EstimatorVarianceStudyOptions options = small_options();
  options.replicates = 20;
  const EstimatorVarianceStudy study = compute_estimator_variance_study(v.encoder, v.decoder, v.X, options, streams);
  double log_px = 0.0;
  for (Index b = 0; b < kB; ++b) log_px += log_marginal(v, b) / static_cast<double>(kB);
  // log p(x, z) - log q(z|x) = log p(x) for every z: the estimates are exact up to the float
  // arithmetic of the networks (a relative 1e-6 of the terms, ~10 nats).
  const double rounding = 1e-4;
  for (size_t i = 0; i < study.iwae.counts.size(); ++i) {
    const GradientVarianceResult& r = study.iwae.results[i][0];
    EXPECT_NEAR(r.objective_mean.value, log_px, rounding) << "K = " << study.iwae.counts[i];
    EXPECT_LT(r.objective_variance.value, rounding * rounding) << "K = " << study.iwae.counts[i];
  }
  EXPECT_LT(study.elbo.results[0][1].objective_variance.value, rounding * rounding);  // Monte Carlo KL
  // The analytic-KL ELBO estimate still varies (log p(x|z) does).
  EXPECT_GT(study.elbo.results[0][0].objective_variance.value, 1e-2);
  // Sticking the landing: the encoder gradient is 0 at q = p(z|x) for every ε, the reparameterized
  // one is not.
  const double reparameterized = study.elbo.results[0][1].encoder.total_variance.value;
  EXPECT_GT(reparameterized, 1e-2);
  EXPECT_LT(study.elbo.results[0][2].encoder.total_variance.value, 1e-6 * reparameterized);
}

TEST(EstimatorVarianceStudy, ACountsResultsDoNotDependOnTheOtherCountsOrDatapoints) {
  const auto v = testing::make_linear_gaussian_vae(kLatent, kData, kB, 75, 0.5, 1.3);
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(76), 0, kB);
  EstimatorVarianceStudyOptions options = small_options();
  options.replicates = 10;
  options.iwae_samples = {};
  const EstimatorVarianceStudy both = compute_estimator_variance_study(v.encoder, v.decoder, v.X, options, streams);
  EXPECT_FALSE(both.results_json(false).contains("iwae_vs_samples"));
  EXPECT_EQ(both.log_log_slopes.size(), 4u);  // no K slopes
  options.elbo_samples = {16};
  const EstimatorVarianceStudy alone = compute_estimator_variance_study(v.encoder, v.decoder, v.X, options, streams);
  EXPECT_EQ(alone.elbo.to_json(true).dump(), nlohmann::ordered_json::array({both.elbo.to_json(true)[1]}).dump());
  // The last 3 datapoints alone: their per-datapoint values, bit for bit.
  const MatrixF tail = v.X.rightCols(3);
  const EstimatorVarianceStudy part =
      compute_estimator_variance_study(v.encoder, v.decoder, tail, options, streams.slice(kB - 3, 3));
  for (Index b = 0; b < 3; ++b)
    EXPECT_EQ(part.elbo.results[0][2].encoder.total_variance.per_datapoint(b),
              alone.elbo.results[0][2].encoder.total_variance.per_datapoint(kB - 3 + b))
        << b;
}

TEST(EstimatorVarianceStudy, BadOptionsAreRejectedWithTheirNames) {
  const auto v = testing::make_linear_gaussian_vae(kLatent, kData, 2, 77);
  const RandomStreams streams = RandomStreams::consecutive(1, 0, 2);
  const auto study_with = [&](const EstimatorVarianceStudyOptions& o) {
    return [&v, &streams, o] { compute_estimator_variance_study(v.encoder, v.decoder, v.X, o, streams); };
  };
  EstimatorVarianceStudyOptions o = small_options();
  o.replicates = 3;
  testing::expect_throw_message<std::invalid_argument>(study_with(o), {"--replicates", "3"});
  o = small_options();
  o.elbo_samples = {};
  testing::expect_throw_message<std::invalid_argument>(study_with(o), {"--samples", "at least one"});
  o.elbo_samples = {5, 2};
  testing::expect_throw_message<std::invalid_argument>(study_with(o), {"--samples", "increasing", "'5,2'"});
  o = small_options();
  o.iwae_samples = {0};
  testing::expect_throw_message<std::invalid_argument>(study_with(o), {"--iwae-samples"});
  o = small_options();
  o.iwae_datapoints = -1;
  testing::expect_throw_message<std::invalid_argument>(study_with(o), {"--iwae-num-datapoints"});
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_estimator_variance_study(v.encoder, v.decoder, v.X, small_options(), RandomStreams::consecutive(1, 0, 3)); },
      {"compute_estimator_variance_study"});
}

}  // namespace
}  // namespace vigap
