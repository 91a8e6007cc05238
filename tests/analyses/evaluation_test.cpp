// The evaluation in process, on the 2-D linear-Gaussian model, whose log p(x), ELBO(q) and
// KL(q‖p(z|x)) have closed forms: every estimator agrees with them within tolerances derived from
// its reported standard errors (or, for quadrature, its tolerance), the bounds lie on their side,
// a datapoint's figures do not depend on the others, the JSON and the table have their rows, and
// bad options are rejected with their names.
#include "analyses/evaluation.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "support/expect_throw_message.hpp"
#include "support/linear_gaussian_posteriors.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::gaussian_kl;

constexpr Index kB = 6;

// Each statistical assertion below fails with probability <= 3.4e-6 when the reported standard
// error is right (one-sided normal tail at 4.5 standard errors); there are 12 of them, so a run
// fails by chance with probability <~ 4e-5.
constexpr double kZ = 4.5;

/// The quadrature's error allowance on log p(x), the ELBO and the KL (as in gap_table_test.cpp).
double quadrature_error() { return 10.0 * QuadratureOptions().tolerance; }

/// Every estimator, with budgets that make their standard errors small and honest. Over 400 seed
/// offsets (VIGAP_TEST_SEED = 1 ... 400) the standardized errors (estimate - log p(x)) / s.e. of
/// IS (K = 10000), AIS from the prior (T = 1000, 32 chains) and AIS from q (T = 100) had standard
/// deviations 1.02-1.05 and extremes within ±3.4; with K = 1000 or T = 100 from the prior the
/// delta-method errors were too small (z down to -4.3 and -9.9 in 300 offsets).
EvaluationOptions all_estimators() {
  EvaluationOptions o;
  o.estimators = {EvaluationEstimator::elbo, EvaluationEstimator::iwae, EvaluationEstimator::importance_sampling,
                  EvaluationEstimator::ais, EvaluationEstimator::quadrature, EvaluationEstimator::bdmc};
  o.elbo.samples = 200;
  o.iwae_ks = {5, 50};
  o.importance.samples = 10000;
  o.ais.num_annealing_steps = 1000;
  o.ais.chains = 32;
  o.bdmc_datapoints = 4;
  return o;
}

/// The closed forms, averaged over the datapoints: log p(x), KL(q‖p(z|x)) and ELBO(q) = log p(x) - KL.
struct Truth {
  double log_px = 0.0, kl = 0.0, elbo = 0.0;
};

Truth truth(const testing::LinearGaussianPosteriors& problem, const DiagonalGaussian& q) {
  Truth t;
  for (Index b = 0; b < kB; ++b) {
    const MatrixD S = q.log_variance().col(b).array().exp().matrix().asDiagonal();
    t.log_px += problem.log_marginal_likelihood(b) / kB;
    t.kl += gaussian_kl(q.mean().col(b), S, problem.posterior_mean.col(b), problem.model.posterior_covariance()) / kB;
  }
  t.elbo = t.log_px - t.kl;
  return t;
}

const EvaluationRow& row(const Evaluation& e, const std::string& key) {
  for (const EvaluationRow& r : e.rows)
    if (r.key == key) return r;
  throw std::runtime_error("no row " + key);
}

/// A stochastic lower bound of log p(x) (IWAE, IS, AIS): above log p(x) by no more than kZ
/// standard errors, and below it by no more than kZ standard errors plus twice the delta method's
/// bias, Σ_b se_b² / 2 / B (E[log p̂] ≈ log p - Var(p̂/p) / 2).
void expect_lower_bound_near(const Estimate& e, double log_px, const std::string& name) {
  const double se = e.monte_carlo_standard_error;
  const double bias = e.per_datapoint_standard_error.squaredNorm() / (2.0 * static_cast<double>(kB));
  EXPECT_LT(e.value, log_px + kZ * se) << name;
  EXPECT_GT(e.value, log_px - kZ * se - 2.0 * bias) << name;
}

