// vigap-estimator-variance end to end on a tiny 2-D VAE trained on synthetic images: the
// JSON has every sweep entry with standard errors, the same seed gives the same results, the
// variances behave as they must (1/S for the averaged ELBO, IWAE_K rising with K), the SVG is a
// complete three-panel document. Its bad input: tests/experiments/bad_input_test.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "support/experiment_binary_test.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::run_experiment;

// Its --seed is test_seed(...) (tests/support/test_seed.hpp).
std::string small_run() {
  return std::string(" --num-datapoints 4 --samples 1,4 --iwae-samples 1,4,16 --replicates 40 --seed " + testing::test_seed_argument(3));
}

// The tiny models are shared with the other binaries' tests (tests/support/experiment_binary_test.hpp).
class EstimatorVarianceBinary : public testing::ExperimentBinaryTest {};

TEST_F(EstimatorVarianceBinary, WritesTablesJsonAndPictureReproducibly) {
  const std::string arguments = "--checkpoint " + testing::tiny_checkpoint("--latent-dim 2") + small_run() + " --picture " + out.file("v.svg");
  const auto run = run_experiment("vigap-estimator-variance", arguments + " --threads 1 --out " + out.file("a.json"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("| S "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("| K "), std::string::npos) << run.output;

  const std::string svg = testing::read_text(out.file("v.svg"));
  EXPECT_EQ(svg.rfind("<svg", 0), 0u) << svg.substr(0, 100);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  for (const std::string title : {"Variance of the ELBO estimate", "ELBO gradient: total variance",
                                  "IWAE-K gradient SNR", "sticking the landing", "DReG"})
    EXPECT_NE(svg.find(title), std::string::npos) << title;

  const nlohmann::json document = testing::read_json(out.file("a.json"));
  EXPECT_EQ(document["experiment"], "estimator_variance");
  const nlohmann::json& results = document["results"];
  const nlohmann::json& elbo = results["elbo_vs_samples"];
  ASSERT_EQ(elbo.size(), 2u);
  for (const auto& entry : elbo) {
    for (const std::string key : {"elbo_analytic_kl", "elbo_monte_carlo_kl", "elbo_stl"}) {
      const nlohmann::json& v = entry[key];
      EXPECT_EQ(v["settings"]["replicates"], 40);
      EXPECT_GT(v["objective_variance"]["value"].get<double>(), 0.0) << key;
      EXPECT_GT(v["objective_variance"]["dataset_standard_error"].get<double>(), 0.0) << key;
      EXPECT_GT(v["encoder"]["total_variance"]["value"].get<double>(), 0.0) << key;
      EXPECT_GT(v["encoder"]["total_variance"]["monte_carlo_standard_error"].get<double>(), 0.0) << key;
      EXPECT_GT(v["encoder"]["mean_snr"]["value"].get<double>(), 0.0) << key;
    }
    EXPECT_TRUE(entry["elbo_analytic_kl"].contains("decoder"));
    EXPECT_FALSE(entry["elbo_stl"].contains("decoder"));  // the same decoder gradient, reported once
  }
  // The S-sample ELBO and its gradient are means of S independent terms: 1/S of the variance, so
  // the variance at S = 1 is 4 times that at S = 4. Each variance v_i comes with its Monte Carlo
  // standard error se_i (4 datapoints x 40 replicates); by the delta method log(v_0 / v_1) has
  // standard error sqrt((se_0/v_0)² + (se_1/v_1)²) (independent draws), and the check is two-sided
  // at 3.9 of them (P <~ 1e-4).
  for (const std::string what : {"objective_variance", "encoder", "decoder"}) {
    const auto variance = [&](size_t i) -> const nlohmann::json& {
      const nlohmann::json& v = elbo[i]["elbo_analytic_kl"];
      return what == "objective_variance" ? v[what] : v[what]["total_variance"];
    };
    const auto value = [&](size_t i) { return variance(i)["value"].get<double>(); };
    const auto relative_se = [&](size_t i) {
      return variance(i)["monte_carlo_standard_error"].get<double>() / value(i);
    };
    const double log_ratio = std::log(value(0) / value(1));
    const double se_log_ratio = std::hypot(relative_se(0), relative_se(1));
    EXPECT_GT(se_log_ratio, 0.0) << what;
    EXPECT_NEAR(log_ratio, std::log(4.0), 3.9 * se_log_ratio)
        << what << ": ratio " << value(0) / value(1) << ", standard error of its log " << se_log_ratio;
  }
  // IWAE_K rises with K (for the same model and data) and equals the ELBO at K = 1.
  const nlohmann::json& iwae = results["iwae_vs_samples"];
  ASSERT_EQ(iwae.size(), 3u);
  const auto iwae_value = [&](size_t i) { return iwae[i]["iwae_reparameterized"]["objective_mean"]["value"].get<double>(); };
  EXPECT_LT(iwae_value(0), iwae_value(2));
  EXPECT_EQ(iwae[2]["K"], 16);
  EXPECT_TRUE(iwae[2]["iwae_dreg"]["encoder"]["mean_snr"]["value"].is_number());
  EXPECT_TRUE(results["log_log_slopes"]["decoder_mean_snr_vs_K"].is_number());

  // The same seed gives byte-identical results (timings aside), here with two threads.
  const auto again = run_experiment("vigap-estimator-variance",
                                "--checkpoint " + testing::tiny_checkpoint("--latent-dim 2") + small_run() + " --picture " + out.file("w.svg") + " --out " +
                                    out.file("b.json") + " --threads 2");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(testing::read_json(out.file("b.json"))["results"].dump(), results.dump());
}

}  // namespace
}  // namespace vigap
