// vigap-objective-comparison end to end on a tiny 2-D setting of synthetic images (a small decoder,
// a few hundred images, 2 epochs): every model's gaps add up and have the right signs, the
// training grid agrees with the adaptive quadrature, and the run is reproducible. Its bad
// input: tests/experiments/bad_input_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "support/experiment_binary_test.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::run_experiment;
using testing::TemporaryDirectory;

const std::string kTiny =
    " --train-size 300 --validation-size 100 --encoder-hidden 24 --decoder-hidden 24"
    " --train-eval-points 60 --test-eval-points 60 --qstar-max-steps 300 --qstar-check-interval 50"
    " --qstar-patience 3 --grid-cells 80 --threads 1";

TEST(ObjectiveComparisonBinary, TinyRunGivesConsistentGapsForEveryObjective) {
  TemporaryDirectory scratch;
  const auto run = run_experiment("vigap-objective-comparison",
                              "--objectives elbo,iwae-5,exact" + kTiny + " --epochs 2 --qstar-points 6 --seed " + testing::test_seed_argument(3) + " --out " + scratch.file("r.json") +
                                  " --picture " + scratch.file("p.svg") + " --checkpoint-dir " + scratch.path().string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("| exact log p(x)"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("| IWAE-5"), std::string::npos) << run.output;
  const nlohmann::json j = testing::read_json(scratch.file("r.json"));
  EXPECT_EQ(j["experiment"], "objective_comparison");
  ASSERT_TRUE(j.contains("timings"));
  const nlohmann::json& models = j["results"]["models"];
  ASSERT_EQ(models.size(), 3u);
  const auto value = [](const nlohmann::json& e) { return e["value"].get<double>(); };
  const auto se = [](const nlohmann::json& e) { return e["monte_carlo_standard_error"].get<double>(); };
  const double slack = 1e-4;  // float decoders: the quadrature's floor
  for (const nlohmann::json& m : models) {
    SCOPED_TRACE(m["objective"].get<std::string>());
    // KL(q ‖ p(z|x)) = log p(x) - L[q] >= 0, exactly as the two numbers say.
    EXPECT_GE(value(m["test_kl_amortized"]), -slack);
    EXPECT_NEAR(value(m["test_kl_amortized"]), value(m["test_log_px"]) - value(m["test_elbo_amortized"]), 1e-6);
    EXPECT_LE(value(m["train_elbo_amortized"]), value(m["train_log_px"]) + slack);
    // The training grid (h = 0.1) resolves these wide posteriors: it agrees with the adaptive quadrature.
    EXPECT_LT(std::abs(m["training_grid_minus_adaptive_quadrature_test"]["mean"].get<double>()), 1e-2);
    const nlohmann::json& q = m["qstar_subset"];
    for (const std::string family : {"ffg", "full"}) {
      SCOPED_TRACE(family);
      ASSERT_TRUE(q.contains(family)) << q.dump(2);
      // inference = approximation + amortization; q* cannot beat the truth.
      EXPECT_NEAR(value(q["inference_gap"]),
                  value(q[family]["approximation_gap"]) + value(q[family]["amortization_gap"]), 1e-6);
      EXPECT_GE(value(q[family]["approximation_gap"]), -3.9 * se(q[family]["approximation_gap"]) - slack);  // one-sided, P <~ 5e-5
    }
    // q*_FFG keeps the better of its fits from the encoder's q and from the exact moments, each
    // keeping its best check: it cannot be much worse than the encoder.
    EXPECT_GE(value(q["ffg"]["amortization_gap"]), -0.05);
    for (const std::string family : {"ffg", "full"}) {
      const int from_moments = q[family]["optimization"]["datapoints_from_exact_moments"].get<int>();
      EXPECT_GE(from_moments, 0);
      EXPECT_LE(from_moments, 6);
    }
  }
  // The first model is the reference of the paired differences.
  EXPECT_EQ(value(models[0]["test_log_px_minus_first_objective"]), 0.0);
  // The paired differences are the differences of the models' means on the same training points.
  // (Whether training by the exact log p(x) beats the ELBO after 2 epochs of 300 images is an
  // optimization outcome, not a property of the code that holds for every seed: on the synthetic
  // data it came out -0.06 +- 0.04 nats at VIGAP_TEST_SEED=4, so it is not asserted.)
  for (const nlohmann::json& m : models) {
    const nlohmann::json& d = m["train_log_px_minus_first_objective"];
    EXPECT_NEAR(value(d), value(m["train_log_px"]) - value(models[0]["train_log_px"]),
                1e-9 * (1.0 + std::abs(value(models[0]["train_log_px"]))));
    if (&m != &models[0]) {
      EXPECT_GT(d["dataset_standard_error"].get<double>(), 0.0);
    }
  }
  for (const std::string name : {"elbo", "iwae-5", "exact"})
    EXPECT_TRUE(std::filesystem::exists(scratch.file("objective_comparison_" + name + ".safetensors"))) << name;
  const std::string svg = testing::read_text(scratch.file("p.svg"));
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("IWAE-5"), std::string::npos);
}

