// Every binary treats a checkpoint's amortized flow the same way: it uses it where the analysis
// can (vigap-evaluate, vigap-gap-table, vigap-hmc-vs-vi) or refuses it with the one message of
// LoadedModel::require_gaussian_amortized, naming the checkpoint and why (vigap-aggregate-posterior,
// vigap-estimator-variance, vigap-posterior-2d); AIS from q runs from the flow through its ∇_z log q
// (in vigap-evaluate and vigap-hmc-vs-vi), while q* starts from the encoder's Gaussian.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/experiment_binary_test.hpp"

namespace vigap {
namespace {

using testing::ExperimentBinaryTest;
using testing::run_experiment;

/// A tiny 2-D VAE with one coupling layer (8 hidden units) after its encoder, trained once per test program.
std::string flow_checkpoint() { return testing::tiny_checkpoint("--latent-dim 2 --flow-layers 1 --flow-hidden 8"); }

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

using AmortizedFlow = ExperimentBinaryTest;

TEST_F(AmortizedFlow, BinariesThatCanUseItDo) {
  const std::string checkpoint = flow_checkpoint();
  const std::string common = " --checkpoint " + checkpoint + " --num-datapoints 2 --threads 1 --seed 1";
  const struct {
    std::string binary, arguments;
  } runs[] = {
      {"vigap-evaluate", "--estimators elbo,is --is-samples 20"},
      {"vigap-evaluate", "--estimators ais --ais-from encoder --ais-steps 5 --ais-chains 2"},
      {"vigap-gap-table", "--families ffg --log-px quadrature --qstar-max-steps 20 --eval-samples 50"},
      {"vigap-hmc-vs-vi", "--budgets 300 --grid-nodes 21 --vi-draws 50 --picture " + out.file("p.svg")},
  };
  for (const auto& r : runs) {
    const auto run = run_experiment(r.binary, r.arguments + common + " --out " + out.file(r.binary + ".json"));
    ASSERT_EQ(run.exit_code, 0) << r.binary << ": " << run.output;
    const std::string used =
        read_json(out.file(r.binary + ".json"))["configuration"]["amortized_approximation"].get<std::string>();
    EXPECT_EQ(used.rfind("amortized flow", 0), 0u) << r.binary << " used " << used;
  }
  // vigap-hmc-vs-vi's AIS from q starts from the flow (its results name it), as its configuration
  // says, and q* from the encoder's Gaussian.
  const nlohmann::json hmc = read_json(out.file("vigap-hmc-vs-vi.json"));
  const std::string ais_start =
      hmc["results"]["log_marginal_likelihood"]["ais_from_encoder_q"][0]["error"]["settings"]["initial_distribution"];
  EXPECT_EQ(ais_start.rfind("amortized flow posterior", 0), 0u) << ais_start;
  const nlohmann::json& starts = hmc["configuration"]["starting_distributions"];
  EXPECT_EQ(starts["ais_from_encoder_q"], "the amortized q: " + ais_start);
  EXPECT_EQ(starts["importance_sampling_from_encoder_q"], "proposal the amortized q: " + ais_start);
  EXPECT_EQ(starts["q_star_diagonal"].get<std::string>().rfind("the encoder's Gaussian", 0), 0u) << starts.dump();
  EXPECT_EQ(starts["q_star_diagonal"].get<std::string>().find("flow"), std::string::npos) << starts.dump();
}

TEST_F(AmortizedFlow, BinariesThatCannotSaySoInOneMessage) {
  const std::string checkpoint = flow_checkpoint();
  const struct {
    std::string binary, arguments;
  } runs[] = {
      {"vigap-aggregate-posterior", "--num-datapoints 2 --picture " + out.file("a.svg")},
      {"vigap-estimator-variance", "--num-datapoints 2 --picture " + out.file("e.svg")},
      {"vigap-posterior-2d", "--datapoints 0 --picture " + out.file("p.svg")},
  };
  for (const auto& r : runs) {
    const auto run = run_experiment(r.binary, r.arguments + " --checkpoint " + checkpoint + " --out " + out.file("x.json"));
    EXPECT_NE(run.exit_code, 0) << r.binary;
    for (const std::string& fragment : {"checkpoint " + checkpoint, std::string("has a flow after the encoder"),
                                       r.binary + " cannot use: "})
      EXPECT_NE(run.output.find(fragment), std::string::npos) << r.binary << " lacks '" << fragment << "': " << run.output;
    EXPECT_FALSE(std::filesystem::exists(out.file("x.json"))) << r.binary;
  }
}

}  // namespace
}  // namespace vigap
