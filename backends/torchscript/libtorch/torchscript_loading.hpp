#pragma once
// What the TorchScript plugin does with LibTorch for the torch-free side
// (torchscript_format.hpp): load a manifest's modules, and check modules before vigap-import
// writes a manifest for them.
#include <string>

#include "backends/torchscript/torchscript_format.hpp"
#include "backends/torchscript/torchscript_manifest.hpp"
#include "core/io/loaded_model.hpp"

namespace vigap {

/// The LoadedModel of a parsed manifest read from `manifest_path` (as torchscript_model_format
/// describes): SHA-256 of each module checked, a TorchScriptModel and, when the manifest names
/// one, a TorchScriptEncoder. Throws std::invalid_argument naming the file at fault.
LoadedModel load_torchscript_manifest(const TorchScriptManifest& manifest, const std::string& manifest_path);

/// make_torchscript_manifest (torchscript_format.hpp), with LibTorch.
TorchScriptManifest make_torchscript_manifest_with_libtorch(const TorchScriptImportOptions& options,
                                                            const std::string& manifest_path);

}  // namespace vigap
