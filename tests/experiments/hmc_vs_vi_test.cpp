// vigap-hmc-vs-vi end to end on a tiny 2-D VAE trained on synthetic images, with two
// budgets and three datapoints: every method spends at most its budget, HMC's distance to the
// exact posterior falls as its budget grows, KLs are non-negative and q* does not lose to the
// encoder's q, log p(x) estimates sit within their errors of quadrature (stochastic lower
// bounds), and the same seed gives the same results. Its bad input: tests/experiments/bad_input_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <numbers>

#include "support/experiment_binary_test.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::run_experiment;

// Its --seed is test_seed(...) (tests/support/test_seed.hpp).
std::string small_run() {
  return std::string(" --num-datapoints 3 --budgets 300,3000 --grid-nodes 41 --grid-half-width 4 --tv-cells-per-bin 4 --vi-draws 2000"
    " --threads 1 --seed " + testing::test_seed_argument(2));
}

// The tiny models are shared with the other binaries' tests (tests/support/experiment_binary_test.hpp).
class HmcVsViBinary : public testing::ExperimentBinaryTest {};

double mean_of(const nlohmann::json& summary) { return summary["mean"].get<double>(); }

// The binned total variation of HMC's n draws per datapoint against that of n independent exact
// draws (reported with it), allowing for HMC's autocorrelation: the n correlated draws of datapoint
// b are worth m_b = ESS_b independent ones (bulk ESS, the smaller of the two coordinates').
//  * Mean. For m independent draws, TV_m = ½ Σ_k |p̂_k - p_k| over the bins k, and
//    sqrt(m) E|p̂_k - p_k| rises with m toward sqrt(2 p_k (1 - p_k) / π) (the binomial's mean
//    absolute deviation; in sparse bins it is smaller), so for m <= n
//    E[TV_m] <= sqrt(n / m) E[TV_n]: the bound is sqrt(n / m_b) times the reported iid TV_n.
//  * Spread. Var|p̂_k - p_k| <= (1 - 2/π) p_k (1 - p_k) / m (normal approximation) and the bins are
//    nearly independent, so Var(TV_m) <= ¼ (1 - 2/π) / m. The bound's own noise adds
//    (n / m_b) Var(TV_n) <= ¼ (1 - 2/π) / m_b: the difference has variance <= ½ (1 - 2/π) / m_b per
//    datapoint.
// The mean over the B datapoints is then checked one-sided at 3.9 standard errors (P <~ 5e-5).
// On the AVX2 machine of issue 10 the old fixed margin (iid + 0.15) failed: 0.4216 against 0.3752,
// i.e. HMC's 148 draws worth about 148 / (0.4216 / 0.2252)² ~ 42 independent ones, which is
// ordinary HMC autocorrelation, not a defect.
void expect_total_variation_of_effective_draws(const nlohmann::json& hmc_row) {
  const nlohmann::json& tv = hmc_row["total_variation"]["per_datapoint"];
  const nlohmann::json& iid_tv = hmc_row["iid_exact_draws_total_variation"]["per_datapoint"];
  const nlohmann::json& ess = hmc_row["details"]["min_bulk_effective_sample_size_per_datapoint"];
  const double n = hmc_row["details"]["draws_per_datapoint"].get<double>();
  ASSERT_EQ(tv.size(), iid_tv.size());
  ASSERT_EQ(ess.size(), tv.size()) << hmc_row["details"].dump();
  const double B = static_cast<double>(tv.size());
  const double kVarianceFactor = 1.0 - 2.0 / std::numbers::pi;
  double hmc_mean = 0.0, bound = 0.0, variance = 0.0;
  for (size_t b = 0; b < tv.size(); ++b) {
    ASSERT_TRUE(ess[b].is_number()) << "datapoint " << b;
    const double m = std::min(n, ess[b].get<double>());
    ASSERT_GT(m, 1.0) << "datapoint " << b;
    hmc_mean += tv[b].get<double>() / B;
    bound += std::sqrt(n / m) * iid_tv[b].get<double>() / B;
    variance += 0.5 * kVarianceFactor / m / (B * B);
  }
  EXPECT_LT(hmc_mean, bound + 3.9 * std::sqrt(variance))
      << "HMC TV " << hmc_mean << ", iid TV at HMC's effective sample sizes <= " << bound << " (standard error "
      << std::sqrt(variance) << "); ESS " << ess.dump() << " of n = " << n;
}

