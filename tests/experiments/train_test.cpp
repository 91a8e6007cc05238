// vigap-train and vigap-evaluate end to end on a small slice of Fashion-MNIST, and every
// bad-input case of the binaries: a clear message, a non-zero exit code, no output file.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/io/vae_checkpoint.hpp"
#include "support/run_binary.hpp"
#include "support/temporary_directory.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::run_binary;
using testing::TemporaryDirectory;

const std::string kSmallModel =
    "--train-size 600 --validation-size 200 --test-size 200 --epochs 2 --latent-dim 2 --encoder-hidden 32 "
    "--decoder-hidden 32 --batch-size 50 --threads 1";

bool fashion_mnist_installed() { return std::filesystem::exists("/usr/share/datasets/fashion-mnist"); }

class TrainBinary : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fashion_mnist_installed()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  TemporaryDirectory scratch;
};

TEST_F(TrainBinary, TrainsWritesCheckpointAndJsonAndIsReproducible) {
  const std::string common = kSmallModel + " --seed " + testing::test_seed_argument(5);
  const auto first = run_binary("vigap-train", common + " --out " + scratch.file("a.json") + " --checkpoint " +
                                                   scratch.file("a.safetensors"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("test ELBO"), std::string::npos) << first.output;
  const auto second = run_binary("vigap-train", common + " --out " + scratch.file("b.json") + " --checkpoint " +
                                                    scratch.file("b.safetensors"));
  ASSERT_EQ(second.exit_code, 0) << second.output;

  nlohmann::json a = testing::read_json(scratch.file("a.json"));
  nlohmann::json b = testing::read_json(scratch.file("b.json"));
  EXPECT_EQ(a["schema_version"], 1);
  EXPECT_EQ(a["results"]["epochs"].size(), 2u);
  EXPECT_LT(a["results"]["test_elbo"]["value"].get<double>(), 0.0);
  // Same seed, same inputs: identical bytes once the timings are set aside.
  a.erase("timings");
  b.erase("timings");
  a["configuration"].erase("checkpoint");
  b["configuration"].erase("checkpoint");
  EXPECT_EQ(a.dump(), b.dump());
  EXPECT_EQ(testing::read_text(scratch.file("a.safetensors")), testing::read_text(scratch.file("b.safetensors")));

  const Vae vae = load_vae_checkpoint(scratch.file("a.safetensors"));
  EXPECT_EQ(vae.architecture.latent_dim, 2);
  EXPECT_EQ(vae.architecture.encoder_hidden, std::vector<Index>{32});
  EXPECT_EQ(vae.metadata.at("objective"), "elbo");
}

TEST_F(TrainBinary, IwaeTrainingAndBoundsInTheRightOrder) {
  auto run = run_binary("vigap-train", kSmallModel + " --objective iwae --samples 5 --out " + scratch.file("t.json") +
                                           " --checkpoint " + scratch.file("m.safetensors"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  run = run_binary("vigap-evaluate", "--checkpoint " + scratch.file("m.safetensors") +
                                         " --num-datapoints 50 --estimators elbo,iwae --elbo-samples 200"
                                         " --iwae-k 2,8,64 --iwae-replicates 4 --threads 1 --out " + scratch.file("e.json"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json r = testing::read_json(scratch.file("e.json"))["results"];
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

struct BadInput {
  std::string name;
  std::string binary;
  std::string arguments;
  std::string expected_message;
};

// Test names in ctest's output show the case's name, not the struct's bytes.
void PrintTo(const BadInput& c, std::ostream* os) { *os << c.name; }

class BadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadInputTest, FailsWithAClearMessageAndNoOutputFile) {
  const BadInput c = GetParam();
  TemporaryDirectory scratch;
  const std::string arguments = testing::substitute_placeholders(
      c.arguments, {{"{out}", scratch.file("out.json")},
                    {"{checkpoint}", scratch.file("model.safetensors")},
                    {"{dir}", scratch.path().string()}});
  const auto run = run_binary(c.binary, arguments);
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find(c.expected_message), std::string::npos)
      << "expected '" << c.expected_message << "' in: " << run.output;
  EXPECT_FALSE(std::filesystem::exists(scratch.file("out.json")));
  // Nothing but what the test itself put there (no temporary files left behind).
  for (const auto& entry : std::filesystem::directory_iterator(scratch.path()))
    EXPECT_EQ(entry.path().filename().string().rfind("bad", 0), 0u) << entry.path();
}

const std::string kOut = " --out {out} --checkpoint {checkpoint}";

const BadInput kBadInputs[] = {
        BadInput{"epochs_zero", "vigap-train", "--epochs 0" + kOut, "--epochs must be >= 1"},
        BadInput{"samples_zero", "vigap-train", "--samples 0" + kOut, "samples (S or K) must be >= 1"},
        BadInput{"latent_zero", "vigap-train", "--latent-dim 0" + kOut, "--latent-dim must be >= 1"},
        BadInput{"learning_rate", "vigap-train", "--learning-rate -1" + kOut, "--learning-rate must be positive"},
        BadInput{"unknown_option", "vigap-train", "--no-such-option 3" + kOut, "no-such-option"},
        BadInput{"bad_value", "vigap-train", "--epochs ten" + kOut, "epochs"},
        BadInput{"bad_hidden", "vigap-train", "--encoder-hidden 200,x" + kOut, "--encoder-hidden"},
        BadInput{"bad_activation", "vigap-train", "--activation sigmoid" + kOut, "unknown activation 'sigmoid'"},
        BadInput{"missing_dataset", "vigap-train", "--data-dir {dir}/nowhere" + kOut, "nowhere"},
        BadInput{"unknown_dataset", "vigap-train", "--dataset cifar" + kOut, "unknown --dataset 'cifar'"},
        BadInput{"unwritable_out", "vigap-train", "--out /nonexistent-dir/x.json --checkpoint {checkpoint}",
                 "/nonexistent-dir"},
        BadInput{"evaluate_missing_checkpoint", "vigap-evaluate", "--checkpoint {dir}/bad-missing.safetensors --out {out}",
                 "bad-missing.safetensors"},
        BadInput{"evaluate_no_checkpoint_option", "vigap-evaluate", "--out {out}", "checkpoint"},
        BadInput{"evaluate_k_zero", "vigap-evaluate", "--checkpoint {dir}/m --iwae-k 0 --out {out}", "--iwae-k"},
        BadInput{"evaluate_unknown_estimator", "vigap-evaluate", "--checkpoint {dir}/m --estimators magic --out {out}",
                 "unknown estimator 'magic'"},
        BadInput{"evaluate_ais_steps", "vigap-evaluate", "--checkpoint {dir}/m --estimators ais --ais-steps 0 --out {out}",
                 "(T) must be >= 1"},
        BadInput{"evaluate_ais_step_size", "vigap-evaluate",
                 "--checkpoint {dir}/m --estimators ais --ais-step-size -0.1 --out {out}",
                 "initial_step_size must be finite and > 0"}};

INSTANTIATE_TEST_SUITE_P(Binaries, BadInputTest, ::testing::ValuesIn(kBadInputs),
                         [](const auto& info) { return info.param.name; });

TEST_F(TrainBinary, DivergenceStopsWithAMessageAndNoJson) {
  const auto run = run_binary("vigap-train", kSmallModel + " --learning-rate 1e6 --out " + scratch.file("d.json") +
                                                 " --checkpoint " + scratch.file("d.safetensors"));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("diverged"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(scratch.file("d.json")));
  EXPECT_FALSE(std::filesystem::exists(scratch.file("d.safetensors")));
}

TEST_F(TrainBinary, HelpAndVersion) {
  auto run = run_binary("vigap-train", "--help");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.output.find("--kl-warmup-epochs"), std::string::npos);
  run = run_binary("vigap-evaluate", "--version");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.output.find("vigap-evaluate 0.1.0"), std::string::npos);
}

}  // namespace
}  // namespace vigap
