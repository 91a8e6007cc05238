// The HMC-vs-VI study in process, on the 2-D linear-Gaussian model, whose posterior p(z|x) is a
// Gaussian with a closed form: log p(x), the amortized q's KL, the full-covariance q* reaching the
// posterior, HMC's moments against the precision its effective sample size gives, the log p(x)
// estimators as stochastic lower bounds, budgets that buy nothing, a row's independence of the
// other datapoints, AIS and importance sampling from an amortized q other than the encoder's
// Gaussian, and bad options.
#include "analyses/hmc_vs_vi.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "estimators/adaptive_quadrature.hpp"
#include "support/expect_throw_message.hpp"
#include "support/linear_gaussian_posteriors.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::gaussian_kl;

/// A small grid and cheap local flows: the study's logic, not the optimizers' accuracy.
HmcVsViOptions small_options(std::vector<Index> budgets) {
  HmcVsViOptions o;
  o.budgets = std::move(budgets);
  o.grid_nodes = 41;
  o.grid_half_width = 4.0;
  o.cells_per_bin = 4;
  o.vi_draws = 2000;
  o.flow.flow.num_layers = 2;
  o.flow.flow.hidden_sizes = {8};
  return o;
}

/// The quadrature's error allowance on log p(x) and the KLs (as in gap_table_test.cpp).
double quadrature_error() { return 10.0 * QuadratureOptions().tolerance; }

// Upper 1e-4 quantile of chi-square with 6 degrees of freedom (3 datapoints x 2 coordinates):
// P(χ²₆ > x) = e^{-x/2} (1 + x/2 + x²/8) = 1e-4 at x = 27.86.
constexpr double kChiSquare6Quantile = 27.86;