TEST(Evaluation, EveryEstimatorAgreesWithTheClosedFormsOnALinearGaussianModel) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, kB, 81);
  const DiagonalGaussian q = problem.shifted_diagonal(0.3, 1.5);  // a fair "encoder", wider than p(z|x)
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(82), 0, kB);
  const Evaluation e = compute_evaluation(problem.model, &q, problem.X, all_estimators(), streams, 0);
  const Truth t = truth(problem, q);

  // Quadrature: exact to its tolerance, per datapoint; so are its ELBO and KL of q.
  const Estimate& quadrature = row(e, "quadrature").estimate;
  EXPECT_EQ(quadrature.bias_direction, BiasDirection::exact);
  for (Index b = 0; b < kB; ++b)
    EXPECT_NEAR(quadrature.per_datapoint(b), problem.log_marginal_likelihood(b), quadrature_error()) << b;
  EXPECT_NEAR(row(e, "elbo_quadrature").estimate.value, t.elbo, quadrature_error());
  EXPECT_NEAR(row(e, "kl_encoder_to_posterior_quadrature").estimate.value, t.kl, quadrature_error());

  // The ELBO is unbiased for ELBO(q) (2 assertions).
  const Estimate& elbo = row(e, "elbo").estimate;
  EXPECT_NEAR(elbo.value, t.elbo, kZ * elbo.monte_carlo_standard_error);
  // IWAE_K lies between ELBO(q) and log p(x), up to its noise (2 x 2 assertions).
  for (const char* key : {"iwae_5", "iwae_50"}) {
    const Estimate& iwae = row(e, key).estimate;
    EXPECT_GT(iwae.value, t.elbo - kZ * iwae.monte_carlo_standard_error) << key;
    EXPECT_LT(iwae.value, t.log_px + kZ * iwae.monte_carlo_standard_error) << key;
  }
  // Importance sampling and AIS from the prior: stochastic lower bounds close to log p(x) (2 x 2).
  expect_lower_bound_near(row(e, "importance_sampling").estimate, t.log_px, "importance sampling");
  expect_lower_bound_near(row(e, "ais").estimate, t.log_px, "AIS from the prior");
  EXPECT_GT(row(e, "ais").extra.at("mean_acceptance_rate").get<double>(), 0.0);

  // KL(q‖p(z|x)) = log p - ELBO from the best log p(x), quadrature: as precise as the ELBO (1).
  ASSERT_TRUE(e.kl_to_posterior);
  EXPECT_EQ(e.kl_to_posterior->settings.at("log_marginal_likelihood_from"), "quadrature");
  EXPECT_NEAR(e.kl_to_posterior->value, t.kl, kZ * e.kl_to_posterior->monte_carlo_standard_error + quadrature_error());

  // BDMC: 4 simulated pairs, their sandwich width from its two rows.
  ASSERT_TRUE(e.bdmc_sandwich_width);
  EXPECT_EQ(e.bdmc_sandwich_width->num_datapoints, 4);
  EXPECT_NEAR(e.bdmc_sandwich_width->mean, row(e, "bdmc_upper").estimate.value - row(e, "bdmc_lower").estimate.value,
              1e-9);

  // The JSON results and timings: one entry per row in the order computed, then the KL.
  const nlohmann::ordered_json results = e.results_json(false);
  std::vector<std::string> keys;
  for (auto it = results.begin(); it != results.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"elbo", "iwae_5", "iwae_50", "importance_sampling", "ais", "quadrature",
                                            "elbo_quadrature", "kl_encoder_to_posterior_quadrature", "bdmc_lower",
                                            "bdmc_upper", "bdmc_sandwich_width", "kl_encoder_to_posterior"}));
  EXPECT_TRUE(results["importance_sampling"].contains("mean_effective_sample_size"));
  EXPECT_TRUE(results["quadrature"].contains("unconverged_datapoints"));
  EXPECT_FALSE(results["elbo"].contains("per_datapoint"));
  EXPECT_EQ(e.results_json(true)["elbo"]["per_datapoint"].size(), static_cast<size_t>(kB));
  EXPECT_EQ(e.timings_json().size(), e.rows.size());
  const std::string markdown = e.to_markdown();
  for (const char* fragment : {"ELBO (S=200)", "IWAE (K=50)", "IS, encoder (K=10000)", "AIS from prior (T=1000)",
                               "log p(x), quadrature (exact)", "BDMC upper", "KL(q||p(z|x)) = log p - ELBO"})
    EXPECT_NE(markdown.find(fragment), std::string::npos) << fragment;
}

