// vigap-train --flow-layers K: trains the encoder + global affine coupling flow + decoder end to end.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/io/vae_checkpoint.hpp"
#include "support/run_binary.hpp"
#include "support/temporary_directory.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::run_binary;
using testing::TemporaryDirectory;

const std::string kSmallFlowModel =
    "--train-size 600 --validation-size 200 --test-size 200 --epochs 2 --latent-dim 2 --encoder-hidden 32 "
    "--decoder-hidden 32 --batch-size 50 --threads 1 --flow-layers 2 --flow-hidden 8";

TEST(TrainFlowBinary, TrainsAFlowPosteriorAndStoresItInTheCheckpoint) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  TemporaryDirectory scratch;
  for (const std::string objective : {"elbo", "iwae"}) {
    const auto run = run_binary("vigap-train", kSmallFlowModel + " --seed " + testing::test_seed_argument(3) + " --objective " + objective +
                                                   " --samples 2 --out " + scratch.file("f.json") + " --checkpoint " +
                                                   scratch.file("f.safetensors"));
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const nlohmann::json r = testing::read_json(scratch.file("f.json"));
    EXPECT_EQ(r["configuration"]["architecture"]["flow_layers"], 2);
    EXPECT_EQ(r["configuration"]["kl"], "monte-carlo");
    const double test_elbo = r["results"]["test_elbo"]["value"];
    EXPECT_LT(test_elbo, 0.0);
    EXPECT_GT(test_elbo, -784.0 * std::log(2.0));  // it learned: better than coin flips on 784 pixels
    const Vae vae = load_vae_checkpoint(scratch.file("f.safetensors"));
    ASSERT_TRUE(vae.flow.has_value());
    EXPECT_EQ(vae.flow->num_layers(), 2);
    EXPECT_GT(vae.flow->parameters().cwiseAbs().maxCoeff(), 0.0f);
  }
  const auto bad = run_binary("vigap-train", kSmallFlowModel + " --kl analytic --out " + scratch.file("bad.json") +
                                                 " --checkpoint " + scratch.file("bad.safetensors"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--kl analytic is not available with --flow-layers"), std::string::npos) << bad.output;
  EXPECT_FALSE(std::filesystem::exists(scratch.file("bad.json")));
}

}  // namespace
}  // namespace vigap
