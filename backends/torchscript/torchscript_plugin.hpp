#pragma once
// The TorchScript backend's plugin interface: what libvigap_torchscript.so (the backend's LibTorch
// code, backends/torchscript/libtorch/) gives the torch-free rest of vigap.
//
// Why a plugin: LibTorch's static initializers take about 0.6 s of every process that links it,
// and most runs never see a TorchScript model. A binary loads the plugin the first time it meets
// a vigap-torchscript manifest (torchscript_plugin_loader.hpp). The plugin is not a stand-alone
// library: it resolves vigap's own functions (core/, this folder) from the binary that loads it,
// which exports them (CMake ENABLE_EXPORTS, the whole of vigap_core linked in), so that there is
// one copy of each function and of each registry in the process. A plugin is therefore only
// loaded by binaries of the same build: the entry point records the build's commit and the sizes
// of the types it exchanges, and the loader refuses a plugin whose record differs.
#include <cstddef>
#include <string>

#include "backends/torchscript/torchscript_format.hpp"
#include "backends/torchscript/torchscript_manifest.hpp"
#include "core/io/loaded_model.hpp"

namespace vigap {

/// The plugin's table of functions and the facts the loader checks before using them.
struct TorchScriptPlugin {
  const char* vigap_commit;       ///< kGitCommit (core/version.hpp) of the build the plugin belongs to
  std::size_t loaded_model_size;  ///< sizeof(LoadedModel) in the plugin's build
  std::size_t manifest_size;      ///< sizeof(TorchScriptManifest)
  std::size_t import_options_size;  ///< sizeof(TorchScriptImportOptions)
  const char* libtorch_version;   ///< LibTorch's version, "1.13.0"
  /// load_torchscript_manifest(read_torchscript_manifest(path), path)
  LoadedModel (*load_manifest)(const std::string& manifest_path);
  /// make_torchscript_manifest_with_libtorch
  TorchScriptManifest (*make_manifest)(const TorchScriptImportOptions& options, const std::string& manifest_path);
};

/// The plugin's one exported symbol, extern "C" vigap_torchscript_plugin(): returns the table.
inline constexpr const char* kTorchScriptPluginEntry = "vigap_torchscript_plugin";

/// The plugin's file name, looked for in the directory of the running binary.
inline constexpr const char* kTorchScriptPluginFile = "libvigap_torchscript.so";

}  // namespace vigap
