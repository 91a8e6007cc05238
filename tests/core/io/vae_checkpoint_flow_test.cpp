// Checkpoints of a VAE whose posterior has an affine coupling flow, and old checkpoints without one.
#include <gtest/gtest.h>

#include "core/io/safetensors.hpp"
#include "core/io/vae_checkpoint.hpp"
#include "support/expect_throw_message.hpp"
#include "support/temporary_directory.hpp"

namespace vigap {
namespace {

Vae small_flow_vae() {
  VaeArchitecture a;
  a.data_dim = 6;
  a.latent_dim = 3;
  a.encoder_hidden = {5};
  a.decoder_hidden = {4};
  a.flow_layers = 2;
  a.flow_hidden = {7};
  a.flow_log_scale_bound = 2.5;
  Vae vae(a);
  Rng rng(1);
  vae.encoder->network().initialize(rng);
  vae.decoder.network().initialize(rng);
  fill_standard_normal(vae.flow->parameters(), rng);
  return vae;
}

TEST(VaeCheckpointFlow, RoundTripsTheFlowTensorsAndArchitecture) {
  testing::TemporaryDirectory dir;
  const Vae vae = small_flow_vae();
  save_vae_checkpoint(dir.file("f.safetensors"), vae);
  const SafetensorsFile file = load_safetensors(dir.file("f.safetensors"));
  const Tensor& w = file.tensors.at("flow.layers.1.conditioner.layers.1.weight");  // hidden 7 -> 2d = 6
  EXPECT_EQ(w.shape, (std::vector<Index>{6, 7}));
  EXPECT_EQ(file.tensors.count("flow.layers.0.conditioner.layers.0.bias"), 1u);

  const Vae loaded = load_vae_checkpoint(dir.file("f.safetensors"));
  EXPECT_EQ(loaded.architecture.to_json(), vae.architecture.to_json());
  EXPECT_EQ(loaded.architecture.flow_layers, 2);
  EXPECT_EQ(loaded.architecture.flow_hidden, std::vector<Index>{7});
  EXPECT_EQ(loaded.architecture.flow_log_scale_bound, 2.5);
  ASSERT_TRUE(loaded.flow.has_value());
  EXPECT_EQ(loaded.flow->parameters(), vae.flow->parameters());

  SafetensorsFile missing = file;
  missing.tensors.erase("flow.layers.1.conditioner.layers.0.weight");
  save_safetensors(dir.file("f.safetensors"), missing);
  testing::expect_throw_message<std::invalid_argument>([&] { load_vae_checkpoint(dir.file("f.safetensors")); },
                                                       {"flow.layers.1.conditioner.layers.0.weight", "missing"});
}

TEST(VaeCheckpointFlow, CheckpointsWithoutFlowFieldsLoadAsPlainGaussianEncoders) {
  testing::TemporaryDirectory dir;
  VaeArchitecture a;
  a.data_dim = 4;
  a.latent_dim = 2;
  a.encoder_hidden = {3};
  a.decoder_hidden = {3};
  Vae vae(a);
  EXPECT_FALSE(vae.flow.has_value());
  save_vae_checkpoint(dir.file("old.safetensors"), vae);
  // Rewrite the metadata as a checkpoint written before flows existed.
  SafetensorsFile file = load_safetensors(dir.file("old.safetensors"));
  nlohmann::json architecture = nlohmann::json::parse(file.metadata.at("architecture"));
  ASSERT_TRUE(architecture.contains("flow_layers"));
  architecture.erase("flow_layers");
  file.metadata["architecture"] = architecture.dump();
  save_safetensors(dir.file("old.safetensors"), file);
  const Vae loaded = load_vae_checkpoint(dir.file("old.safetensors"));
  EXPECT_EQ(loaded.architecture.flow_layers, 0);
  EXPECT_FALSE(loaded.flow.has_value());

  VaeArchitecture bad = a;
  bad.flow_layers = -1;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
  bad.flow_layers = 2;
  bad.has_encoder = false;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
