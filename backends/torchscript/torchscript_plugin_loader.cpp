#include "backends/torchscript/torchscript_plugin_loader.hpp"

#include <dlfcn.h>

#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "core/version.hpp"

namespace vigap {

namespace {

using PluginEntry = const TorchScriptPlugin* (*)();

/// What to do when the plugin cannot be used: said once, in every refusal.
std::string build_advice() {
#if VIGAP_TORCHSCRIPT_BUILT
  return "the TorchScript backend is built with LibTorch (Debian's libtorch-dev, installed by "
         "scripts/install_dependencies.sh); rebuild vigap to restore the plugin";
#else
  return "this vigap was built without the TorchScript backend: install LibTorch (Debian's libtorch-dev, "
         "scripts/install_dependencies.sh) and configure with -DVIGAP_TORCHSCRIPT=ON";
#endif
}

const TorchScriptPlugin& checked(const TorchScriptPlugin* plugin, const std::string& where) {
  if (plugin == nullptr) throw std::invalid_argument("TorchScript plugin " + where + ": its entry point returned nothing");
  if (std::string(plugin->vigap_commit) != kGitCommit || plugin->loaded_model_size != sizeof(LoadedModel) ||
      plugin->manifest_size != sizeof(TorchScriptManifest) ||
      plugin->import_options_size != sizeof(TorchScriptImportOptions))
    throw std::invalid_argument("TorchScript plugin " + where + ": built from vigap commit " + plugin->vigap_commit +
                                ", this binary from " + kGitCommit +
                                " (or with other type layouts); a plugin is only loaded by the binaries of its own "
                                "build: " + build_advice());
  return *plugin;
}

const TorchScriptPlugin& load_plugin() {
  // The backend linked into this process (its own test binary exports the entry point).
  if (void* linked = dlsym(RTLD_DEFAULT, kTorchScriptPluginEntry))
    return checked(reinterpret_cast<PluginEntry>(linked)(), "linked into this binary");
  const std::string path = torchscript_plugin_path();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw std::invalid_argument("TorchScript models (vigap-torchscript manifests, --torchscript-decoder) need the backend's plugin " + path +
                                ", which does not exist: " + build_advice());
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    throw std::invalid_argument("TorchScript plugin " + path + ": cannot be loaded (" + (why ? why : "no reason given") +
                                "): " + build_advice());
  }
  void* entry = dlsym(handle, kTorchScriptPluginEntry);
  if (entry == nullptr)
    throw std::invalid_argument("TorchScript plugin " + path + ": has no entry point " + kTorchScriptPluginEntry);
  return checked(reinterpret_cast<PluginEntry>(entry)(), path);
}

}  // namespace

std::string torchscript_plugin_path() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::filesystem::path dir = ec ? std::filesystem::current_path() : self.parent_path();
  return (dir / kTorchScriptPluginFile).string();
}

const TorchScriptPlugin& torchscript_plugin() {
  // A failed load throws out of the initializer, so the next call tries again.
  static const TorchScriptPlugin& plugin = load_plugin();
  return plugin;
}

}  // namespace vigap
