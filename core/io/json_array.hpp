#pragma once
// Eigen vectors as JSON arrays.
#include <nlohmann/json.hpp>

#include "core/types.hpp"

namespace vigap {

/// [v(0), v(1), ...] (an empty vector gives []).
inline nlohmann::ordered_json to_json_array(const VectorD& v) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (Index i = 0; i < v.size(); ++i) a.push_back(v(i));
  return a;
}

}  // namespace vigap
