#pragma once
// The "vigap-torchscript" model format of load_model (a manifest, torchscript_manifest.hpp), and
// writing a manifest from module files after checking them (vigap-import --torchscript-decoder).
// Torch-free: detecting a manifest reads JSON only; loading one and checking modules call the
// backend's LibTorch code in its plugin (torchscript_plugin_loader.hpp), which a process loads
// the first time it needs it, so that binaries never given a manifest never start LibTorch.
#include <optional>
#include <string>

#include "backends/torchscript/torchscript_manifest.hpp"
#include "core/io/loaded_model.hpp"
#include "core/io/model_loader.hpp"

namespace vigap {

/// Detects a manifest (is_torchscript_manifest, no LibTorch); loads it through the plugin
/// (load_torchscript_manifest of libtorch/torchscript_loading.hpp): checks each module's SHA-256,
/// loads the TorchScriptModel and, when the manifest has one, the TorchScriptEncoder; the
/// LoadedModel's architecture is the manifest's JSON and its metadata "binarization",
/// "binarization_threshold", "torchscript_manifest" (the JSON) and "torchscript_version"
/// (LibTorch's). Not trainable.
ModelFormat torchscript_model_format();

/// Adds torchscript_model_format() to load_model's registry once (later calls do nothing).
void register_torchscript_model_format();

/// What vigap-import --torchscript-decoder writes. Paths as given on the command line.
struct TorchScriptImportOptions {
  std::string decoder_file;          ///< --torchscript-decoder
  std::string encoder_file;          ///< --torchscript-encoder ("" for none)
  /// --likelihood: bernoulli | gaussian-fixed:<σ²> | gaussian-learned | log-likelihood-method
  /// (or the manifest's names bernoulli-logits, gaussian-mean:<sd>, gaussian-mean-log-variance)
  std::string likelihood = "bernoulli";
  std::string encoder_output = "split-halves";  ///< --encoder-output: split-halves | tuple
  std::string encoder_scale = "log-variance";   ///< --encoder-scale
  Index latent_dim = 0;              ///< --latent-dim, >= 1
  Index data_dim = 0;                ///< --data-dim; 0: read from the decoder's output (not for the method)
  std::string binarization = "none";  ///< --binarization
};

/// Builds the manifest for `options` to be written at `manifest_path` (module paths stored
/// relative to its directory when they are inside it, else absolute), loads the modules, runs
/// them on a probe batch (shapes and finiteness, as TorchScriptModel::check_module) and records
/// each module's SHA-256. Throws std::invalid_argument naming the option or file. Runs in the
/// plugin (make_torchscript_manifest_with_libtorch).
TorchScriptManifest make_torchscript_manifest(const TorchScriptImportOptions& options, const std::string& manifest_path);

}  // namespace vigap