TEST(HmcVsVi, TheTruthAndTheVariationalRowsAgreeWithTheClosedForms) {
  constexpr Index kB = 3;
  const auto problem = testing::make_linear_gaussian_posteriors(2, kB, 71);
  const DiagonalGaussian encoder_q = problem.shifted_diagonal(1.0, 2.0);  // a poor "encoder"
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(72), 0, kB);
  // Checks of 1000 samples at the large budget: the parameters q* keeps are those of its best check,
  // and the noise of smaller checks lets a lucky early iterate win.
  HmcVsViOptions options = small_options({300, 100000});
  options.gaussian.check_samples = 1000;
  const HmcVsVi r = compute_hmc_vs_vi(problem.model, encoder_q, problem.X, options, streams);

  const MatrixD& covariance = problem.model.posterior_covariance();
  for (Index b = 0; b < kB; ++b) {
    EXPECT_NEAR(r.exact_log_px.per_datapoint(b), problem.log_marginal_likelihood(b), quadrature_error()) << b;
    const MatrixD S = encoder_q.log_variance().col(b).array().exp().matrix().asDiagonal();
    const double kl = gaussian_kl(encoder_q.mean().col(b), S, problem.posterior_mean.col(b), covariance);
    ASSERT_TRUE(r.amortized.kl_divergence);
    EXPECT_NEAR(r.amortized.kl_divergence->per_datapoint(b), kl, quadrature_error()) << b;
  }
  EXPECT_EQ(r.amortized.decoder_evaluations, 0.0);

  ASSERT_EQ(r.q_star_full_covariance.size(), 2u);
  for (const auto* rows : {&r.q_star_diagonal, &r.q_star_full_covariance, &r.local_flow})
    for (size_t i = 0; i < rows->size(); ++i) {
      const HmcVsViPosteriorRow& row = (*rows)[i];
      ASSERT_TRUE(row.feasible) << i;
      EXPECT_GT(row.decoder_evaluations, 0.0);
      EXPECT_LE(row.decoder_evaluations, static_cast<double>(r.budgets[i]));
      for (Index b = 0; b < kB; ++b) EXPECT_GE(row.kl_divergence->per_datapoint(b), -quadrature_error()) << b;  // a KL
    }
  // The family of the full-covariance q* contains p(z|x): at 100000 evaluations its KL is at the
  // optimizer's floor, and the whitened moments of its draws are those of vi_draws exact draws
  // (n ‖mean error‖² ~ χ²₂). The floor is not a reported standard error (the rows do not report
  // q*'s check noise): Adam's jitter plus the luck of the kept check, 0.0009 nats at the median and
  // at most 0.008 over 150 seed offsets x 3 datapoints (the diagonal q*'s excess over the best
  // diagonal Gaussian: at most 0.007); 0.02 nats is above both.
  const HmcVsViPosteriorRow& full = r.q_star_full_covariance[1];
  const HmcVsViPosteriorRow& diagonal = r.q_star_diagonal[1];
  const double best_diagonal_kl = problem.best_diagonal_kl();
  constexpr double kFloor = 0.02;
  double scaled_mean_error = 0.0;
  for (Index b = 0; b < kB; ++b) {
    EXPECT_LT(full.kl_divergence->per_datapoint(b), kFloor + quadrature_error()) << b;
    // The diagonal q* can do no better than the best diagonal Gaussian, and reaches it.
    EXPECT_GE(diagonal.kl_divergence->per_datapoint(b), best_diagonal_kl - quadrature_error()) << b;
    EXPECT_LT(diagonal.kl_divergence->per_datapoint(b), best_diagonal_kl + kFloor + quadrature_error()) << b;
    scaled_mean_error += std::pow(full.mean_error(b), 2) * 2000.0;
    // Binned TV of two densities KL-close: Pinsker, TV <= sqrt(KL / 2), plus the quadrature's.
    EXPECT_LT(full.total_variation(b), std::sqrt(0.5 * (kFloor + quadrature_error())) + 1e-3) << b;
  }
  // The fitted mean is off by a_b <= sqrt(2 · floor) posterior sd (KL >= ½ ‖a_b‖²), and the draws
  // add e_b with n ‖e_b‖² ~ χ²₂ summed over the datapoints: ‖a + e‖² <= 2 ‖a‖² + 2 ‖e‖².
  EXPECT_LT(scaled_mean_error, 2.0 * 2000.0 * kB * 2.0 * kFloor + 2.0 * kChiSquare6Quantile);

  const std::string markdown = r.to_markdown();
  for (const char* fragment : {"exact log p(x) (quadrature)", "Binned total variation", "Exact KL(q‖p(z|x))",
                               "AIS from prior", "| 100000 "})
    EXPECT_NE(markdown.find(fragment), std::string::npos) << fragment;
  const nlohmann::ordered_json results = r.results_json();
  EXPECT_EQ(results["posterior"]["q_star_full_covariance"][1]["budget"], 100000);
  EXPECT_EQ(results["exact_log_marginal_likelihood"]["bias_direction"], "exact");
  EXPECT_EQ(results["posterior"]["hmc"][0]["total_variation"]["per_datapoint"].size(), static_cast<size_t>(kB));
  EXPECT_FALSE(r.results_json(false)["posterior"]["hmc"][0]["total_variation"].contains("per_datapoint"));
  EXPECT_TRUE(r.timings_json().contains("total_seconds"));
}

// HMC's posterior mean from n draws with effective sample sizes m_b: in the posterior's whitened
// coordinates the error of each coordinate has variance about 1 / m_b, so Σ_b m_b ‖mean error_b‖²
// is about χ²₆. m_b = min(n, the smaller bulk ESS of the two coordinates) (conservative when HMC's
// draws are antithetic, ESS > n); the estimated ESS's own error (tens of percent at 4 x 375 draws)
// is allowed for by a factor 1.5 on the 1e-4 quantile. The iid exact draws HMC is reported with
// obey the same bound with m_b = n.
void expect_mean_error_within_effective_sample_size(const HmcVsViPosteriorRow& row) {
  const double n = row.details.at("draws_per_datapoint").get<double>();
  const nlohmann::ordered_json& ess = row.details.at("min_bulk_effective_sample_size_per_datapoint");
  double hmc = 0.0, iid = 0.0;
  for (Index b = 0; b < row.mean_error.size(); ++b) {
    const double m = std::min(n, ess.at(static_cast<size_t>(b)).get<double>());
    hmc += m * row.mean_error(b) * row.mean_error(b);
    iid += n * row.iid_mean_error(b) * row.iid_mean_error(b);
  }
  EXPECT_LT(hmc, 1.5 * kChiSquare6Quantile) << "ESS " << ess.dump() << " of n = " << n;
  EXPECT_LT(iid, kChiSquare6Quantile) << "n = " << n;
}

