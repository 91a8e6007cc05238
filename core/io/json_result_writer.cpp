#include "core/io/json_result_writer.hpp"

#include <cmath>
#include <stdexcept>

#include "core/io/atomic_file.hpp"
#include "core/version.hpp"

namespace vigap {
namespace {

/// Escapes one reference token of a JSON pointer (RFC 6901: ~ -> ~0, / -> ~1).
std::string escape_pointer_token(const std::string& token) {
  std::string escaped;
  for (char c : token) {
    if (c == '~')
      escaped += "~0";
    else if (c == '/')
      escaped += "~1";
    else
      escaped += c;
  }
  return escaped;
}

/// Throws std::invalid_argument naming the pointer of the first non-finite number in `value`.
void check_finite(const nlohmann::ordered_json& value, const std::string& pointer, const std::string& path) {
  if (value.is_number_float()) {
    const double x = value.get<double>();
    if (!std::isfinite(x))
      throw std::invalid_argument("result JSON '" + path + "': expected finite numbers, found " +
                                  (std::isnan(x) ? "NaN" : (x > 0 ? "inf" : "-inf")) + " at " +
                                  (pointer.empty() ? "/" : pointer));
  } else if (value.is_object()) {
    for (const auto& [key, child] : value.items()) check_finite(child, pointer + "/" + escape_pointer_token(key), path);
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) check_finite(value[i], pointer + "/" + std::to_string(i), path);
  }
}

}  // namespace

nlohmann::ordered_json make_result_document(const std::string& experiment_name,
                                            const nlohmann::ordered_json& configuration,
                                            const nlohmann::ordered_json& dataset_identity, std::uint64_t seed) {
  nlohmann::ordered_json document;
  document["schema_version"] = 1;
  document["experiment"] = experiment_name;
  document["vigap_version"] = kVersion;
  document["git_commit"] = kGitCommit;
  document["seed"] = seed;
  document["configuration"] = configuration;
  document["dataset"] = dataset_identity;
  document["results"] = nlohmann::ordered_json::object();
  document["timings"] = nlohmann::ordered_json::object();
  return document;
}

void write_result_json(const std::string& path, const nlohmann::ordered_json& document) {
  check_finite(document, "", path);
  std::string text;
  try {
    text = document.dump(2);
  } catch (const nlohmann::ordered_json::exception& e) {
    throw std::invalid_argument("result JSON '" + path + "': expected a serializable document, found: " + e.what());
  }
  text += '\n';
  write_file_atomically(path, text);
}

}  // namespace vigap
