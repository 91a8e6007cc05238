#pragma once
// One loading function for every checkpoint format: a registry of formats (name -> detector +
// loader) and load_model, which dispatches on the file's format.
//
// A new backend is one new file defining its ModelFormat and one line in built_in_model_formats
// (core/io/model_loader.cpp); programs may also add formats at run time (register_model_format).
#include <functional>
#include <string>
#include <vector>

#include "core/io/loaded_model.hpp"

namespace vigap {

/// One checkpoint format load_model can read.
struct ModelFormat {
  std::string name;         ///< e.g. "vigap-vae"; unique
  std::string description;  ///< one line, listed in load_model's error for an unknown format
  /// Whether the file at the path is in this format; cheap (reads a header), never throws.
  std::function<bool(const std::string& path)> detect;
  /// Reads the file; throws std::invalid_argument naming the file and what is wrong.
  std::function<LoadedModel(const std::string& path)> load;
};

/// The registered formats in the order load_model tries them: the built-in ones, then those added
/// by register_model_format.
std::vector<ModelFormat> model_formats();

/// Adds `format` after the registered ones. Throws std::invalid_argument when its name is empty or
/// taken, or detect or load is empty. Thread-safe.
void register_model_format(ModelFormat format);

/// Reads the checkpoint at `path` with the first registered format whose detect accepts it, and
/// sets the result's source and format. Throws std::runtime_error naming the file when it cannot
/// be read, std::invalid_argument "checkpoint <path> is in none of the known model formats: <name>
/// (<description>), ..." when no format detects it, and whatever the format's loader throws.
LoadedModel load_model(const std::string& path);

}  // namespace vigap