TEST(HmcVsVi, HmcMomentsApproachTheExactOnesAsTheBudgetGrowsAndLogPxEstimatesAreLowerBounds) {
  constexpr Index kB = 3;
  const auto problem = testing::make_linear_gaussian_posteriors(2, kB, 73);
  const DiagonalGaussian encoder_q = problem.shifted_diagonal(1.0, 2.0);
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(74), 0, kB);
  const HmcVsVi r = compute_hmc_vs_vi(problem.model, encoder_q, problem.X, small_options({3000, 30000}), streams);

  ASSERT_EQ(r.hmc.size(), 2u);
  for (size_t i = 0; i < r.hmc.size(); ++i) {
    ASSERT_TRUE(r.hmc[i].feasible);
    EXPECT_LE(r.hmc[i].decoder_evaluations, static_cast<double>(r.budgets[i]));
    expect_mean_error_within_effective_sample_size(r.hmc[i]);
  }
  // 10 times the budget keeps 10 times the draws: the precision the bound above allows grows with it.
  EXPECT_EQ(r.hmc[0].details.at("draws_per_datapoint"), 148);
  EXPECT_EQ(r.hmc[1].details.at("draws_per_datapoint"), 1500);

  // log p(x): AIS and importance sampling are stochastic lower bounds. Their p̂(x_b) are unbiased
  // and independent across datapoints, so E[Π_b p̂(x_b) / p(x_b)] = 1 and by Markov's inequality
  // P(Σ_b (log p̂(x_b) - log p(x_b)) > t) <= e^{-t}: with t = ln(6 · 1e4) over the 6 rows, the mean
  // error is below t / B but for a probability 1e-4, whatever the weights' tails (the delta-method
  // standard errors of 8 AIS chains are too small now and then: errors up to 4.2 of them were seen).
  const double lower_bound_slack = std::log(6.0e4) / static_cast<double>(kB) + quadrature_error();
  for (const auto* rows : {&r.ais_from_prior, &r.ais_from_encoder_q, &r.importance_sampling_from_encoder_q})
    for (size_t i = 0; i < rows->size(); ++i) {
      const HmcVsViLogMarginalRow& row = (*rows)[i];
      ASSERT_TRUE(row.feasible) << i;
      EXPECT_LE(row.decoder_evaluations, static_cast<double>(r.budgets[i]));
      EXPECT_LT(row.error.value, lower_bound_slack) << row.error.estimator << " " << r.budgets[i];
      EXPECT_GE(row.mean_absolute_error, std::abs(row.error.value) - 1e-12);
    }
  // Importance sampling from q with 30000 samples: light-tailed weights here (q's variances are twice
  // the posterior's conditional ones), so the delta-method standard error holds; one-sided at 4 of
  // them (P ~ 3e-5; errors up to 2.2 of them over 150 seed offsets).
  const HmcVsViLogMarginalRow& is = r.importance_sampling_from_encoder_q[1];
  EXPECT_LT(is.error.value, 4.0 * is.error.monte_carlo_standard_error + quadrature_error());
}

TEST(HmcVsVi, BudgetsThatBuyNothingAreNotApplicable) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, 2, 75);
  const DiagonalGaussian encoder_q = problem.shifted_diagonal(0.5, 1.5);
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(76), 0, 2);
  // 12 evaluations: 4 HMC chains need 4 (1 + 10), q* two checks of 2 and a step of 10, AIS 10 (1 + 10);
  // the local flow gets one step of 10 samples.
  const HmcVsVi r = compute_hmc_vs_vi(problem.model, encoder_q, problem.X, small_options({1, 12}), streams);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_FALSE(r.hmc[i].feasible);
    EXPECT_FALSE(r.q_star_diagonal[i].feasible);
    EXPECT_FALSE(r.q_star_full_covariance[i].feasible);
    EXPECT_FALSE(r.ais_from_prior[i].feasible);
    EXPECT_FALSE(r.ais_from_encoder_q[i].feasible);
  }
  EXPECT_FALSE(r.local_flow[0].feasible);  // 1 < 10 samples of one step
  EXPECT_TRUE(r.local_flow[1].feasible);
  EXPECT_FALSE(r.importance_sampling_from_encoder_q[0].feasible);  // a standard error needs two weights
  EXPECT_TRUE(r.importance_sampling_from_encoder_q[1].feasible);
  const nlohmann::ordered_json results = r.results_json();
  EXPECT_EQ(results["posterior"]["hmc"][0].dump(), R"({"budget":1,"feasible":false})");
  EXPECT_NE(r.to_markdown().find("n/a"), std::string::npos);
}

