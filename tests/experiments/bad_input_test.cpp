// Every experiment binary's bad command lines, in one table: each fails with a clear message, exit
// code 2 (1 for an I/O failure such as a checkpoint that cannot be read) and leaves nothing in its
// output directory. The binaries run on the synthetic data set (tests/support/experiment_binary_test.hpp).
//
// Placeholders: {dir}, the case's fresh output directory; {z2}, {z3}, {z5}, {flow}, tiny checkpoints
// trained on the synthetic data (latent dimension 2, 3, 5, and 2 with a flow), trained only when a
// case names them; {untrained_z2}, {untrained_z5}, {decoder_only}, checkpoints with zero parameters
// (enough for the checks made before any computation).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/experiment_binary_test.hpp"
#ifdef VIGAP_HAS_TORCHSCRIPT
#include "support/torchscript_fixtures.hpp"
#endif

namespace vigap {
namespace {

using testing::TemporaryDirectory;

struct BadInput {
  std::string binary;
  std::string name;
  int exit_code;  ///< 2 for bad input, 1 for an I/O failure
  std::string arguments;
  std::string expected_message;
};

/// Test names in ctest's output show the case's name, not the struct's bytes.
void PrintTo(const BadInput& c, std::ostream* os) { *os << c.binary << " " << c.name; }

/// What each binary gets unless the case gives that option itself (matched by its first word).
const std::map<std::string, std::vector<std::string>> kDefaults = {
    {"vigap-train", {"--out {dir}/out.json", "--checkpoint {dir}/model.safetensors"}},
    {"vigap-evaluate", {"--out {dir}/out.json"}},
    {"vigap-aggregate-posterior", {"--out {dir}/a.json", "--picture {dir}/a.svg", "--num-datapoints 50", "--threads 1"}},
    {"vigap-estimator-variance",
     {"--checkpoint {z2}", "--out {dir}/p.json", "--picture {dir}/p.svg", "--num-datapoints 2", "--replicates 8",
      "--threads 1"}},
    {"vigap-gap-table", {"--out {dir}/out.json", "--threads 1"}},
    {"vigap-hmc-vs-vi", {"--out {dir}/r.json", "--picture {dir}/p.svg", "--threads 1"}},
    {"vigap-objective-comparison", {"--out {dir}/o.json", "--picture {dir}/o.svg", "--checkpoint-dir {dir}"}},
    {"vigap-posterior-2d", {"--out {dir}/p.json", "--picture {dir}/p.svg", "--threads 1"}}};

/// The checkpoint a placeholder names, made (trained or written) on first use.
std::string checkpoint(const std::string& placeholder) {
  if (placeholder == "{z2}") return testing::tiny_checkpoint("--latent-dim 2");
  if (placeholder == "{z3}") return testing::tiny_checkpoint("--latent-dim 3");
  if (placeholder == "{z5}") return testing::tiny_checkpoint("--latent-dim 5");
  if (placeholder == "{flow}") return testing::tiny_checkpoint("--latent-dim 2 --flow-layers 2");
  if (placeholder == "{untrained_z2}") return testing::untrained_checkpoint(2, true);
  if (placeholder == "{untrained_z5}") return testing::untrained_checkpoint(5, true);
  if (placeholder == "{decoder_only}") return testing::untrained_checkpoint(2, false);
  if (placeholder == "{not_a_model}") return std::string(VIGAP_SOURCE_DIR) + "/CMakeLists.txt";
#ifdef VIGAP_HAS_TORCHSCRIPT
  if (placeholder.rfind("{ts_", 0) == 0)  // a bad manifest of the TorchScript fixtures, by kind
    return testing::bad_torchscript_manifest(placeholder.substr(4, placeholder.size() - 5));
#endif
  throw std::invalid_argument("bad_input_test: unknown placeholder " + placeholder);
}

class BadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadInputTest, FailsWithAClearMessageAndNoOutputFile) {
  const BadInput& c = GetParam();
  const TemporaryDirectory scratch;
  std::string arguments = c.arguments;
  for (const std::string& option : kDefaults.at(c.binary))
    if ((" " + c.arguments + " ").find(" " + option.substr(0, option.find(' ')) + " ") == std::string::npos)
      arguments += " " + option;
  std::vector<std::pair<std::string, std::string>> values{{"{dir}", scratch.path().string()}};
  for (const std::string placeholder :
       {"{z2}", "{z3}", "{z5}", "{flow}", "{untrained_z2}", "{untrained_z5}", "{decoder_only}", "{not_a_model}",
        "{ts_wrong_shape}", "{ts_nan_for_large_z}", "{ts_no_method}", "{ts_bad_hash}", "{ts_missing_module}",
        "{ts_unknown_output}", "{ts_unknown_scale}", "{ts_newer_format}"})
    if (arguments.find(placeholder) != std::string::npos) values.emplace_back(placeholder, checkpoint(placeholder));
  const testing::BinaryRun run = testing::run_experiment(c.binary, testing::substitute_placeholders(arguments, values));
  EXPECT_EQ(run.exit_code, c.exit_code) << run.output;
  EXPECT_NE(run.output.find(c.expected_message), std::string::npos)
      << "expected '" << c.expected_message << "' in: " << run.output;
  EXPECT_TRUE(scratch.entries().empty()) << "left " << scratch.entries().front();
}

const BadInput kBadInputs[] = {
    {"vigap-train", "epochs_zero", 2, "--epochs 0", "--epochs must be >= 1"},
    {"vigap-train", "samples_zero", 2, "--samples 0", "samples (S or K) must be >= 1"},
    {"vigap-train", "latent_zero", 2, "--latent-dim 0", "--latent-dim must be >= 1"},
    {"vigap-train", "learning_rate", 2, "--learning-rate -1", "--learning-rate must be positive"},
    {"vigap-train", "unknown_option", 2, "--no-such-option 3", "no-such-option"},
    {"vigap-train", "bad_value", 2, "--epochs ten", "epochs"},
    {"vigap-train", "bad_hidden", 2, "--encoder-hidden 200,x", "--encoder-hidden"},
    {"vigap-train", "bad_activation", 2, "--activation sigmoid", "unknown activation 'sigmoid'"},
    {"vigap-train", "missing_dataset", 2, "--data-dir {dir}/nowhere", "nowhere"},
    {"vigap-train", "unknown_dataset", 2, "--dataset cifar", "unknown --dataset 'cifar'"},
    {"vigap-train", "unwritable_out", 2, "--out /nonexistent-dir/x.json", "/nonexistent-dir"},
    {"vigap-evaluate", "missing_checkpoint", 1, "--checkpoint {dir}/missing.safetensors", "missing.safetensors"},
    {"vigap-evaluate", "no_checkpoint_option", 2, "", "checkpoint"},
    {"vigap-evaluate", "k_zero", 2, "--checkpoint {dir}/m --iwae-k 0", "--iwae-k"},
    {"vigap-evaluate", "unknown_estimator", 2, "--checkpoint {dir}/m --estimators magic", "unknown estimator 'magic'"},
    {"vigap-evaluate", "ais_steps", 2, "--checkpoint {dir}/m --estimators ais --ais-steps 0", "(T) must be >= 1"},
    {"vigap-evaluate", "not_a_model_file", 2, "--checkpoint {not_a_model}", "is in none of the known model formats"},
#ifdef VIGAP_HAS_TORCHSCRIPT
    // TorchScript manifests (tests/support/torchscript_fixtures.hpp): each names the file at fault.
    {"vigap-evaluate", "torchscript_wrong_shape", 2, "--checkpoint {ts_wrong_shape} --estimators elbo --elbo-samples 2 --num-datapoints 2",
     "wrong_shape.pt: expected a float32 tensor of shape [32, 784], found Float [32, 783]"},
    {"vigap-evaluate", "torchscript_nan", 2, "--checkpoint {ts_nan_for_large_z} --estimators iwae --iwae-k 50 --num-datapoints 2",
     "nan_for_large_z.pt: forward(z) returned NaN or ±inf at z = ("},
    {"vigap-evaluate", "torchscript_no_method", 2, "--checkpoint {ts_no_method}", "decoder.pt has no method 'log_likelihood'"},
    {"vigap-evaluate", "torchscript_bad_sha256", 2, "--checkpoint {ts_bad_hash}", "the manifest records 0000000000"},
    {"vigap-evaluate", "torchscript_missing_module", 2, "--checkpoint {ts_missing_module}", "gone.pt cannot be opened"},
    {"vigap-evaluate", "torchscript_unknown_output", 2, "--checkpoint {ts_unknown_output}", "found 'poisson'"},
    {"vigap-evaluate", "torchscript_unknown_scale", 2, "--checkpoint {ts_unknown_scale}", "encoder 'scale': expected one of"},
    {"vigap-evaluate", "torchscript_newer_format", 2, "--checkpoint {ts_newer_format}",
     "newer_format.pt: torch::jit::load cannot read it"},
#endif
    {"vigap-evaluate", "ais_step_size", 2, "--checkpoint {dir}/m --estimators ais --ais-step-size -0.1", "initial_step_size must be finite and > 0"},
    {"vigap-aggregate-posterior", "quadrature_in_5d", 2, "--checkpoint {z5} --method quadrature", "--method quadrature needs latent dimension <= 2"},
    {"vigap-aggregate-posterior", "unknown_split", 2, "--checkpoint {z2} --splits test,validation", "--splits expects"},
    {"vigap-aggregate-posterior", "unknown_method", 2, "--checkpoint {z2} --method exact", "--method expects"},
    {"vigap-aggregate-posterior", "one_datapoint", 2, "--checkpoint {z2} --num-datapoints 1", "--num-datapoints must be 0 (all) or >= 2"},
    {"vigap-aggregate-posterior", "even_grid", 2, "--checkpoint {z2} --max-grid-nodes 100", "--max-grid-nodes must be odd"},
    {"vigap-aggregate-posterior", "flow", 2, "--checkpoint {flow}", "has a flow after the encoder"},
    {"vigap-aggregate-posterior", "unwritable_picture", 2, "--checkpoint {z2} --picture /nonexistent-dir/a.svg", "/nonexistent-dir"},
    {"vigap-aggregate-posterior", "missing_checkpoint", 1, "--checkpoint {dir}/nothing.safetensors", "nothing.safetensors"},
    {"vigap-estimator-variance", "zero_samples", 2, "--samples 0,2", "--samples expects"},
    {"vigap-estimator-variance", "decreasing_samples", 2, "--samples 5,2", "--samples expects increasing sample counts >= 1"},
    {"vigap-estimator-variance", "bad_k", 2, "--iwae-samples 4,x", "--iwae-samples"},
    {"vigap-estimator-variance", "few_replicates", 2, "--replicates 3", "--replicates must be >= 4"},
    {"vigap-estimator-variance", "no_datapoints", 2, "--num-datapoints 0", "--num-datapoints must be >= 1"},
    {"vigap-estimator-variance", "unwritable_picture", 2, "--picture /nonexistent-dir/p.svg", "/nonexistent-dir"},
    {"vigap-estimator-variance", "missing_checkpoint", 1, "--checkpoint {dir}/nothing.safetensors", "nothing.safetensors"},
    {"vigap-gap-table", "quadrature_in_5d", 2, "--checkpoint {untrained_z5} --log-px quadrature", "latent dimension is 5, at most 3 is supported"},
    {"vigap-gap-table", "no_encoder", 2, "--checkpoint {decoder_only}", "has no encoder"},
    {"vigap-gap-table", "bad_init", 2, "--checkpoint {untrained_z2} --init zero", "--init must be encoder or prior"},
    {"vigap-gap-table", "bad_log_px", 2, "--checkpoint {untrained_z2} --log-px exact", "--log-px must be auto, quadrature or ais"},
    {"vigap-gap-table", "missing_checkpoint", 1, "--checkpoint {dir}/nothing.safetensors", "nothing.safetensors"},
    {"vigap-hmc-vs-vi", "latent_dim_3", 2, "--checkpoint {z3}", "needs a checkpoint with latent dimension 2"},
    {"vigap-hmc-vs-vi", "decreasing_budgets", 2, "--checkpoint {z2} --budgets 300,200", "--budgets must be positive and increasing"},
    {"vigap-hmc-vs-vi", "one_chain", 2, "--checkpoint {z2} --hmc-chains 1", "--hmc-chains must be >= 2"},
    {"vigap-hmc-vs-vi", "warmup_fraction", 2, "--checkpoint {z2} --hmc-warmup-fraction 1", "warmup_fraction must be in [0, 1)"},
    {"vigap-hmc-vs-vi", "first_datapoint", 2, "--checkpoint {z2} --first-datapoint 100000", "--first-datapoint 100000 is beyond"},
    {"vigap-hmc-vs-vi", "unwritable_picture", 2, "--checkpoint {z2} --picture /nonexistent-dir/p.svg", "/nonexistent-dir"},
    {"vigap-hmc-vs-vi", "missing_checkpoint", 1, "--checkpoint {dir}/nothing.safetensors", "nothing.safetensors"},
    // --seeds (distributed/seed_replicates.hpp): the driver's own checks, and a replicate's.
    {"vigap-objective-comparison", "seeds_one", 2, "--seeds 1", "--seeds: expected a count of seeds (>= 2)"},
    {"vigap-objective-comparison", "seeds_repeated", 2, "--seeds 4,4", "a seed is repeated"},
    {"vigap-objective-comparison", "seeds_not_numbers", 2, "--seeds two", "'two' is not a seed"},
    {"vigap-objective-comparison", "seeds_same_paths", 2, "--seeds 2 --picture {dir}/o.json", "is also the path of another output"},
    {"vigap-objective-comparison", "seeds_bad_replicate", 2, "--seeds 2 --latent-dim 5", "--latent-dim must be 1, 2 or 3"},
    {"vigap-gap-table", "seeds_bad_seed", 2, "--seeds 2 --seed -1", "--seed: expected a non-negative integer"},
    {"vigap-train", "seeds_not_replicated", 2, "--seeds 2", "seeds"},
    {"vigap-objective-comparison", "early_stopping_negative", 2, "--early-stopping-patience -1", "--early-stopping-patience must be >= 0"},
    {"vigap-objective-comparison", "early_stopping_without_validation", 2, "--early-stopping-patience 3 --validation-size 0", "needs validation data"},
    {"vigap-objective-comparison", "unknown_objective", 2, "--objectives elbo,magic", "unknown objective 'magic'"},
    {"vigap-objective-comparison", "objective_list", 2, "--objectives elbo,magic", "iwae-K"},
    {"vigap-objective-comparison", "iwae_1", 2, "--objectives iwae-1", "bad IWAE objective 'iwae-1'"},
    {"vigap-objective-comparison", "latent_dim_5", 2, "--latent-dim 5", "--latent-dim must be 1, 2 or 3"},
    {"vigap-objective-comparison", "no_grid_cells", 2, "--grid-cells 0", "--grid-cells must be >= 1"},
    {"vigap-objective-comparison", "qstar_points", 2, "--test-eval-points 10 --qstar-points 20", "--qstar-points must be in [0, --test-eval-points = 10]"},
    {"vigap-posterior-2d", "latent_dim_3", 2, "--checkpoint {z3}", "needs a checkpoint with latent dimension 2"},
    {"vigap-posterior-2d", "index_out_of_range", 2, "--checkpoint {z2} --datapoints 0,100000", "index 100000 is out of range"},
    {"vigap-posterior-2d", "negative_index", 2, "--checkpoint {z2} --datapoints -1", "--datapoints expects"},
    {"vigap-posterior-2d", "unwritable_picture", 2, "--checkpoint {z2} --picture /nonexistent-dir/p.svg", "/nonexistent-dir"},
    {"vigap-posterior-2d", "missing_checkpoint", 1, "--checkpoint {dir}/nothing.safetensors", "nothing.safetensors"},
    {"vigap-posterior-2d", "narrow_grid", 2, "--checkpoint {z2} --grid-half-width 0.5", "--grid-half-width must be >= 1"}};

/// "train_epochs_zero" for vigap-train's case epochs_zero (gtest names: letters, digits, '_').
std::string test_name(const BadInput& c) {
  std::string name = c.binary.substr(c.binary.find('-') + 1) + "_" + c.name;
  for (char& ch : name)
    if (ch == '-') ch = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Binaries, BadInputTest, ::testing::ValuesIn(kBadInputs),
                         [](const auto& info) { return test_name(info.param); });

// Boost's error messages substitute the offending token for placeholders such as
// %canonical_option%, and loop for ever when the token holds one (the command-line fuzzer found it,
// first in vigap-evaluate, later in vigap-report, which parsed its options on its own). Every
// vigap-* binary in the build directory refuses such a token with exit code 2, naming it;
// `timeout` turns a hang into a failure within a minute instead of ctest's limit.
TEST(BadInputEveryBinary, TokenHoldingAnOptionParserPlaceholderIsRefusedNotAHang) {
  int binaries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(VIGAP_BINARY_DIR)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("vigap-", 0) != 0) continue;
    ++binaries;
    const testing::BinaryRun run =
        testing::run_command("timeout 60 " + entry.path().string() + " --a%canonical_option%b --c%original_token%");
    EXPECT_EQ(run.exit_code, 2) << name << ": " << run.output;
    EXPECT_NE(run.output.find("argument 1 ('--a%canonical_option%b') contains '%canonical_option%'"), std::string::npos)
        << name << ": " << run.output;
  }
  EXPECT_GE(binaries, 10) << "expected the vigap-* binaries in " << VIGAP_BINARY_DIR;
}

}  // namespace
}  // namespace vigap
