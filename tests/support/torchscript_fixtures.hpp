#pragma once
// The TorchScript backend's fixtures (test support): tests/support/make_torchscript_fixtures.py
// run once per test process, the manifests of its modules (written with make_torchscript_manifest
// next to them), and the same VAE imported natively from its state_dict.
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "backends/torchscript/torchscript_format.hpp"
#include "core/io/model_loader.hpp"
#include "core/io/sha256.hpp"
#include "core/io/vae_import.hpp"
#include "core/io/vigap_vae_format.hpp"
#include "support/torch_fixtures.hpp"

namespace vigap::testing {

/// The fixture directory ("" after a test failure when it could not be built).
inline std::string torchscript_fixture_directory() { return python_fixture_directory("make_torchscript_fixtures.py"); }

/// <dir>/<name>.json, the manifest of `options` (file names relative to the fixture directory),
/// written on first use.
inline std::string torchscript_manifest(const std::string& name, TorchScriptImportOptions options) {
  const std::string dir = torchscript_fixture_directory();
  const std::string path = dir + "/" + name + ".json";
  if (!std::filesystem::exists(path)) {
    options.decoder_file = dir + "/" + options.decoder_file;
    if (!options.encoder_file.empty()) options.encoder_file = dir + "/" + options.encoder_file;
    write_torchscript_manifest(path, make_torchscript_manifest(options, path));
  }
  return path;
}

/// The forward decoder (logits) with the tuple encoder.
inline std::string forward_manifest() {
  return torchscript_manifest("forward", {.decoder_file = "decoder.pt", .encoder_file = "encoder.pt",
                                          .likelihood = "bernoulli", .encoder_output = "tuple",
                                          .latent_dim = 2, .binarization = "dynamic"});
}

/// The log_likelihood(x, z) method with the split-halves log-sd encoder.
inline std::string method_manifest() {
  return torchscript_manifest("method", {.decoder_file = "decoder_method.pt", .encoder_file = "encoder_split.pt",
                                         .likelihood = "log-likelihood-method", .encoder_output = "split-halves",
                                         .encoder_scale = "log-sd", .latent_dim = 2, .data_dim = 784,
                                         .binarization = "dynamic"});
}

/// The transposed-convolution decoder (output [N, 1, 28, 28]), without an encoder.
inline std::string conv_manifest() {
  return torchscript_manifest("conv", {.decoder_file = "conv_decoder.pt", .likelihood = "bernoulli", .latent_dim = 2});
}

/// vae.pt imported natively (vigap-import's description in reference.json), as a checkpoint file.
inline std::string native_checkpoint() {
  const std::string dir = torchscript_fixture_directory();
  const std::string path = dir + "/native.safetensors";
  if (!std::filesystem::exists(path)) {
    VaeImportOptions o;
    o.encoder = "enc1,enc2";
    o.decoder = "dec1,dec2";
    o.activation = "tanh";
    o.binarization = "dynamic";
    save_vae_checkpoint(path, import_vae_file(dir + "/vae.pt", VaeImportDescription::parse(o)));
  }
  return path;
}

/// <dir>/<name>.json: the forward manifest with `edit` applied to its JSON (bad-input cases:
/// another module, a wrong hash, an unknown output, ...); the decoder's "sha256" is that of the
/// file the edited manifest names unless the edit sets it.
inline std::string edited_forward_manifest(const std::string& name,
                                           const std::function<void(nlohmann::ordered_json&)>& edit) {
  const std::string dir = torchscript_fixture_directory();
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(read_text(forward_manifest()));
  const std::string old_file = j["decoder"]["file"];
  edit(j);
  const std::string file = j["decoder"]["file"];
  if (file != old_file && std::filesystem::exists(dir + "/" + file))
    j["decoder"]["sha256"] = sha256_hex(read_text(dir + "/" + file));
  const std::string path = dir + "/" + name + ".json";
  std::ofstream(path) << j.dump(2);
  return path;
}

/// The bad manifests of the bad-input cases, by name: wrong_shape, nan_for_large_z (modules of the
/// fixtures), no_method (decoder.pt declared log-likelihood-method), bad_hash, missing_module,
/// unknown_output, unknown_scale, newer_format.
inline std::string bad_torchscript_manifest(const std::string& kind) {
  using J = nlohmann::ordered_json;
  if (kind == "wrong_shape" || kind == "nan_for_large_z" || kind == "newer_format")
    return edited_forward_manifest(kind, [&](J& j) { j["decoder"]["file"] = kind + ".pt"; });
  if (kind == "no_method") return edited_forward_manifest(kind, [](J& j) { j["decoder"]["output"] = "log-likelihood-method"; });
  if (kind == "bad_hash") return edited_forward_manifest(kind, [](J& j) { j["decoder"]["sha256"] = std::string(64, '0'); });
  if (kind == "missing_module") return edited_forward_manifest(kind, [](J& j) { j["decoder"]["file"] = "gone.pt"; });
  if (kind == "unknown_output") return edited_forward_manifest(kind, [](J& j) { j["decoder"]["output"] = "poisson"; });
  if (kind == "unknown_scale") return edited_forward_manifest(kind, [](J& j) { j["encoder"]["scale"] = "sd"; });
  throw std::invalid_argument("bad_torchscript_manifest: unknown kind " + kind);
}

/// load_model of a manifest (the format registered first).
inline LoadedModel load_torchscript(const std::string& manifest) {
  register_torchscript_model_format();
  return load_model(manifest);
}

}  // namespace vigap::testing
