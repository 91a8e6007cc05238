#include "core/io/vae_checkpoint.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "core/io/safetensors.hpp"
#include "support/expect_throw_message.hpp"
#include "support/temporary_directory.hpp"

namespace vigap {
namespace {

Vae small_vae(bool with_encoder) {
  VaeArchitecture a;
  a.data_dim = 6;
  a.latent_dim = 2;
  a.encoder_hidden = {5};
  a.decoder_hidden = {4, 3};
  a.activation = Activation::elu;
  a.has_encoder = with_encoder;
  Vae vae(a);
  Rng rng(1);
  if (vae.encoder) vae.encoder->network().initialize(rng);
  vae.decoder.network().initialize(rng);
  vae.metadata["dataset"] = "unit-test";
  return vae;
}

TEST(VaeCheckpoint, RoundTripsParametersArchitectureAndMetadata) {
  testing::TemporaryDirectory dir;
  for (bool with_encoder : {true, false}) {
    const Vae vae = small_vae(with_encoder);
    save_vae_checkpoint(dir.file("m.safetensors"), vae);
    const Vae loaded = load_vae_checkpoint(dir.file("m.safetensors"));
    EXPECT_EQ(loaded.architecture.to_json(), vae.architecture.to_json());
    EXPECT_EQ(loaded.encoder.has_value(), with_encoder);
    if (with_encoder) EXPECT_EQ(loaded.encoder->network().parameters(), vae.encoder->network().parameters());
    EXPECT_EQ(loaded.decoder.network().parameters(), vae.decoder.network().parameters());
    EXPECT_EQ(loaded.metadata.at("dataset"), "unit-test");
  }
}

TEST(VaeCheckpoint, WeightsAreStoredAsPyTorchLinearDoes) {
  testing::TemporaryDirectory dir;
  const Vae vae = small_vae(true);
  save_vae_checkpoint(dir.file("m.safetensors"), vae);
  const SafetensorsFile file = load_safetensors(dir.file("m.safetensors"));
  const Tensor& w = file.tensors.at("decoder.layers.0.weight");  // nn.Linear(2, 4): weight [4, 2], row-major
  ASSERT_EQ(w.shape, (std::vector<Index>{4, 2}));
  const auto W = vae.decoder.network().layers()[0].weight(vae.decoder.network().parameters());
  EXPECT_EQ(w.data[1], W(0, 1));
  EXPECT_EQ(w.data[2], W(1, 0));
  EXPECT_EQ(file.tensors.count("encoder.layers.1.bias"), 1u);
}

TEST(VaeCheckpoint, RejectsMissingTensorsWrongShapesAndBadArchitecture) {
  testing::TemporaryDirectory dir;
  const std::string path = dir.file("m.safetensors");
  save_vae_checkpoint(path, small_vae(true));
  SafetensorsFile file = load_safetensors(path);

  SafetensorsFile missing = file;
  missing.tensors.erase("decoder.layers.2.bias");
  save_safetensors(path, missing);
  testing::expect_throw_message<std::invalid_argument>([&] { load_vae_checkpoint(path); },
                                                       {path, "decoder.layers.2.bias", "missing"});

  SafetensorsFile wrong_shape = file;
  wrong_shape.tensors["encoder.layers.0.weight"] = tensor_from_matrix(MatrixF::Zero(5, 7));
  save_safetensors(path, wrong_shape);
  testing::expect_throw_message<std::invalid_argument>([&] { load_vae_checkpoint(path); },
                                                       {"encoder.layers.0.weight", "5", "7", "6"});

  SafetensorsFile extra = file;
  extra.tensors["decoder.layers.9.weight"] = tensor_from_matrix(MatrixF::Zero(1, 1));
  save_safetensors(path, extra);
  testing::expect_throw_message<std::invalid_argument>([&] { load_vae_checkpoint(path); }, {"decoder.layers.9.weight"});

  SafetensorsFile bad_architecture = file;
  bad_architecture.metadata["architecture"] = "{not json";
  save_safetensors(path, bad_architecture);
  testing::expect_throw_message<std::invalid_argument>([&] { load_vae_checkpoint(path); }, {"architecture", "not JSON"});

  SafetensorsFile no_format = file;
  no_format.metadata.erase("format");
  save_safetensors(path, no_format);
  testing::expect_throw_message<std::invalid_argument>([&] { load_vae_checkpoint(path); }, {"format"});
}

TEST(VaeCheckpoint, ParsesFromMemoryAsLoadReadsTheFile) {
  testing::TemporaryDirectory dir;
  const Vae vae = small_vae(true);
  save_vae_checkpoint(dir.file("c.safetensors"), vae);
  std::ifstream in(dir.file("c.safetensors"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Vae parsed = parse_vae_checkpoint(bytes, "in memory");
  EXPECT_EQ(parsed.decoder.network().parameters(), vae.decoder.network().parameters());
  EXPECT_EQ(parsed.encoder->network().parameters(), vae.encoder->network().parameters());
  EXPECT_EQ(parsed.architecture.to_json(), vae.architecture.to_json());
  EXPECT_EQ(parsed.metadata, vae.metadata);
}

}  // namespace
}  // namespace vigap
