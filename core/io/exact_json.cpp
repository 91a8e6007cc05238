#include "core/io/exact_json.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace vigap {

nlohmann::json exact_json(double v) {
  if (std::isfinite(v)) return v;
  if (std::isnan(v)) return "nan";
  return v > 0 ? "inf" : "-inf";
}

double exact_double(const nlohmann::json& j, const std::string& what) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
  }
  throw std::invalid_argument(what + ": expected a number, \"nan\", \"inf\" or \"-inf\", found " + j.dump());
}

nlohmann::json exact_json(const VectorD& v) {
  nlohmann::json out = nlohmann::json::array();
  for (Index i = 0; i < v.size(); ++i) out.push_back(exact_json(v(i)));
  return out;
}

VectorD exact_vector(const nlohmann::json& j, const std::string& what) {
  if (!j.is_array()) throw std::invalid_argument(what + ": expected an array of numbers, found " + j.type_name());
  VectorD v(static_cast<Index>(j.size()));
  for (std::size_t i = 0; i < j.size(); ++i) v(static_cast<Index>(i)) = exact_double(j[i], what + "[" + std::to_string(i) + "]");
  return v;
}

std::vector<Index> index_vector(const nlohmann::json& j, const std::string& what) {
  if (!j.is_array()) throw std::invalid_argument(what + ": expected an array of integers, found " + j.type_name());
  std::vector<Index> v;
  for (const auto& e : j) {
    if (!e.is_number_integer()) throw std::invalid_argument(what + ": expected integers, found " + e.dump());
    v.push_back(e.get<Index>());
  }
  return v;
}

std::vector<bool> bool_vector(const nlohmann::json& j, const std::string& what) {
  if (!j.is_array()) throw std::invalid_argument(what + ": expected an array of booleans, found " + j.type_name());
  std::vector<bool> v;
  for (const auto& e : j) {
    if (!e.is_boolean()) throw std::invalid_argument(what + ": expected booleans, found " + e.dump());
    v.push_back(e.get<bool>());
  }
  return v;
}

}  // namespace vigap