TEST(HmcVsVi, ADatapointsRowDoesNotDependOnTheOtherDatapoints) {
  constexpr Index kB = 4;
  const auto problem = testing::make_linear_gaussian_posteriors(2, kB, 77);
  const DiagonalGaussian encoder_q = problem.shifted_diagonal(0.5, 1.5);
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(78), 10, kB);
  const HmcVsViOptions options = small_options({300, 1000});
  const HmcVsVi all = compute_hmc_vs_vi(problem.model, encoder_q, problem.X, options, streams);
  // The last two datapoints alone (their dataset indices 12, 13 kept by the streams' slice).
  const DiagonalGaussian tail_q(encoder_q.mean().rightCols(2), encoder_q.log_variance().rightCols(2));
  const HmcVsVi part = compute_hmc_vs_vi(problem.model, tail_q, problem.X.rightCols(2), options, streams.slice(2, 2));

  const auto expect_same_posterior_row = [](const HmcVsViPosteriorRow& a, const HmcVsViPosteriorRow& p, const char* name) {
    ASSERT_EQ(a.feasible, p.feasible) << name;
    for (Index b = 0; b < 2; ++b) {
      EXPECT_EQ(a.total_variation(b + 2), p.total_variation(b)) << name << " " << b;
      EXPECT_EQ(a.mean_error(b + 2), p.mean_error(b)) << name << " " << b;
      EXPECT_EQ(a.covariance_error(b + 2), p.covariance_error(b)) << name << " " << b;
      if (a.kl_divergence) {
        EXPECT_EQ(a.kl_divergence->per_datapoint(b + 2), p.kl_divergence->per_datapoint(b)) << name << " " << b;
      }
      if (a.iid_total_variation.size() > 0) {
        EXPECT_EQ(a.iid_total_variation(b + 2), p.iid_total_variation(b)) << name << " " << b;
        EXPECT_EQ(a.iid_mean_error(b + 2), p.iid_mean_error(b)) << name << " " << b;
      }
    }
  };
  for (Index b = 0; b < 2; ++b) EXPECT_EQ(all.exact_log_px.per_datapoint(b + 2), part.exact_log_px.per_datapoint(b)) << b;
  expect_same_posterior_row(all.amortized, part.amortized, "amortized");
  for (size_t i = 0; i < options.budgets.size(); ++i) {
    expect_same_posterior_row(all.hmc[i], part.hmc[i], "hmc");
    expect_same_posterior_row(all.q_star_diagonal[i], part.q_star_diagonal[i], "q* diagonal");
    expect_same_posterior_row(all.q_star_full_covariance[i], part.q_star_full_covariance[i], "q* full");
    expect_same_posterior_row(all.local_flow[i], part.local_flow[i], "local flow");
    for (const auto& [a, p] : {std::pair{&all.ais_from_prior[i], &part.ais_from_prior[i]},
                               std::pair{&all.ais_from_encoder_q[i], &part.ais_from_encoder_q[i]},
                               std::pair{&all.importance_sampling_from_encoder_q[i], &part.importance_sampling_from_encoder_q[i]}})
      for (Index b = 0; b < 2; ++b) EXPECT_EQ(a->error.per_datapoint(b + 2), p->error.per_datapoint(b)) << a->error.estimator;
  }
}

