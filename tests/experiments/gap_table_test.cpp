// vigap-gap-table end to end on a tiny 2-D Fashion-MNIST VAE (exact quadrature: the gaps must
// satisfy inference = approximation + amortization, q* cannot beat log p(x), and q*_FFG cannot
// lose to the amortized q), and its bad-input cases: a clear message, a non-zero exit, no output.
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

bool fashion_mnist_installed() { return std::filesystem::exists("/usr/share/datasets/fashion-mnist"); }

/// A checkpoint with zero parameters (enough for the checks made before any computation).
std::string write_untrained_checkpoint(const TemporaryDirectory& scratch, const std::string& name, Index latent_dim,
                                       bool has_encoder) {
  VaeArchitecture architecture;
  architecture.latent_dim = latent_dim;
  architecture.encoder_hidden = {8};
  architecture.decoder_hidden = {8};
  architecture.has_encoder = has_encoder;
  const std::string path = scratch.file(name);
  save_vae_checkpoint(path, Vae(architecture));
  return path;
}

TEST(GapTableBinary, UnknownFamilyIsNamedWithTheValidOnes) {
  TemporaryDirectory scratch;
  const std::string checkpoint = write_untrained_checkpoint(scratch, "m.safetensors", 2, true);
  const auto run = run_binary("vigap-gap-table", "--checkpoint " + checkpoint + " --families ffg,magic --out " +
                                                     scratch.file("out.json"));
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("unknown family 'magic'"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("ffg"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("full"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("flow"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(scratch.file("out.json")));
}

TEST(GapTableBinary, QuadratureOnALatentDimensionAboveThreeFails) {
  TemporaryDirectory scratch;
  const std::string checkpoint = write_untrained_checkpoint(scratch, "m5.safetensors", 5, true);
  const auto run = run_binary("vigap-gap-table", "--checkpoint " + checkpoint + " --log-px quadrature --out " +
                                                     scratch.file("out.json"));
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("latent dimension is 5, at most 3 is supported"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(scratch.file("out.json")));
}

TEST(GapTableBinary, CheckpointWithoutEncoderFails) {
  TemporaryDirectory scratch;
  const std::string checkpoint = write_untrained_checkpoint(scratch, "decoder-only.safetensors", 2, false);
  const auto run = run_binary("vigap-gap-table", "--checkpoint " + checkpoint + " --out " + scratch.file("out.json"));
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("has no encoder"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(scratch.file("out.json")));
}

TEST(GapTableBinary, BadInitAndLogPxMethodAreNamed) {
  TemporaryDirectory scratch;
  const std::string checkpoint = write_untrained_checkpoint(scratch, "m.safetensors", 2, true);
  auto run = run_binary("vigap-gap-table", "--checkpoint " + checkpoint + " --init zero --out " + scratch.file("o.json"));
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--init must be encoder or prior"), std::string::npos) << run.output;
  run = run_binary("vigap-gap-table", "--checkpoint " + checkpoint + " --log-px exact --out " + scratch.file("o.json"));
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--log-px must be auto, quadrature or ais"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(scratch.file("o.json")));
}

TEST(GapTableBinary, GapsOfATinyTwoDimensionalModelAddUpAndHaveTheRightSigns) {
  if (!fashion_mnist_installed()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  TemporaryDirectory scratch;
  auto run = run_binary("vigap-train",
                        "--train-size 600 --validation-size 200 --test-size 200 --epochs 2 --latent-dim 2 "
                        "--encoder-hidden 32 --decoder-hidden 32 --threads 1 --seed " + testing::test_seed_argument(4) + " --out " +
                            scratch.file("train.json") + " --checkpoint " + scratch.file("m.safetensors"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  run = run_binary("vigap-gap-table", "--checkpoint " + scratch.file("m.safetensors") +
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
