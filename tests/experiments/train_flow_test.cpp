// vigap-train --flow-layers K: trains the encoder + global affine coupling flow + decoder end to end.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/io/vae_checkpoint.hpp"
#include "support/experiment_binary_test.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::run_experiment;
using testing::TemporaryDirectory;

// The tiny model of the binaries' tests (tests/support/experiment_binary_test.hpp) with a flow.
const std::string kSmallFlowModel = testing::kTinyModel + " --latent-dim 2 --flow-layers 2 --flow-hidden 8";

TEST(TrainFlowBinary, TrainsAFlowPosteriorAndStoresItInTheCheckpoint) {
  TemporaryDirectory scratch;
  for (const std::string objective : {"elbo", "iwae"}) {
    const auto run = run_experiment("vigap-train", kSmallFlowModel + " --seed " + testing::test_seed_argument(3) + " --objective " + objective +
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
  const auto bad = run_experiment("vigap-train", kSmallFlowModel + " --kl analytic --out " + scratch.file("bad.json") +
                                                 " --checkpoint " + scratch.file("bad.safetensors"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--kl analytic is not available with --flow-layers"), std::string::npos) << bad.output;
  EXPECT_FALSE(std::filesystem::exists(scratch.file("bad.json")));
}

}  // namespace
}  // namespace vigap