TEST(Evaluation, AisFromTheAmortizedQIsAStochasticLowerBoundNearLogPx) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, kB, 83);
  const DiagonalGaussian q = problem.shifted_diagonal(0.3, 1.5);
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(84), 0, kB);
  EvaluationOptions options = all_estimators();
  options.estimators = {EvaluationEstimator::ais, EvaluationEstimator::elbo};
  options.ais_from = AisStart::amortized;
  options.ais.num_annealing_steps = 100;  // from q, close to p(z|x), 100 steps suffice
  const Evaluation e = compute_evaluation(problem.model, &q, problem.X, options, streams, 0);
  const Truth t = truth(problem, q);
  expect_lower_bound_near(row(e, "ais").estimate, t.log_px, "AIS from q");  // 2 assertions
  EXPECT_EQ(row(e, "ais").label, "AIS from encoder (T=100)");
  ASSERT_TRUE(e.kl_to_posterior);
  EXPECT_EQ(e.kl_to_posterior->settings.at("log_marginal_likelihood_from"), row(e, "ais").estimate.estimator);
}

TEST(Evaluation, ADatapointsFiguresDoNotDependOnTheOtherDatapoints) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, kB, 85);
  const DiagonalGaussian q = problem.shifted_diagonal(0.3, 1.5);
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(86), 0, kB);
  EvaluationOptions options = all_estimators();
  options.estimators = {EvaluationEstimator::elbo, EvaluationEstimator::iwae, EvaluationEstimator::importance_sampling,
                        EvaluationEstimator::ais};
  options.ais.num_annealing_steps = 10;
  options.ais.chains = 4;
  const Evaluation all = compute_evaluation(problem.model, &q, problem.X, options, streams, 0);
  const DiagonalGaussian tail_q(q.mean().rightCols(3), q.log_variance().rightCols(3));
  const Evaluation tail = compute_evaluation(problem.model, &tail_q, problem.X.rightCols(3), options, streams.slice(3, 3), 3);
  ASSERT_EQ(all.rows.size(), tail.rows.size());
  for (size_t r = 0; r < all.rows.size(); ++r)
    for (Index b = 0; b < 3; ++b)
      EXPECT_EQ(tail.rows[r].estimate.per_datapoint(b), all.rows[r].estimate.per_datapoint(b + 3))
          << all.rows[r].key << " datapoint " << b;
}

TEST(Evaluation, BadOptionsAreRejectedWithTheirNames) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, 2, 87);
  const DiagonalGaussian q = problem.shifted_diagonal(0.3, 1.5);
  const RandomStreams streams = RandomStreams::consecutive(1, 0, 2);
  testing::expect_throw_message<std::invalid_argument>(
      [] { parse_evaluation_estimators("elbo,magic", "--estimators"); }, {"--estimators", "'magic'", "bdmc"});
  testing::expect_throw_message<std::invalid_argument>([] { parse_evaluation_estimators("", "--estimators"); },
                                                       {"--estimators", "at least one"});
  testing::expect_throw_message<std::invalid_argument>([] { parse_ais_start("flow", "--ais-from"); },
                                                       {"--ais-from", "prior or encoder", "'flow'"});
  EvaluationOptions options;
  options.estimators = {EvaluationEstimator::elbo};
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_evaluation(problem.model, nullptr, problem.X, options, streams, 0); }, {"amortized q"});
  options.iwae_ks = {};
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_evaluation(problem.model, &q, problem.X, options, streams, 0); }, {"--iwae-k"});
  options.iwae_ks = {5};
  options.bdmc_datapoints = -1;
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_evaluation(problem.model, &q, problem.X, options, streams, 0); }, {"--bdmc-datapoints"});
  const auto five = testing::make_linear_gaussian_posteriors(5, 2, 88);
  options.bdmc_datapoints = 0;
  options.estimators = {EvaluationEstimator::quadrature};
  testing::expect_throw_message<std::invalid_argument>(
      [&] { compute_evaluation(five.model, nullptr, five.X, options, streams, 0); }, {"3"});
  EXPECT_FALSE(options.needs_amortized());  // quadrature alone needs no q
}

}  // namespace
}  // namespace vigap
