#pragma once
// Reading the fields of a JSON object that vigap wrote itself (a journal record, a message
// between processes), with errors that say where: "<what>: lacks \"key\"".
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace vigap {

/// j[key], which must exist (j an object). Throws std::invalid_argument naming `what` and the key.
inline const nlohmann::ordered_json& json_member(const nlohmann::ordered_json& j, const char* key,
                                                 const std::string& what) {
  if (!j.is_object() || !j.contains(key)) throw std::invalid_argument(what + ": lacks \"" + key + "\"");
  return j[key];
}

/// j[key] as a T. Throws std::invalid_argument naming `what` and the key when it is missing or
/// of another type.
template <class T>
T json_field(const nlohmann::ordered_json& j, const char* key, const std::string& what) {
  const nlohmann::ordered_json& value = json_member(j, key, what);
  try {
    return value.get<T>();
  } catch (const nlohmann::ordered_json::exception& e) {
    throw std::invalid_argument(what + "." + key + ": " + e.what());
  }
}

}  // namespace vigap
