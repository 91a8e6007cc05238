// vigap-train and vigap-evaluate end to end on synthetic images: reproducible training, IWAE
// bounds in order, divergence stopped cleanly, help and version. Their bad input (and every other
// binary's): tests/experiments/bad_input_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/io/vae_checkpoint.hpp"
#include "support/experiment_binary_test.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::run_experiment;

// The tiny model of the binaries' tests (tests/support/experiment_binary_test.hpp), 2-D latents.
const std::string kSmallModel = testing::kTinyModel + " --latent-dim 2";

class TrainBinary : public testing::ExperimentBinaryTest {};

TEST_F(TrainBinary, TrainsWritesCheckpointAndJsonAndIsReproducible) {
  const std::string common = kSmallModel + " --seed " + testing::test_seed_argument(5);
  const auto first = run_experiment("vigap-train", common + " --out " + out.file("a.json") + " --checkpoint " +
                                                   out.file("a.safetensors"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("test ELBO"), std::string::npos) << first.output;
  const auto second = run_experiment("vigap-train", common + " --out " + out.file("b.json") + " --checkpoint " +
                                                    out.file("b.safetensors"));
  ASSERT_EQ(second.exit_code, 0) << second.output;

  nlohmann::json a = testing::read_json(out.file("a.json"));
  nlohmann::json b = testing::read_json(out.file("b.json"));
  EXPECT_EQ(a["schema_version"], 1);
  EXPECT_EQ(a["results"]["epochs"].size(), 2u);
  EXPECT_LT(a["results"]["test_elbo"]["value"].get<double>(), 0.0);
  // Same seed, same inputs: identical bytes once the timings are set aside.
  a.erase("timings");
  b.erase("timings");
  a["configuration"].erase("checkpoint");
  b["configuration"].erase("checkpoint");
  EXPECT_EQ(a.dump(), b.dump());
  EXPECT_EQ(testing::read_text(out.file("a.safetensors")), testing::read_text(out.file("b.safetensors")));

  const Vae vae = load_vae_checkpoint(out.file("a.safetensors"));
  EXPECT_EQ(vae.architecture.latent_dim, 2);
  EXPECT_EQ(vae.architecture.encoder_hidden, std::vector<Index>{32});
  EXPECT_EQ(vae.metadata.at("objective"), "elbo");
}

TEST_F(TrainBinary, IwaeTrainingAndBoundsInTheRightOrder) {
  auto run = run_experiment("vigap-train", kSmallModel + " --seed " + testing::test_seed_argument(6) +
                                               " --objective iwae --samples 5 --out " + out.file("t.json") +
                                               " --checkpoint " + out.file("m.safetensors"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  run = run_experiment("vigap-evaluate", "--checkpoint " + out.file("m.safetensors") +
                                         " --num-datapoints 50 --estimators elbo,iwae --elbo-samples 200"
                                         " --iwae-k 2,8,64 --iwae-replicates 4 --threads 1 --seed " + testing::test_seed_argument(7) +
                                         " --out " + out.file("e.json"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json r = testing::read_json(out.file("e.json"))["results"];
  // ELBO <= IWAE_2 <= IWAE_8 <= IWAE_64, each comparison within the two estimates' errors.
  const std::vector<std::string> order{"elbo", "iwae_2", "iwae_8", "iwae_64"};
  for (size_t i = 0; i + 1 < order.size(); ++i) {
    const double lower = r[order[i]]["value"], upper = r[order[i + 1]]["value"];
    const double se = std::hypot(r[order[i]]["monte_carlo_standard_error"].get<double>(),
                                 r[order[i + 1]]["monte_carlo_standard_error"].get<double>());
    EXPECT_LT(lower, upper + 3.9 * se) << order[i] << " vs " << order[i + 1];  // one-sided, P <~ 5e-5
  }
  EXPECT_GT(r["iwae_64"]["value"].get<double>(), r["elbo"]["value"].get<double>());
}

TEST_F(TrainBinary, DivergenceStopsWithAMessageAndNoJson) {
  const auto run = run_experiment("vigap-train", kSmallModel + " --learning-rate 1e6 --out " + out.file("d.json") +
                                                 " --checkpoint " + out.file("d.safetensors"));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("diverged"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(out.file("d.json")));
  EXPECT_FALSE(std::filesystem::exists(out.file("d.safetensors")));
}

TEST_F(TrainBinary, HelpAndVersion) {
  auto run = run_experiment("vigap-train", "--help");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.output.find("--kl-warmup-epochs"), std::string::npos);
  run = run_experiment("vigap-evaluate", "--version");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.output.find("vigap-evaluate 0.1.0"), std::string::npos);
}

}  // namespace
}  // namespace vigap