// An amortized q that is not the encoder's Gaussian (a checkpoint's flow; here the exact posterior
// p(z|x), a full-covariance Gaussian): AIS from q and importance sampling from q start from it, so
// both are exact whatever their noise (every intermediate distribution of AIS is p(z|x) itself, and
// every weight p(x, z) / p(z|x) is p(x)); q* and the local flow start from the encoder's Gaussian.
TEST(HmcVsVi, AisAndImportanceSamplingFromQStartFromTheAmortizedQNotTheEncodersGaussian) {
  constexpr Index kB = 3;
  const auto problem = testing::make_linear_gaussian_posteriors(2, kB, 91);
  const DiagonalGaussian encoder_q = problem.shifted_diagonal(1.0, 2.0);
  const FullCovarianceGaussian exact = problem.exact_posterior();
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(92), 0, kB);
  const HmcVsVi r = compute_hmc_vs_vi(problem.model, exact, encoder_q, problem.X, small_options({3000}), streams);

  ASSERT_TRUE(r.ais_from_encoder_q[0].feasible);
  EXPECT_EQ(r.ais_from_encoder_q[0].error.settings.at("initial_distribution"), exact.describe());
  // float32 log-likelihoods: exact to about 1e-5 nats; 1e-3 is far below AIS's error from the encoder's
  // Gaussian at this budget.
  for (const HmcVsViLogMarginalRow* row : {&r.ais_from_encoder_q[0], &r.importance_sampling_from_encoder_q[0]})
    for (Index b = 0; b < kB; ++b) EXPECT_NEAR(row->error.per_datapoint(b), 0.0, 1e-3) << row->error.estimator << " " << b;

  const nlohmann::ordered_json starts = r.starts_json();
  EXPECT_EQ(starts["ais_from_encoder_q"], "the amortized q: " + exact.describe());
  EXPECT_EQ(starts["importance_sampling_from_encoder_q"], "proposal the amortized q: " + exact.describe());
  EXPECT_EQ(starts["hmc"], "draws of the amortized q: " + exact.describe());
  for (const char* row : {"q_star_diagonal", "q_star_full_covariance", "local_flow"})
    EXPECT_NE(starts[row].get<std::string>().find("encoder's Gaussian"), std::string::npos) << row;
  const std::string markdown = r.to_markdown();
  EXPECT_NE(markdown.find("q = the amortized q, " + exact.describe()), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("start from the encoder's Gaussian, " + encoder_q.describe()), std::string::npos) << markdown;
}

TEST(HmcVsVi, BadOptionsAreRejectedWithTheirNames) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, 2, 79);
  const DiagonalGaussian q = problem.shifted_diagonal(0.5, 1.5);
  const RandomStreams streams = RandomStreams::consecutive(1, 0, 2);
  const auto expect_rejected = [&](const HmcVsViOptions& options, std::initializer_list<std::string> fragments) {
    testing::expect_throw_message<std::invalid_argument>(
        [&] { compute_hmc_vs_vi(problem.model, q, problem.X, options, streams); }, fragments);
  };
  expect_rejected(small_options({300, 200}), {"--budgets", "positive and increasing", "'300,200'"});
  expect_rejected(small_options({}), {"--budgets", "at least one"});
  HmcVsViOptions o = small_options({300});
  o.hmc.chains = 1;
  expect_rejected(o, {"--hmc-chains", ">= 2"});
  o = small_options({300});
  o.warmup_fraction = 1.0;
  expect_rejected(o, {"warmup_fraction", "[0, 1)"});
  o = small_options({300});
  o.grid_nodes = 5;
  expect_rejected(o, {"--grid-nodes", "5"});
  o = small_options({300});
  o.vi_draws = 1;
  expect_rejected(o, {"--vi-draws"});
  testing::expect_throw_message<std::invalid_argument>([] { parse_hmc_start("posterior", "--hmc-init"); },
                                                       {"--hmc-init", "encoder or prior", "'posterior'"});

  const auto d3 = testing::make_linear_gaussian_posteriors(3, 2, 80);
  const DiagonalGaussian q3 = d3.shifted_diagonal(0.5, 1.5);
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_hmc_vs_vi(d3.model, q3, d3.X, small_options({300}), streams); }, {"latent dimension 2", "3"});
  const DiagonalGaussian one(q.mean().leftCols(1), q.log_variance().leftCols(1));
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_hmc_vs_vi(problem.model, one, problem.X, small_options({300}), streams); }, {"encoder's q covers 1"});
}

}  // namespace
}  // namespace vigap
