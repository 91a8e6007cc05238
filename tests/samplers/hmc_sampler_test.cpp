#include "samplers/hmc_sampler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/models/linear_gaussian_model.hpp"
#include "samplers/convergence_diagnostics.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

/// The draws of datapoint b as an n x C matrix of the series f(z) per chain.
template <typename F>
MatrixD series(const HmcResult& r, Index b, F f) {
  MatrixD out(r.draws_per_chain, r.chains);
  for (Index c = 0; c < r.chains; ++c)
    for (Index t = 0; t < r.draws_per_chain; ++t)
      out(t, c) = f(r.draws.col((b * r.chains + c) * r.draws_per_chain + t));
  return out;
}

/// |estimate - truth| in units of the Monte Carlo SE sd(series) / sqrt(ESS(series)).
double standardized_error(const MatrixD& s, double truth) {
  const double mean = s.mean();
  const double sd = std::sqrt((s.array() - mean).square().sum() / (s.size() - 1.0));
  const double ess = split_effective_sample_size(s);
  return std::abs(mean - truth) / (sd / std::sqrt(ess));
}

class HmcOnLinearGaussian : public ::testing::TestWithParam<Index> {};

TEST_P(HmcOnLinearGaussian, MatchesTheClosedFormPosterior) {
  const Index d = GetParam();
  Rng rng(testing::test_seed(100 + static_cast<unsigned>(d)));
  const LinearGaussianModel model = LinearGaussianModel::random(d + 5, d, 1.0, 0.5, rng);
  const Index B = 2;
  const ModelSample data = model.sample(B, rng);
  HmcOptions options;
  options.chains = 4;
  options.warmup = 500;
  options.draws = 1000;
  const HmcResult r = hmc_sample_posterior(model, data.data, options, rng);

  ASSERT_EQ(r.draws.rows(), d);
  ASSERT_EQ(r.draws.cols(), B * 4 * 1000);
  EXPECT_EQ(r.gradient_evaluations, B * 4 * (1 + 1500 * 10));
  EXPECT_EQ(r.divergences, 0);
  const MatrixD mean = model.posterior_mean(data.data);
  const MatrixD& cov = model.posterior_covariance();
  for (Index b = 0; b < B; ++b) {
    // Dual averaging reaches the target acceptance over its last adaptation window; sampling with
    // the averaged step accepts somewhat more (as in Stan), but not everything.
    EXPECT_NEAR(r.warmup_acceptance_rate.segment(b * 4, 4).mean(), options.target_acceptance, 0.05)
        << "datapoint " << b;
    EXPECT_GT(r.acceptance_rate.segment(b * 4, 4).mean(), options.target_acceptance - 0.05) << "datapoint " << b;
    EXPECT_LT(r.acceptance_rate.segment(b * 4, 4).mean(), 0.97) << "datapoint " << b;
    for (Index j = 0; j < d; ++j) {
      // r_hat is the larger of the split R̂ of the rank-normalized draws and of the rank-normalized
      // |draws - median| (Vehtari et al. 2021). For either, over M = 8 half-chains of N = 500 draws:
      // R̂² = 1 - 1/N + B/(N W), where B/N, the variance of the half-chain means, is about
      // W·F·M/ESS of that series, F ~ χ²_{M-1}/(M-1), whose 1 - 5e-5 quantile is 31.4/7 = 4.49.
      // So R̂² - 1 <= 4.49·M/min(ESS of the two series) (dropping the -1/N) fails a correct sampler
      // with probability ≲ 1e-4; never below 1.01. (The folded series mixes more slowly than the
      // bulk: at bulk ESS 5738 a folded R̂ of 1.0122 is not a failure.)
      const MatrixD chains = chains_of(r.draws, b, j, r.chains, r.draws_per_chain);
      MatrixD folded = chains;
      {
        std::vector<double> values(chains.data(), chains.data() + chains.size());
        std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
        folded = (chains.array() - values[values.size() / 2]).abs().matrix();
      }
      const double ess = std::min(r.diagnostics.bulk_ess(j, b), bulk_effective_sample_size(folded));
      const double r_hat_bound = std::sqrt(1.0 + 4.49 * 8.0 / ess);
      EXPECT_LT(r.diagnostics.r_hat(j, b), std::max(1.01, r_hat_bound)) << "coordinate " << j << ", smaller ESS " << ess;
      EXPECT_GT(r.diagnostics.bulk_ess(j, b), 400.0) << "coordinate " << j;
      // Posterior mean within 4.5 MC standard errors (from the series' own ESS).
      EXPECT_LT(standardized_error(series(r, b, [j](const auto& z) { return z(j); }), mean(j, b)), 4.5)
          << "mean, coordinate " << j;
    }
    // Covariance entries within 5 MC standard errors; centred at the exact mean so that each
    // entry is a plain average of a series whose ESS we estimate.
    for (Index i = 0; i < d; ++i)
      for (Index j = 0; j <= i; ++j) {
        const MatrixD s = series(r, b, [&](const auto& z) { return (z(i) - mean(i, b)) * (z(j) - mean(j, b)); });
        EXPECT_LT(standardized_error(s, cov(i, j)), 5.0) << "covariance (" << i << ", " << j << ")";
      }
  }
  const MatrixD estimated_means = r.posterior_means();
  EXPECT_EQ(estimated_means.cols(), B);
}

INSTANTIATE_TEST_SUITE_P(LatentDims, HmcOnLinearGaussian, ::testing::Values(1, 2, 3, 10, 50));

TEST(HmcSampler, StartsFromGivenLatentsAndValidates) {
  Rng rng(testing::test_seed(9));
  const LinearGaussianModel model = LinearGaussianModel::random(4, 2, 1.0, 1.0, rng);
  const ModelSample data = model.sample(1, rng);
  HmcOptions options;
  options.chains = 2;
  options.warmup = 0;
  options.draws = 1;
  options.initial_latents = MatrixD::Constant(2, 2, 50.0);  // far out: one transition cannot reach the bulk
  options.initial_step_size = 1e-3;
  const HmcResult r = hmc_sample_posterior(model, data.data, options, rng);
  EXPECT_GT(r.draws.cwiseAbs().minCoeff(), 40.0);

  HmcOptions bad = options;
  bad.initial_latents = MatrixD::Zero(2, 3);
  EXPECT_THROW(hmc_sample_posterior(model, data.data, bad, rng), std::invalid_argument);
  bad = HmcOptions{};
  bad.chains = 0;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
  bad = HmcOptions{};
  bad.initial_step_size = std::nan("");
  EXPECT_THROW(bad.validate(), std::invalid_argument);
  bad = HmcOptions{};
  bad.leapfrog_steps = 0;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
  EXPECT_THROW(hmc_sample_posterior(model, MatrixF::Zero(5, 1), HmcOptions{}, rng), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
