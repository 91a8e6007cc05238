// --seeds (distributed/seed_replicates.hpp) end to end on vigap-objective-comparison at a tiny
// size: each replicate is exactly the single-seed run, the summary's figures are the replicates'
// mean, standard error and t interval, a resumed run keeps the finished replicates and recomputes
// a missing or altered one, a resume of another command is refused; and every switch of every
// replicated binary is known to the driver (else it would take the next token as its value).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "analyses/across_seeds.hpp"
#include "distributed/seed_replicates.hpp"
#include "support/experiment_binary_test.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::run_experiment;
using testing::TemporaryDirectory;

const std::string kTiny =
    " --objectives elbo,iwae-3 --epochs 1 --train-size 200 --validation-size 50 --encoder-hidden 16"
    " --decoder-hidden 16 --train-eval-points 20 --test-eval-points 20 --qstar-points 0 --threads 1";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A result file's "results" (timings differ between runs).
std::string results_of(const std::string& path) {
  return nlohmann::ordered_json::parse(read_text(path)).at("results").dump();
}

TEST(SeedReplicates, OutputPathsGetTheSeedBeforeTheExtension) {
  EXPECT_EQ(replicate_output_path("out/r.json", 7, false), "out/r.seed-7.json");
  EXPECT_EQ(replicate_output_path("r", 7, false), "r.seed-7");
  EXPECT_EQ(replicate_output_path("a.b/r.svg", 0, false), "a.b/r.seed-0.svg");
  EXPECT_EQ(replicate_output_path("models", 3, true), "models/seed-3");
  EXPECT_EQ(replicate_output_path("models/", 3, true), "models/seed-3");
}

TEST(SeedReplicates, EachReplicateIsTheSingleSeedRunAndTheSummaryIsTheirs) {
  TemporaryDirectory scratch;
  const std::uint64_t first = testing::test_seed(11);
  const std::string outputs = " --out " + scratch.file("o.json") + " --picture " + scratch.file("o.svg");
  const auto run = run_experiment("vigap-objective-comparison",
                                  kTiny + " --seeds 3 --seed " + std::to_string(first) + outputs);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("## Across 3 seeds"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("| models/iwae-3/test_log_px_minus_first_objective |"), std::string::npos) << run.output;

  // The second replicate against the same study run alone with its seed.
  const auto single = run_experiment("vigap-objective-comparison", kTiny + " --seed " + std::to_string(first + 1) +
                                                                       " --out " + scratch.file("single.json") +
                                                                       " --picture " + scratch.file("single.svg"));
  ASSERT_EQ(single.exit_code, 0) << single.output;
  const nlohmann::ordered_json alone = nlohmann::ordered_json::parse(read_text(scratch.file("single.json")));
  std::vector<nlohmann::ordered_json> replicates;
  for (std::uint64_t s = first; s < first + 3; ++s) {
    const std::string path = scratch.file("o.seed-" + std::to_string(s) + ".json");
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    ASSERT_TRUE(std::filesystem::exists(scratch.file("o.seed-" + std::to_string(s) + ".svg")));
    replicates.push_back(nlohmann::ordered_json::parse(read_text(path)));
    EXPECT_EQ(replicates.back()["seed"], s);
  }
  EXPECT_EQ(replicates[1]["results"].dump(), alone["results"].dump());
  EXPECT_EQ(read_text(scratch.file("o.seed-" + std::to_string(first + 1) + ".svg")), read_text(scratch.file("single.svg")));
  // The seeds give different models: a summary over identical replicates would show nothing.
  EXPECT_NE(replicates[0]["results"].dump(), replicates[1]["results"].dump());

  const nlohmann::ordered_json summary = nlohmann::ordered_json::parse(read_text(scratch.file("o.json")));
  EXPECT_EQ(summary["experiment"], "objective_comparison");
  EXPECT_EQ(summary["seeds"], (nlohmann::ordered_json{first, first + 1, first + 2}));
  EXPECT_EQ(summary["configuration"], alone["configuration"]);
  for (std::size_t m = 0; m < 2; ++m)
    for (const char* figure : {"test_log_px", "test_kl_amortized", "test_log_px_minus_first_objective"}) {
      SCOPED_TRACE(std::string(figure) + " of model " + std::to_string(m));
      std::vector<double> values;
      for (const nlohmann::ordered_json& r : replicates) values.push_back(r["results"]["models"][m][figure]["value"].get<double>());
      const AcrossSeeds expected = summarize_across_seeds(values);
      const nlohmann::ordered_json& got = summary["results"]["models"][m][figure]["value"];
      EXPECT_EQ(got["mean"].get<double>(), expected.mean);
      EXPECT_EQ(got["standard_error_across_seeds"].get<double>(), expected.standard_error);
      EXPECT_EQ(got["interval_95"][0].get<double>(), expected.interval_low);
      EXPECT_EQ(got["per_seed"][2].get<double>(), values[2]);
    }
}

