// vigap-gap-table end to end on a tiny 2-D VAE trained on synthetic images (exact quadrature: the gaps must
// satisfy inference = approximation + amortization, q* cannot beat log p(x), and q*_FFG cannot
// lose to the amortized q), and an unknown family named with the valid ones. Its other bad input:
// tests/experiments/bad_input_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/experiment_binary_test.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::run_experiment;
using testing::TemporaryDirectory;

TEST(GapTableBinary, UnknownFamilyIsNamedWithTheValidOnes) {
  TemporaryDirectory scratch;
  const std::string checkpoint = testing::untrained_checkpoint(2, true);
  const auto run = run_experiment("vigap-gap-table", "--checkpoint " + checkpoint + " --families ffg,magic --out " +
                                                     scratch.file("out.json"));
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("unknown family 'magic'"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("ffg"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("full"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("flow"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(scratch.file("out.json")));
}

TEST(GapTableBinary, GapsOfATinyTwoDimensionalModelAddUpAndHaveTheRightSigns) {
  TemporaryDirectory scratch;
  // The tiny 2-D model shared with the other binaries' tests (tests/support/experiment_binary_test.hpp).
  const auto run = run_experiment("vigap-gap-table", "--checkpoint " + testing::tiny_checkpoint("--latent-dim 2") +
                                          " --num-datapoints 5 --qstar-max-steps 400 --flow-max-steps 300"
                                          " --qstar-check-interval 50 --qstar-patience 3 --qstar-samples 20"
                                          " --flow-learning-rate 3e-3 --threads 1 --seed " + testing::test_seed_argument(2) + " --out " +
                                          scratch.file("gap.json"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("| q*_FFG"), std::string::npos) << run.output;
  const nlohmann::json j = testing::read_json(scratch.file("gap.json"));
  const nlohmann::json& r = j["results"];
  EXPECT_EQ(j["experiment"], "gap_table");
  EXPECT_EQ(j["configuration"]["log_px"], "quadrature");
  ASSERT_TRUE(j.contains("timings"));
  const auto value = [](const nlohmann::json& e) { return e["value"].get<double>(); };
  const auto se = [](const nlohmann::json& e) { return e["monte_carlo_standard_error"].get<double>(); };
  const double slack = 1e-4;  // float decoder: quadrature floor
  // One-sided checks at 3.9 standard errors: a correct estimator fails each with P <~ 5e-5.
  const double z = 3.9;
  for (const std::string family : {"ffg", "full", "flow"}) {
    SCOPED_TRACE(family);
    ASSERT_TRUE(r.contains(family)) << r.dump(2);
    const nlohmann::json& f = r[family];
    // inference = approximation + amortization (per-datapoint differences of the same numbers).
    EXPECT_NEAR(value(f["inference_gap"]), value(f["approximation_gap"]) + value(f["amortization_gap"]), 1e-6);
    EXPECT_LT(f["identity_max_abs_error"].get<double>(), 1e-6);
    // q* cannot beat the truth: log p(x) - L[q*] = KL(q* || p(z|x)) >= 0.
    EXPECT_GE(value(f["approximation_gap"]), -z * se(f["approximation_gap"]) - slack);
    // Exact log p(x) minus the exact ELBO of q* is the KL; it is also log p(x) - L[q*].
    EXPECT_NEAR(value(f["approximation_gap"]), value(r["log_px"]) - value(f["elbo"]), 1e-9);
  }
  // q*_FFG is at least as good as the amortized diagonal Gaussian it started from.
  EXPECT_GE(value(r["ffg"]["elbo"]), value(r["amortized"]["elbo"]) - z * se(r["ffg"]["amortization_gap"]) - slack);
  // The inference gap is the amortized q's KL, also >= 0.
  EXPECT_GE(value(r["amortized"]["inference_gap"]), -z * se(r["amortized"]["inference_gap"]) - slack);
}

}  // namespace
}  // namespace vigap