TEST_F(HmcVsViBinary, EveryMethodWithinBudgetHmcImprovesAndEstimatesAgreeWithQuadrature) {
  const std::string args = "--checkpoint " + testing::tiny_checkpoint("--latent-dim 2") + " --picture " + out.file("p.svg") + small_run();
  const auto run = run_experiment("vigap-hmc-vs-vi", args + " --out " + out.file("r.json"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("Binned total variation"), std::string::npos) << run.output;

  const std::string svg = testing::read_text(out.file("p.svg"));
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_NE(svg.find("log p(x) estimates vs quadrature"), std::string::npos);

  const nlohmann::json document = testing::read_json(out.file("r.json"));
  EXPECT_EQ(document["experiment"], "hmc_vs_vi");
  const nlohmann::json& results = document["results"];
  const nlohmann::json& posterior = results["posterior"];
  const nlohmann::json& amortized = posterior["amortized_q"];
  EXPECT_EQ(amortized["decoder_evaluations_per_datapoint"].get<double>(), 0.0);
  const double kl_q = amortized["kl_divergence_to_posterior"]["value"];
  EXPECT_GE(kl_q, -1e-3);

  const std::vector<int> budgets{300, 3000};
  for (const std::string method : {"hmc", "q_star_diagonal", "q_star_full_covariance", "local_flow"}) {
    const nlohmann::json& rows = posterior[method];
    ASSERT_EQ(rows.size(), 2u) << method;
    for (size_t i = 0; i < rows.size(); ++i) {
      const nlohmann::json& r = rows[i];
      EXPECT_EQ(r["budget"], budgets[i]);
      ASSERT_TRUE(r["feasible"].get<bool>()) << method << " " << budgets[i];
      const double spent = r["decoder_evaluations_per_datapoint"];
      EXPECT_GT(spent, 0.0) << method;
      EXPECT_LE(spent, budgets[i]) << method;
      const double tv = mean_of(r["total_variation"]);
      EXPECT_GE(tv, 0.0) << method;
      EXPECT_LE(tv, 1.0) << method;
      ASSERT_EQ(r["total_variation"]["per_datapoint"].size(), 3u);
      if (method != "hmc") {
        const double kl = r["kl_divergence_to_posterior"]["value"];
        EXPECT_GE(kl, -1e-3) << method;
        // q* starts at q and keeps its best check (check 0 is the start), each check on fresh
        // draws: a check whose true ELBO is below the start's by more than 5 + 5 check standard
        // errors beats check 0 with probability <= 2 Phi(-5) < 6e-7, so over the fit's checks
        // KL(q*) <= KL(q) + 10 max check se, plus both KLs' quadrature error (1e-3).
        if (method != "local_flow") {
          const double check_se = r["details"]["max_check_standard_error"].get<double>();
          EXPECT_LE(kl, kl_q + 10.0 * check_se + 1e-3) << method << " " << budgets[i] << ", check se " << check_se;
        }
      }
    }
  }
  // HMC: 16 draws per datapoint at 300 evaluations, 148 at 3000: a clearly smaller distance, and
  // at 3000 about what independent exact draws of the same effective number give.
  const nlohmann::json& hmc = posterior["hmc"];
  EXPECT_LT(mean_of(hmc[1]["total_variation"]), mean_of(hmc[0]["total_variation"]));
  EXPECT_EQ(hmc[1]["details"]["draws_per_datapoint"], 148);
  expect_total_variation_of_effective_draws(hmc[1]);
  EXPECT_LT(mean_of(hmc[1]["mean_error_in_posterior_sd"]), 0.5);

  // log p(x): AIS (from the prior or from q) and IS are unbiased in p: E[p̂_b] = p(x_b), given the
  // pilot's step sizes, independently per datapoint. Their delta-method standard errors are not
  // valid bounds (from the prior with 8 chains one weight dominates and each datapoint's se sits at
  // its ceiling, 1 nat, while log p̂'s lower tail reaches -16 nats; from q the bias depends on the
  // model), so the upper side is bounded exactly, by Markov: P(Σ_b (log p̂_b - log p_b) >= ln 1e4)
  // <= 1e-4 for each method and budget, plus quadrature's own error.
  const nlohmann::json& exact_se = results["exact_log_marginal_likelihood"]["per_datapoint_standard_error"];
  double quadrature_error = 0.0;
  for (const auto& e : exact_se) quadrature_error += e.get<double>();
  for (const std::string method : {"ais_from_prior", "ais_from_encoder_q", "importance_sampling_from_encoder_q"}) {
    const nlohmann::json& rows = results["log_marginal_likelihood"][method];
    ASSERT_EQ(rows.size(), 2u) << method;
    for (size_t i = 0; i < rows.size(); ++i) {
      ASSERT_TRUE(rows[i]["feasible"].get<bool>()) << method;
      EXPECT_LE(rows[i]["decoder_evaluations_per_datapoint"].get<double>(), budgets[i]) << method;
      double error_sum = 0.0;
      for (const auto& e : rows[i]["error"]["per_datapoint"]) error_sum += e.get<double>();
      EXPECT_LT(error_sum, std::log(1e4) + quadrature_error)
          << method << " overestimates log p(x) beyond Markov's bound at budget " << budgets[i]
          << ": per-datapoint errors " << rows[i]["error"]["per_datapoint"].dump();
    }
  }
  // The lower side for IS from q: E[log p̂_K] >= ELBO(q) = log p(x) - KL(q || p(z|x)) for every K
  // (Burda et al. 2015), so the mean error is >= -KL(q) up to its own noise (one-sided, 3.9 se:
  // P <= 5e-5 under the CLT), and the quadrature's error.
  const nlohmann::json& is_rows = results["log_marginal_likelihood"]["importance_sampling_from_encoder_q"];
  for (size_t i = 0; i < is_rows.size(); ++i) {
    const double error = is_rows[i]["error"]["value"];
    const double se = is_rows[i]["error"]["monte_carlo_standard_error"];
    EXPECT_GT(error, -kl_q - 3.9 * se - quadrature_error / 3.0)
        << "IS from q falls below its ELBO at budget " << budgets[i] << ": KL(q) " << kl_q << ", se " << se;
  }

  // Same seed, same results.
  const auto again = run_experiment("vigap-hmc-vs-vi", args + " --out " + out.file("r2.json"));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(testing::read_json(out.file("r2.json"))["results"].dump(), results.dump());
}

}  // namespace
}  // namespace vigap
