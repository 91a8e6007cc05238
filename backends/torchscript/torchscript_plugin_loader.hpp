#pragma once
// Finding and loading the TorchScript backend's plugin (torchscript_plugin.hpp), once per process.
#include <string>

#include "backends/torchscript/torchscript_plugin.hpp"

namespace vigap {

/// The plugin's table. The first call looks for the entry point in the process itself (a binary
/// that links the backend's code, as its own tests do), else dlopens kTorchScriptPluginFile from
/// the directory of the running binary (/proc/self/exe) and checks its record against this build
/// (commit and type sizes). Later calls return the same table; the plugin is never unloaded.
/// Throws std::invalid_argument saying which file was looked for and why it cannot be used
/// (not built: VIGAP_TORCHSCRIPT=OFF; LibTorch missing; another build's plugin).
const TorchScriptPlugin& torchscript_plugin();

/// Where torchscript_plugin() looks for the plugin file: the running binary's directory.
std::string torchscript_plugin_path();

}  // namespace vigap
