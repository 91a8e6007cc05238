// The binaries on TorchScript manifests (tests/support/make_torchscript_fixtures.py's MLP VAE, 2-D
// latent, on the synthetic 28 x 28 data of the shared set-up): quadrature log p(x) agrees with the
// natively imported VAE to 1e-4 nats through both decoder modes; AIS agrees with quadrature within
// its error; results are identical for any thread count and batch split; the gap table, the 2-D
// posterior pictures and HMC vs VI complete; vigap-import writes manifests and refuses bad modules.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "support/experiment_binary_test.hpp"
#include "support/run_binary.hpp"
#include "support/temporary_directory.hpp"
#include "support/test_seed.hpp"
#include "support/torchscript_fixtures.hpp"

namespace vigap {
namespace {

using testing::read_json;
using testing::run_experiment;

class TorchScriptBinaries : public testing::ExperimentBinaryTest {
 protected:
  void SetUp() override {
    testing::ExperimentBinaryTest::SetUp();
    ASSERT_FALSE(testing::torchscript_fixture_directory().empty());
  }

  /// vigap-evaluate's JSON `results` on `checkpoint`.
  nlohmann::json evaluate(const std::string& checkpoint, const std::string& arguments, const std::string& name) {
    const std::string file = out.file(name + ".json");
    const auto run = run_experiment("vigap-evaluate", "--checkpoint " + checkpoint + " " + arguments + " --out " + file);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    return run.exit_code == 0 ? read_json(file)["results"] : nlohmann::json();
  }
};

TEST_F(TorchScriptBinaries, QuadratureAgreesWithTheNativeImportThroughBothDecoderModes) {
  const std::string args = "--estimators quadrature --num-datapoints 6 --per-datapoint --threads 2";
  const nlohmann::json native = evaluate(testing::native_checkpoint(), args, "native");
  const nlohmann::json forward = evaluate(testing::forward_manifest(), args, "forward");
  const nlohmann::json method = evaluate(testing::method_manifest(), args, "method");
  ASSERT_FALSE(native.is_null() || forward.is_null() || method.is_null());
  double largest = 0.0;
  for (size_t b = 0; b < 6; ++b) {
    const double exact = native["quadrature"]["per_datapoint"][b].get<double>();
    for (const nlohmann::json* r : {&forward, &method}) {
      const double v = (*r)["quadrature"]["per_datapoint"][b].get<double>();
      EXPECT_NEAR(v, exact, 1e-4) << "datapoint " << b;
      largest = std::max(largest, std::abs(v - exact));
    }
  }
  std::printf("max |Δ quadrature log p(x)| = %.3g nats (log p(x) ~ %.1f)\n", largest,
              native["quadrature"]["value"].get<double>());
}

TEST_F(TorchScriptBinaries, AisAgreesWithQuadratureWithinItsError) {
  const nlohmann::json r = evaluate(testing::forward_manifest(),
                                    "--estimators ais,quadrature --num-datapoints 4 --ais-steps 300 --ais-chains 8 "
                                    "--per-datapoint --threads 2 --seed " + testing::test_seed_argument(31), "ais");
  ASSERT_FALSE(r.is_null());
  const double ais = r["ais"]["value"].get<double>(), se = r["ais"]["monte_carlo_standard_error"].get<double>();
  const double exact = r["quadrature"]["value"].get<double>();
  // Upper side, exact for any weight distribution: AIS's p̂_b is unbiased for p(x_b), independently
  // per datapoint, so E[Π_b p̂_b / p_b] = 1 and by Markov's inequality
  // P(Σ_b (log p̂_b - log p_b) >= ln 1e4) <= 1e-4; quadrature's own error is below 1e-4 a datapoint.
  double error_sum = 0.0;
  for (size_t b = 0; b < 4; ++b)
    error_sum += r["ais"]["per_datapoint"][b].get<double>() - r["quadrature"]["per_datapoint"][b].get<double>();
  EXPECT_LT(error_sum, std::log(1e4) + 4 * 1e-4) << "AIS " << ais << " ± " << se << ", quadrature " << exact;
  // Lower side: log p̂ is biased low by the annealing's finite budget, which no standard error
  // bounds; 3.9 SE plus 0.1 nats is a claim about this budget (T = 300, 8 chains) on this model.
  EXPECT_GT(ais, exact - 0.1 - 3.9 * se) << "AIS " << ais << " ± " << se << ", quadrature " << exact;
}

TEST_F(TorchScriptBinaries, ResultsAreIdenticalForAnyThreadCountAndBatchSplit) {
  const std::string args = "--estimators elbo,iwae,ais --elbo-samples 20 --iwae-k 50 --ais-steps 20 --ais-chains 4 "
                           "--per-datapoint --seed " + testing::test_seed_argument(32);
  for (const std::string& manifest : {testing::forward_manifest(), testing::method_manifest()}) {
    const nlohmann::json one = evaluate(manifest, args + " --num-datapoints 6 --threads 1", "t1");
    const nlohmann::json two = evaluate(manifest, args + " --num-datapoints 6 --threads 2", "t2");
    ASSERT_FALSE(one.is_null() || two.is_null());
    EXPECT_EQ(one.dump(), two.dump()) << manifest;
    const nlohmann::json first = evaluate(manifest, args + " --num-datapoints 2 --threads 2", "first");
    const nlohmann::json second = evaluate(manifest, args + " --first-datapoint 2 --num-datapoints 4 --threads 1", "second");
    ASSERT_FALSE(first.is_null() || second.is_null());
    for (const std::string estimator : {"elbo", "iwae_50", "ais"}) {
      nlohmann::json joined = first[estimator]["per_datapoint"];
      for (const auto& v : second[estimator]["per_datapoint"]) joined.push_back(v);
      EXPECT_EQ(one[estimator]["per_datapoint"].dump(), joined.dump()) << manifest << " " << estimator;
    }
  }
}

TEST_F(TorchScriptBinaries, GapTablePosteriorPicturesAndHmcVsViRunOnAManifest) {
  const std::string manifest = testing::forward_manifest(), seed = " --seed " + testing::test_seed_argument(33);
  auto gap = run_experiment("vigap-gap-table", "--checkpoint " + manifest +
                                                   " --num-datapoints 3 --qstar-max-steps 200 --flow-max-steps 100 "
                                                   "--qstar-check-interval 50 --qstar-patience 2 --qstar-samples 10 "
                                                   "--threads 2 --out " + out.file("gap.json") + seed);
  ASSERT_EQ(gap.exit_code, 0) << gap.output;
  EXPECT_NE(read_json(out.file("gap.json"))["configuration"].dump().find("vigap-torchscript"), std::string::npos);
  auto posterior = run_experiment("vigap-posterior-2d",
                                  "--checkpoint " + manifest + " --datapoints 0,1 --grid-nodes 41 --hmc-chains 2 "
                                  "--hmc-warmup 100 --hmc-draws 100 --local-max-steps 200 --mmd-samples 200 --threads 2 "
                                  "--out " + out.file("p.json") + " --picture " + out.file("p.svg") + seed);
  ASSERT_EQ(posterior.exit_code, 0) << posterior.output;
  EXPECT_NE(testing::read_text(out.file("p.svg")).find("<svg"), std::string::npos);
  auto hmc = run_experiment("vigap-hmc-vs-vi", "--checkpoint " + manifest +
                                                   " --num-datapoints 2 --budgets 300 --grid-nodes 41 --grid-half-width 4 "
                                                   "--tv-cells-per-bin 4 --vi-draws 500 --threads 2 --out " +
                                                   out.file("h.json") + " --picture " + out.file("h.svg") + seed);
  ASSERT_EQ(hmc.exit_code, 0) << hmc.output;
}

TEST_F(TorchScriptBinaries, ImportWritesAManifestThatEvaluates) {
  const std::string dir = testing::torchscript_fixture_directory();
  const auto run = testing::run_binary("vigap-import", "--torchscript-decoder " + dir + "/decoder.pt --torchscript-encoder " +
                                                           dir + "/encoder.pt --encoder-output tuple --latent-dim 2 "
                                                           "--binarization dynamic --checkpoint " + out.file("m.json"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json m = read_json(out.file("m.json"));
  EXPECT_EQ(m["format"], "vigap-torchscript");
  EXPECT_EQ(m["data_dim"], 784);
  EXPECT_EQ(m["decoder"]["file"], dir + "/decoder.pt");  // outside the manifest's directory: absolute
  EXPECT_EQ(m["decoder"]["sha256"], sha256_hex(testing::read_text(dir + "/decoder.pt")));
  const nlohmann::json r = evaluate(out.file("m.json"), "--estimators elbo --elbo-samples 5 --num-datapoints 3 --threads 1", "e");
  ASSERT_FALSE(r.is_null());
  EXPECT_LT(r["elbo"]["value"].get<double>(), 0.0);
}

// LibTorch lives in the plugin libvigap_torchscript.so beside the binaries
// (backends/torchscript/torchscript_plugin.hpp): a binary that never meets a manifest never loads
// it, and one that cannot find it refuses a manifest saying where it looked.
TEST_F(TorchScriptBinaries, LibTorchIsLoadedOnlyForAManifest) {
  const auto loaded_objects = [&](const std::string& arguments) {
    return testing::run_command("LD_DEBUG=files " + std::string(VIGAP_BINARY_DIR) + "/vigap-evaluate " + arguments).output;
  };
  const std::string native = loaded_objects("--checkpoint " + testing::native_checkpoint() +
                                            " --estimators elbo --elbo-samples 2 --num-datapoints 2 --out " +
                                            out.file("n.json"));
  ASSERT_NE(native.find("libstdc++"), std::string::npos) << "LD_DEBUG=files printed nothing:\n" << native;
  EXPECT_EQ(native.find("libtorch"), std::string::npos) << native;
  EXPECT_EQ(native.find("libvigap_torchscript"), std::string::npos);
  const std::string manifest = loaded_objects("--checkpoint " + testing::forward_manifest() +
                                              " --estimators elbo --elbo-samples 2 --num-datapoints 2 --out " +
                                              out.file("m.json"));
  EXPECT_NE(manifest.find("libvigap_torchscript.so"), std::string::npos) << manifest;
  EXPECT_NE(manifest.find("libtorch"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(out.file("m.json")));
}

TEST_F(TorchScriptBinaries, ABinaryWithoutThePluginRefusesAManifestSayingWhere) {
  testing::TemporaryDirectory alone;
  const std::string copy = alone.file("vigap-evaluate");
  std::filesystem::copy_file(std::string(VIGAP_BINARY_DIR) + "/vigap-evaluate", copy);
  std::filesystem::permissions(copy, std::filesystem::perms::owner_all);
  const auto refused = testing::run_command(copy + " --checkpoint " + testing::forward_manifest() +
                                            " --estimators elbo --num-datapoints 2 --out " + alone.file("r.json"));
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  const std::string& text = refused.output;
  EXPECT_NE(text.find("need the backend's plugin " + alone.file("libvigap_torchscript.so") + ", which does not exist"),
            std::string::npos) << text;
  EXPECT_FALSE(std::filesystem::exists(alone.file("r.json")));
  // A native checkpoint needs no plugin.
  const auto native = testing::run_command(copy + " --checkpoint " + testing::native_checkpoint() +
                                           " --estimators elbo --elbo-samples 2 --num-datapoints 2 --out " + alone.file("n.json"));
  EXPECT_EQ(native.exit_code, 0) << native.output;
}

struct BadTorchScriptImport {
  std::string name;
  std::string arguments;  ///< {dir}: the fixture directory
  std::string message;
};
void PrintTo(const BadTorchScriptImport& c, std::ostream* os) { *os << c.name; }

class TorchScriptImportBadInput : public ::testing::TestWithParam<BadTorchScriptImport> {};

TEST_P(TorchScriptImportBadInput, ExitsWithTwoNamesTheFileAndWritesNothing) {
  const std::string dir = testing::torchscript_fixture_directory();
  ASSERT_FALSE(dir.empty());
  testing::TemporaryDirectory scratch;
  const auto run = testing::run_binary("vigap-import", testing::substitute_placeholders(GetParam().arguments, {{"{dir}", dir}}) +
                                                           " --checkpoint " + scratch.file("m.json"));
  EXPECT_EQ(run.exit_code, 2) << run.output;
  const std::string message = testing::substitute_placeholders(GetParam().message, {{"{dir}", dir}});
  EXPECT_NE(run.output.find(message), std::string::npos) << "expected '" << message << "' in: " << run.output;
  EXPECT_TRUE(scratch.entries().empty());
}

INSTANTIATE_TEST_SUITE_P(
    EveryError, TorchScriptImportBadInput,
    ::testing::Values(
        BadTorchScriptImport{"wrong_shape", "--torchscript-decoder {dir}/wrong_shape.pt --latent-dim 2 --data-dim 784",
                             "forward(z) of {dir}/wrong_shape.pt: expected a float32 tensor of shape [32, 784], found Float [32, 783]"},
        BadTorchScriptImport{"nan_for_some_z", "--torchscript-decoder {dir}/nan_for_large_z.pt --latent-dim 2",
                             "TorchScript decoder {dir}/nan_for_large_z.pt: forward(z) returned NaN or ±inf at z = ("},
        BadTorchScriptImport{"no_method", "--torchscript-decoder {dir}/decoder.pt --likelihood log-likelihood-method "
                                          "--latent-dim 2 --data-dim 784",
                             "TorchScript module {dir}/decoder.pt has no method 'log_likelihood'"},
        BadTorchScriptImport{"missing_file", "--torchscript-decoder {dir}/gone.pt --latent-dim 2", "{dir}/gone.pt"},
        BadTorchScriptImport{"not_torchscript", "--torchscript-decoder {dir}/reference.json --latent-dim 2",
                             "TorchScript decoder {dir}/reference.json: torch::jit::load cannot read it"},
        BadTorchScriptImport{"newer_format", "--torchscript-decoder {dir}/newer_format.pt --latent-dim 2",
                             "the file records format version 99. If a newer PyTorch wrote it, re-export it under PyTorch <= 1.13"},
        BadTorchScriptImport{"wrong_latent_dim", "--torchscript-decoder {dir}/decoder.pt --latent-dim 3",
                             "TorchScript decoder {dir}/decoder.pt: forward([2, 3]) failed"},
        BadTorchScriptImport{"no_latent_dim", "--torchscript-decoder {dir}/decoder.pt", "--latent-dim is required"},
        BadTorchScriptImport{"unknown_likelihood", "--torchscript-decoder {dir}/decoder.pt --latent-dim 2 --likelihood poisson",
                             "--likelihood with --torchscript-decoder: expected bernoulli"},
        BadTorchScriptImport{"unknown_encoder_scale", "--torchscript-decoder {dir}/decoder.pt --torchscript-encoder "
                                                      "{dir}/encoder.pt --latent-dim 2 --encoder-scale sd",
                             "--encoder-scale: expected one of log-variance, log-sd, softplus-sd, found 'sd'"},
        BadTorchScriptImport{"encoder_output_mismatch", "--torchscript-decoder {dir}/decoder.pt --torchscript-encoder "
                                                        "{dir}/encoder.pt --latent-dim 2 --encoder-output split-halves",
                             "expected one tensor (output 'split-halves'), found Tuple"}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace vigap
