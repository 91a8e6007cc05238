// --protocol on vigap-gap-table end to end: the JSON records the preset, its overrides and the
// run's cost (exactly what AIS spends); the cost line is printed; and a protocol run's `results`
// are byte-identical to a run given the same settings one by one. Small runs: T, chains, q*
// steps and datapoints are overridden (never a T = 10000 run here).
#include <gtest/gtest.h>

#include <string>

#include "support/experiment_binary_test.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::run_experiment;
using testing::TemporaryDirectory;

const std::string kSmall = " --num-datapoints 2 --ais-steps 20 --ais-chains 4 --qstar-max-steps 30 --families ffg"
                           " --eval-samples 20 --threads 1";

TEST(ProtocolBinary, GapTableRecordsThePresetItsOverridesAndTheCostAndMatchesTheSettingsTypedOut) {
  TemporaryDirectory scratch;
  const std::string checkpoint = testing::tiny_checkpoint("--latent-dim 2");
  const std::string seed = " --seed " + testing::test_seed_argument(81);
  const auto preset = run_experiment("vigap-gap-table", "--checkpoint " + checkpoint + " --protocol cremer2018" + kSmall +
                                                            " --ais-leapfrog-steps 10" + seed + " --out " +
                                                            scratch.file("preset.json"));
  ASSERT_EQ(preset.exit_code, 0) << preset.output;
  EXPECT_NE(preset.output.find("vigap-gap-table: cost: "), std::string::npos) << preset.output;
  EXPECT_NE(preset.output.find("q*_ffg fit "), std::string::npos) << preset.output;
  EXPECT_NE(preset.output.find("evaluations/s measured here"), std::string::npos) << preset.output;
  const nlohmann::json j = testing::read_json(scratch.file("preset.json"));
  const nlohmann::json& protocol = j["configuration"]["protocol"];
  EXPECT_EQ(protocol["name"], "cremer2018");
  EXPECT_EQ(protocol["settings"]["ais-steps"], 10000);
  EXPECT_EQ(protocol["settings"]["ais-adaptation"], "online");
  EXPECT_EQ(protocol["overrides"], nlohmann::json::parse(R"({"ais-steps": 20, "ais-chains": 4, "num-datapoints": 2,
      "families": "ffg", "qstar-max-steps": 30, "eval-samples": 20})"));  // --ais-leapfrog-steps 10 is the preset's own
  for (const std::string option : {"iwae-k", "elbo-samples", "estimators", "ais-from"})
    EXPECT_NE(std::find(protocol["not_applicable"].begin(), protocol["not_applicable"].end(), option),
              protocol["not_applicable"].end())
        << option;
  EXPECT_FALSE(protocol["not_reproduced"].empty());
  EXPECT_EQ(j["configuration"]["log_px"], "ais");  // the preset's --log-px ais, though the latent dimension is 2
  // The cost: AIS from the prior, online adaptation (no pilot), 2 datapoints x 4 chains x (1 + 19 x 10).
  const nlohmann::json& cost = j["execution"]["cost"];
  EXPECT_EQ(cost["stages"][0]["name"], "log p(x) by AIS");
  EXPECT_EQ(cost["stages"][0]["decoder_evaluations"], 2 * 4 * (1 + 19 * 10));
  // The q* fit (30 steps: the patience rule cannot fire, so the count is exact) against what the fit reports.
  EXPECT_EQ(cost["stages"][2]["name"], "q*_ffg fit");
  EXPECT_EQ(cost["stages"][2]["upper_bound"], false);
  EXPECT_EQ(cost["stages"][2]["decoder_evaluations"], j["results"]["ffg"]["optimization"]["decoder_evaluations"]);
  EXPECT_EQ(cost["upper_bound"], false);
  ASSERT_FALSE(cost["throughput"].empty());
  EXPECT_GT(cost["throughput"][0]["columns_per_second"].get<double>(), 0.0);
  EXPECT_GT(cost["stages"][0]["columns_per_second"].get<double>(), 0.0);
  EXPECT_EQ(cost["ranks"], 1);
  ASSERT_FALSE(j["results"].contains("cost"));

  // The same run with every applicable setting of the preset typed out.
  const std::string typed = " --log-px ais --ais-schedule linear --ais-leapfrog-steps 10 --ais-step-size 0.01"
                            " --ais-adaptation online --ais-target-acceptance 0.65 --ais-step-increase 1.02"
                            " --ais-step-decrease 0.98 --ais-min-step-size 1e-4 --ais-max-step-size 0.5"
                            " --first-datapoint 0 --init prior --qstar-samples 50 --qstar-learning-rate 0.001"
                            " --qstar-learning-rate-half-life 0 --qstar-check-interval 100 --qstar-patience 11";
  const auto by_hand = run_experiment("vigap-gap-table", "--checkpoint " + checkpoint + kSmall + typed + seed +
                                                             " --out " + scratch.file("typed.json"));
  ASSERT_EQ(by_hand.exit_code, 0) << by_hand.output;
  const nlohmann::json k = testing::read_json(scratch.file("typed.json"));
  EXPECT_EQ(k["configuration"]["protocol"], nlohmann::json::parse(R"({"name": "none"})"));
  EXPECT_EQ(j["results"].dump(), k["results"].dump());
}

TEST(ProtocolBinary, EvaluateRefusesAnUnknownProtocolNamingTheKnownOnes) {
  TemporaryDirectory scratch;
  const auto run = run_experiment("vigap-evaluate", "--checkpoint " + testing::untrained_checkpoint(2, true) +
                                                        " --protocol cremer --out " + scratch.file("out.json"));
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--protocol must be one of none, cremer2018, wu2017, found 'cremer'"), std::string::npos)
      << run.output;
}

TEST(ProtocolBinary, EvaluateAppliesWuAndRecordsTheCostOfEachEstimator) {
  TemporaryDirectory scratch;
  const auto run = run_experiment("vigap-evaluate", "--checkpoint " + testing::tiny_checkpoint("--latent-dim 2") +
                                                        " --protocol wu2017 --estimators elbo,ais --elbo-samples 10"
                                                        " --ais-steps 15 --ais-chains 3 --num-datapoints 2 --threads 1"
                                                        " --out " + scratch.file("out.json"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json j = testing::read_json(scratch.file("out.json"));
  const nlohmann::json& protocol = j["configuration"]["protocol"];
  EXPECT_EQ(protocol["name"], "wu2017");
  EXPECT_EQ(protocol["settings"]["ais-schedule"], "sigmoid");
  EXPECT_EQ(protocol["overrides"], nlohmann::json::parse(R"({"ais-steps": 15, "ais-chains": 3})"));
  const nlohmann::json& cost = j["execution"]["cost"];
  EXPECT_EQ(cost["decoder_evaluations"], 2 * 10 + 2 * 3 * (1 + 14 * 10));
  EXPECT_EQ(cost["upper_bound"], false);
}

}  // namespace
}  // namespace vigap
