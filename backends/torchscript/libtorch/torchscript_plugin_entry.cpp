// The plugin's entry point (torchscript_plugin.hpp): the table of the backend's LibTorch functions.
#include "backends/torchscript/libtorch/torchscript_loading.hpp"
#include "backends/torchscript/libtorch/torchscript_runtime.hpp"
#include "backends/torchscript/torchscript_plugin.hpp"
#include "core/version.hpp"

namespace {

vigap::LoadedModel load_manifest(const std::string& path) {
  return vigap::load_torchscript_manifest(vigap::read_torchscript_manifest(path), path);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const vigap::TorchScriptPlugin* vigap_torchscript_plugin() {
  static const std::string version = vigap::libtorch_version();
  static const vigap::TorchScriptPlugin plugin{
      .vigap_commit = vigap::kGitCommit,
      .loaded_model_size = sizeof(vigap::LoadedModel),
      .manifest_size = sizeof(vigap::TorchScriptManifest),
      .import_options_size = sizeof(vigap::TorchScriptImportOptions),
      .libtorch_version = version.c_str(),
      .load_manifest = &load_manifest,
      .make_manifest = &vigap::make_torchscript_manifest_with_libtorch,
  };
  return &plugin;
}
