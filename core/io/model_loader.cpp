#include "core/io/model_loader.hpp"

#include <fstream>
#include <mutex>
#include <stdexcept>

#include "core/io/vigap_vae_format.hpp"

namespace vigap {

namespace {

/// The formats every program knows: a new backend adds its line here.
std::vector<ModelFormat> built_in_model_formats() { return {vigap_vae_format()}; }

struct Registry {
  std::mutex mutex;
  std::vector<ModelFormat> formats = built_in_model_formats();
};

Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace

std::vector<ModelFormat> model_formats() {
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  return r.formats;
}

void register_model_format(ModelFormat format) {
  if (format.name.empty()) throw std::invalid_argument("register_model_format: the format has no name");
  if (!format.detect || !format.load)
    throw std::invalid_argument("register_model_format: format '" + format.name + "' needs a detect and a load function");
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  for (const ModelFormat& known : r.formats)
    if (known.name == format.name)
      throw std::invalid_argument("register_model_format: a format named '" + format.name + "' is already registered");
  r.formats.push_back(std::move(format));
}

LoadedModel load_model(const std::string& path) {
  if (!std::ifstream(path, std::ios::binary))
    throw std::runtime_error("checkpoint " + path + ": cannot open the file for reading");
  const std::vector<ModelFormat> formats = model_formats();
  for (const ModelFormat& format : formats) {
    if (!format.detect(path)) continue;
    LoadedModel loaded = format.load(path);
    loaded.source = path;
    loaded.format = format.name;
    return loaded;
  }
  std::string known;
  for (const ModelFormat& format : formats)
    known += (known.empty() ? "" : "; ") + format.name + " (" + format.description + ")";
  throw std::invalid_argument("checkpoint " + path + " is in none of the known model formats: " + known);
}

}  // namespace vigap