TEST(SeedReplicates, ResumeKeepsFinishedReplicatesAndRecomputesMissingOnes) {
  TemporaryDirectory scratch;
  const std::string seeds = " --seeds " + testing::test_seed_argument(5) + "," + testing::test_seed_argument(2);
  const std::string outputs = " --out " + scratch.file("o.json") + " --picture " + scratch.file("o.svg");
  ASSERT_EQ(run_experiment("vigap-objective-comparison", kTiny + seeds + outputs).exit_code, 0);
  const std::string summary = results_of(scratch.file("o.json"));
  const std::string kept = scratch.file("o.seed-" + testing::test_seed_argument(5) + ".json");
  const std::string lost = scratch.file("o.seed-" + testing::test_seed_argument(2) + ".json");
  const std::string kept_results = results_of(kept), lost_results = results_of(lost);
  // A run killed before its last replicate finished: that replicate's file is not there.
  std::filesystem::remove(lost);
  std::filesystem::remove(scratch.file("o.json"));
  // The kept replicate's file is marked by an old timestamp: a rerun that rewrote it would renew it.
  const auto stamp = std::filesystem::last_write_time(kept) - std::chrono::hours(1);
  std::filesystem::last_write_time(kept, stamp);
  const auto resumed = run_experiment("vigap-objective-comparison", kTiny + seeds + outputs + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(std::filesystem::last_write_time(kept), stamp) << "the finished replicate was run again";
  EXPECT_EQ(results_of(lost), lost_results);
  EXPECT_EQ(results_of(scratch.file("o.json")), summary);

  // An altered replicate is not trusted: it is computed again, and the summary is the same.
  std::ofstream(kept, std::ios::app) << " ";
  const auto altered = run_experiment("vigap-objective-comparison", kTiny + seeds + outputs + " --resume");
  ASSERT_EQ(altered.exit_code, 0) << altered.output;
  EXPECT_NE(altered.output.find("is missing or changed since it was recorded"), std::string::npos) << altered.output;
  EXPECT_NE(std::filesystem::last_write_time(kept), stamp) << "the altered replicate was kept";
  EXPECT_EQ(results_of(kept), kept_results);
  EXPECT_EQ(results_of(scratch.file("o.json")), summary);

  // A resume of another command is refused, naming what differs.
  const auto other = run_experiment("vigap-objective-comparison",
                                    kTiny + " --epochs 2" + seeds + outputs + " --resume");
  EXPECT_EQ(other.exit_code, 2) << other.output;
  EXPECT_NE(other.output.find("is of another run (arguments recorded"), std::string::npos) << other.output;
}

TEST(SeedReplicates, SeedPlaceholderIsReplacedEverywhereInAToken) {
  EXPECT_EQ(substitute_seed("vae.seed-{seed}.safetensors", 12), "vae.seed-12.safetensors");
  EXPECT_EQ(substitute_seed("{seed}/{seed}", 3), "3/3");
  EXPECT_EQ(substitute_seed("no placeholder", 3), "no placeholder");
}

TEST(SeedReplicates, ConfigurationsMergeKeyByKeyIntoPerSeedValues) {
  const nlohmann::ordered_json a = {{"checkpoint", "a.safetensors"}, {"meta", {{"seed", "1"}, {"epochs", 2}}}, {"n", 5}};
  const nlohmann::ordered_json b = {{"checkpoint", "b.safetensors"}, {"meta", {{"seed", "2"}, {"epochs", 2}}}, {"n", 5}};
  EXPECT_EQ(merge_replicate_configurations({a, a}), a);
  const nlohmann::ordered_json merged = merge_replicate_configurations({a, b});
  EXPECT_EQ(merged["checkpoint"], nlohmann::ordered_json({{"per_seed", {"a.safetensors", "b.safetensors"}}}));
  EXPECT_EQ(merged["meta"]["seed"], nlohmann::ordered_json({{"per_seed", {"1", "2"}}}));
  EXPECT_EQ(merged["meta"]["epochs"], 2);
  EXPECT_EQ(merged["n"], 5);
  // Other keys: the whole node per seed.
  const nlohmann::ordered_json c = {{"other", 1}};
  EXPECT_EQ(merge_replicate_configurations({a, c}), nlohmann::ordered_json({{"per_seed", {a, c}}}));
  EXPECT_THROW(merge_replicate_configurations({}), std::invalid_argument);
}

// {seed} in an option value: replicate s reads its own checkpoint (one model trained per seed),
// is exactly the single-seed run on that checkpoint, and the summary lists the checkpoints per
// seed. Without the placeholder, replicates whose configurations differ are refused (the same
// command cannot give them), which the driver checks before it summarizes.
TEST(SeedReplicates, SeedPlaceholderGivesEachReplicateItsOwnCheckpoint) {
  TemporaryDirectory scratch;
  const std::string first = testing::tiny_checkpoint("--latent-dim 2");
  const std::string second = testing::tiny_checkpoint("--latent-dim 2 --learning-rate 0.002");
  std::filesystem::copy_file(first, scratch.file("vae.seed-1.safetensors"));
  std::filesystem::copy_file(second, scratch.file("vae.seed-2.safetensors"));
  const std::string study = " --num-datapoints 30 --splits test --mc-samples 2 --picture-grid-nodes 21 --threads 1";
  auto run = run_experiment("vigap-aggregate-posterior", "--seeds 1,2 --checkpoint " + scratch.file("vae.seed-{seed}.safetensors") +
                                                             study + " --out " + scratch.file("s.json") + " --picture " +
                                                             scratch.file("s.svg"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  run = run_experiment("vigap-aggregate-posterior", "--seed 2 --checkpoint " + scratch.file("vae.seed-2.safetensors") + study +
                                                        " --out " + scratch.file("single.json") + " --picture " +
                                                        scratch.file("single.svg"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(results_of(scratch.file("s.seed-2.json")), results_of(scratch.file("single.json")));
  EXPECT_NE(results_of(scratch.file("s.seed-1.json")), results_of(scratch.file("s.seed-2.json")));
  const nlohmann::ordered_json summary = nlohmann::ordered_json::parse(read_text(scratch.file("s.json")));
  const nlohmann::ordered_json& checkpoints = summary["configuration"]["checkpoint"]["per_seed"];
  ASSERT_EQ(checkpoints.size(), 2u) << summary["configuration"].dump(1);
  EXPECT_NE(checkpoints[0].get<std::string>().find("vae.seed-1.safetensors"), std::string::npos);
  EXPECT_NE(checkpoints[1].get<std::string>().find("vae.seed-2.safetensors"), std::string::npos);
}

TEST(SeedReplicates, TheDriverKnowsEverySwitchOfTheReplicatedBinaries) {
  for (const char* binary : {"vigap-aggregate-posterior", "vigap-estimator-variance", "vigap-evaluate", "vigap-gap-table",
                             "vigap-hmc-vs-vi", "vigap-objective-comparison", "vigap-posterior-2d"}) {
    SCOPED_TRACE(binary);
    const auto help = testing::run_binary(binary, "--help");
    ASSERT_EQ(help.exit_code, 0) << help.output;
    EXPECT_NE(help.output.find("--seeds arg"), std::string::npos) << help.output;
    std::stringstream lines(help.output);
    std::string line;
    int options = 0;
    while (std::getline(lines, line)) {
      // Option lines: "  --name arg (=...)  text" or "  -h [ --help ]  text"; descriptions are indented further.
      std::size_t dash = std::string::npos;
      if (line.rfind("  --", 0) == 0) dash = 2;
      else if (line.rfind("  -h [ --", 0) == 0) dash = 7;
      if (dash == std::string::npos) continue;
      const std::string name = line.substr(dash, line.find_first_of(" ]", dash) - dash);
      ++options;
      const bool takes_value = line.compare(dash + name.size(), 4, " arg") == 0;
      if (takes_value) continue;
      const auto& switches = replicate_switch_options();
      EXPECT_NE(std::find(switches.begin(), switches.end(), name), switches.end())
          << name << " takes no value but the replicate driver does not list it: " << line;
    }
    EXPECT_GT(options, 5);
  }
}

}  // namespace
}  // namespace vigap
