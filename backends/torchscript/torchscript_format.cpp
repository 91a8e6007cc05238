#include "backends/torchscript/torchscript_format.hpp"

#include <mutex>

#include "backends/torchscript/torchscript_plugin_loader.hpp"

namespace vigap {

ModelFormat torchscript_model_format() {
  ModelFormat format;
  format.name = "vigap-torchscript";
  format.description = "a JSON manifest (format = vigap-torchscript) naming TorchScript decoder/encoder modules, "
                       "written by vigap-import --torchscript-decoder";
  format.detect = [](const std::string& path) { return is_torchscript_manifest(path); };
  format.load = [](const std::string& path) { return torchscript_plugin().load_manifest(path); };
  return format;
}

void register_torchscript_model_format() {
  static std::once_flag registered;
  std::call_once(registered, [] { register_model_format(torchscript_model_format()); });
}

TorchScriptManifest make_torchscript_manifest(const TorchScriptImportOptions& options, const std::string& manifest_path) {
  return torchscript_plugin().make_manifest(options, manifest_path);
}

}  // namespace vigap
