// load_model dispatches on the checkpoint's format through the registry: a vigap-vae checkpoint
// loads into the same model and amortized q as load_vae_checkpoint, a registered format is found,
// and a file of no known format, a missing file and a duplicate registration fail clearly. The
// amortized flow of a checkpoint is used (posterior) or refused with one message.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <memory>

#include "core/io/model_loader.hpp"
#include "core/io/safetensors.hpp"
#include "core/io/vigap_vae_format.hpp"
#include "core/models/linear_gaussian_model.hpp"
#include "core/variational/flow_posterior.hpp"
#include "support/expect_throw_message.hpp"
#include "support/temporary_directory.hpp"

namespace vigap {
namespace {

Vae small_vae(bool with_encoder, Index flow_layers) {
  VaeArchitecture a;
  a.data_dim = 5;
  a.latent_dim = 2;
  a.encoder_hidden = {3};
  a.decoder_hidden = {4};
  a.has_encoder = with_encoder;
  a.flow_layers = flow_layers;
  a.flow_hidden = {3};
  Vae vae(a);
  Rng rng(7);
  if (vae.encoder) vae.encoder->network().initialize(rng);
  vae.decoder.network().initialize(rng);
  if (vae.flow) {
    fill_standard_normal(vae.flow->parameters(), rng);
    vae.flow->parameters() *= 0.3f;
  }
  vae.metadata["dataset"] = "unit-test";
  return vae;
}

MatrixF some_data() {
  MatrixF X(5, 3);
  X << 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1;
  return X;
}

TEST(ModelLoader, LoadsAVigapVaeCheckpointIntoTheSameModelAndApproximation) {
  testing::TemporaryDirectory dir;
  const Vae vae = small_vae(true, 0);
  save_vae_checkpoint(dir.file("m.safetensors"), vae);
  const LoadedModel loaded = load_model(dir.file("m.safetensors"));
  EXPECT_EQ(loaded.format, "vigap-vae");
  EXPECT_EQ(loaded.source, dir.file("m.safetensors"));
  EXPECT_EQ(loaded.architecture, vae.architecture.to_json());
  EXPECT_EQ(loaded.metadata.at("dataset"), "unit-test");
  const MatrixF X = some_data();
  MatrixD Z(2, 6);
  Z << 0.1, -0.3, 1.2, 0.5, -2.0, 0.0, 0.7, 0.2, -0.4, 1.1, 0.3, -0.9;
  EXPECT_EQ(loaded.generative_model().log_likelihood(X, Z, 2), vae.decoder.log_likelihood(X, Z, 2));
  ASSERT_NE(loaded.amortized, nullptr);
  EXPECT_TRUE(loaded.amortized->is_diagonal_gaussian());
  EXPECT_EQ(loaded.amortized->describe(), "amortized FFG (encoder)");
  const DiagonalGaussian expected = DiagonalGaussian::from_encoder(*vae.encoder, X);
  EXPECT_EQ(loaded.amortized->posterior(X)->log_density(Z, 2), expected.log_density(Z, 2));
  EXPECT_EQ(loaded.amortized->gaussian_base(X).mean(), expected.mean());
  ASSERT_NE(loaded.trainable_decoder, nullptr);
  ASSERT_NE(loaded.trainable_encoder, nullptr);
  EXPECT_EQ(loaded.trainable_decoder->parameters(), vae.decoder.network().parameters());
  EXPECT_EQ(loaded.trainable_encoder->parameters(), vae.encoder->network().parameters());
  EXPECT_EQ(loaded.trainable_decoder.get(), loaded.model.get());
}

TEST(ModelLoader, UsesTheCheckpointsFlowOrRefusesItWithOneMessage) {
  testing::TemporaryDirectory dir;
  const Vae vae = small_vae(true, 1);
  save_vae_checkpoint(dir.file("flow.safetensors"), vae);
  const LoadedModel loaded = load_model(dir.file("flow.safetensors"));
  ASSERT_NE(loaded.amortized, nullptr);
  EXPECT_FALSE(loaded.amortized->is_diagonal_gaussian());
  EXPECT_EQ(loaded.amortized->describe(), "amortized flow (encoder + global flow)");
  const MatrixF X = some_data();
  MatrixD Z(2, 3);
  Z << 0.1, -0.3, 1.2, 0.5, -2.0, 0.0;
  const FlowPosterior expected = FlowPosterior::from_encoder(*vae.encoder, *vae.flow, X);
  EXPECT_EQ(loaded.amortized->posterior(X)->log_density(Z, 1), expected.log_density(Z, 1));
  EXPECT_EQ(loaded.amortized->gaussian_base(X).mean(), DiagonalGaussian::from_encoder(*vae.encoder, X).mean());
  EXPECT_EQ(&loaded.require_amortized("vigap-x", "q"), loaded.amortized.get());
  testing::expect_throw_message<std::invalid_argument>(
      [&] { loaded.require_gaussian_amortized("vigap-x", "it needs a Gaussian mixture"); },
      {"checkpoint " + dir.file("flow.safetensors"), "has a flow after the encoder", "vigap-x cannot use",
       "it needs a Gaussian mixture"});
}

TEST(ModelLoader, ADecoderAloneHasNoAmortizedQ) {
  testing::TemporaryDirectory dir;
  save_vae_checkpoint(dir.file("d.safetensors"), small_vae(false, 0));
  const LoadedModel loaded = load_model(dir.file("d.safetensors"));
  EXPECT_EQ(loaded.amortized, nullptr);
  EXPECT_EQ(loaded.trainable_encoder, nullptr);
  for (const auto& call : {std::function<void()>([&] { loaded.require_amortized("vigap-x", "q(z|x)"); }),
                           std::function<void()>([&] { loaded.require_gaussian_amortized("vigap-x", "q(z|x)"); })})
    testing::expect_throw_message<std::invalid_argument>(
        call, {"checkpoint " + dir.file("d.safetensors"), "has no encoder", "vigap-x", "q(z|x)"});
  testing::expect_throw_message<std::invalid_argument>(
      [&] { loaded.require_trainable_encoder("vigap-x", "its gradient"); },
      {"d.safetensors", "no trainable encoder", "vigap-x", "its gradient"});
}

TEST(ModelLoader, RejectsAFileOfNoKnownFormatNamingTheFileAndTheFormats) {
  testing::TemporaryDirectory dir;
  SafetensorsFile other;
  other.metadata["format"] = "someone-elses";
  other.tensors["w"] = tensor_from_vector(VectorF::Ones(3));
  save_safetensors(dir.file("other.safetensors"), other);
  std::ofstream(dir.file("text.txt")) << "not a checkpoint";
  for (const std::string name : {"other.safetensors", "text.txt"})
    testing::expect_throw_message<std::invalid_argument>([&] { load_model(dir.file(name)); },
                                                         {"checkpoint " + dir.file(name), "none of the known model formats",
                                                          "vigap-vae"});
  testing::expect_throw_message<std::runtime_error>([&] { load_model(dir.file("missing.safetensors")); },
                                                    {"missing.safetensors", "cannot open"});
}

TEST(ModelLoader, DispatchesToARegisteredFormatAndRefusesADuplicateName) {
  testing::TemporaryDirectory dir;
  ModelFormat format;
  format.name = "test-linear-gaussian";
  format.description = "a linear-Gaussian model for tests (*.linear-gaussian)";
  format.detect = [](const std::string& path) { return path.ends_with(".linear-gaussian"); };
  format.load = [](const std::string&) {
    LoadedModel loaded;
    loaded.model = std::make_shared<LinearGaussianModel>(MatrixD::Identity(3, 2), VectorD::Zero(3), 0.5);
    loaded.architecture = {{"kind", "linear-gaussian"}};
    return loaded;
  };
  register_model_format(format);
  std::ofstream(dir.file("m.linear-gaussian")) << "x";
  const LoadedModel loaded = load_model(dir.file("m.linear-gaussian"));
  EXPECT_EQ(loaded.format, "test-linear-gaussian");
  EXPECT_EQ(loaded.source, dir.file("m.linear-gaussian"));
  EXPECT_EQ(loaded.generative_model().latent_dim(), 2);
  EXPECT_EQ(loaded.amortized, nullptr);
  // The built-in format still comes first, and a second format of the same name is refused.
  EXPECT_EQ(model_formats().front().name, "vigap-vae");
  testing::expect_throw_message<std::invalid_argument>([&] { register_model_format(format); },
                                                       {"test-linear-gaussian", "already registered"});
  ModelFormat nameless = format;
  nameless.name = "";
  testing::expect_throw_message<std::invalid_argument>([&] { register_model_format(nameless); }, {"no name"});
}

}  // namespace
}  // namespace vigap