TEST(ObjectiveComparisonBinary, SameSeedGivesIdenticalResults) {
  TemporaryDirectory scratch;
  const std::string args = "--objectives elbo,exact" + kTiny + " --epochs 1 --qstar-points 2 --seed " + testing::test_seed_argument(5);
  auto run = run_experiment("vigap-objective-comparison",
                        args + " --out " + scratch.file("a.json") + " --picture " + scratch.file("a.svg"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  run = run_experiment("vigap-objective-comparison",
                   args + " --out " + scratch.file("b.json") + " --picture " + scratch.file("b.svg"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(testing::read_json(scratch.file("a.json"))["results"].dump(),
            testing::read_json(scratch.file("b.json"))["results"].dump());
  EXPECT_EQ(testing::read_text(scratch.file("a.svg")), testing::read_text(scratch.file("b.svg")));
}

// The trajectory (--trajectory-points) measures along training without changing it: every other
// figure is identical to the run without it (the hook gets no generator), it has one point per
// epoch, and its last point is the final model's, so it equals the mean of the final per-datapoint
// log p(x) and KL(q ‖ p(z|x)) over the same first test points (same quadrature, same decoder).
TEST(ObjectiveComparisonBinary, TrajectoryFollowsTrainingWithoutChangingIt) {
  TemporaryDirectory scratch;
  const std::string args = "--objectives elbo,exact" + kTiny + " --epochs 2 --qstar-points 2 --per-datapoint --seed " +
                           testing::test_seed_argument(7);
  auto run = run_experiment("vigap-objective-comparison",
                            args + " --out " + scratch.file("a.json") + " --picture " + scratch.file("a.svg"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const Index points = 4;
  run = run_experiment("vigap-objective-comparison", args + " --trajectory-points " + std::to_string(points) + " --out " +
                                                         scratch.file("b.json") + " --picture " + scratch.file("b.svg"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json without = testing::read_json(scratch.file("a.json"));
  nlohmann::json with = testing::read_json(scratch.file("b.json"));
  EXPECT_EQ(with["configuration"]["trajectory"]["points"], points);
  const auto mean_of_first = [&](const nlohmann::json& estimate) {
    double sum = 0.0;
    for (Index b = 0; b < points; ++b) sum += estimate["per_datapoint"][static_cast<size_t>(b)].get<double>();
    return sum / static_cast<double>(points);
  };
  for (nlohmann::json& m : with["results"]["models"]) {
    SCOPED_TRACE(m["objective"].get<std::string>());
    ASSERT_TRUE(m.contains("trajectory"));
    const nlohmann::json& epochs = m["trajectory"]["epochs"];
    ASSERT_EQ(epochs.size(), 2u);
    const bool joint = m["objective"] != "exact";
    for (size_t e = 0; e < epochs.size(); ++e) {
      EXPECT_EQ(epochs[e]["epoch"], static_cast<int>(e + 1));
      EXPECT_TRUE(std::isfinite(epochs[e]["test_log_px"]["value"].get<double>()));
      // KL(q*_FFG ‖ p(z|x)) >= 0 up to the quadrature's floor, and no larger than the encoder's
      // (q* is fitted per datapoint; the encoder's q is one member of the same family) beyond noise.
      EXPECT_GE(epochs[e]["kl_qstar_ffg"]["value"].get<double>(), -1e-4);
      EXPECT_EQ(epochs[e].contains("kl_amortized"), joint);
    }
    const nlohmann::json& last = epochs.back();
    EXPECT_NEAR(last["test_log_px"]["value"].get<double>(), mean_of_first(m["test_log_px"]), 1e-6);
    if (joint) {
      // The KL's grid is placed from random draws of q (its only randomness), other draws here:
      // the two agree within the quadrature's tolerance (1e-4 nats each) and error estimates.
      double error = 0.0;
      for (Index b = 0; b < points; ++b)
        error += m["test_kl_amortized"]["per_datapoint_standard_error"][static_cast<size_t>(b)].get<double>();
      EXPECT_NEAR(last["kl_amortized"]["value"].get<double>(), mean_of_first(m["test_kl_amortized"]),
                  2e-4 + 2.0 * error / static_cast<double>(points));
      EXPECT_LE(last["kl_qstar_ffg"]["value"].get<double>(), last["kl_amortized"]["value"].get<double>() + 0.05);
    }
    m.erase("trajectory");
  }
  EXPECT_EQ(with["results"].dump(), without["results"].dump());
}

}  // namespace
}  // namespace vigap
