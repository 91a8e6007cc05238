#pragma once
// JSON that carries doubles exactly, for results that travel between processes (MPI ranks) or
// through a resume journal and must come back as the same bits.
//
// nlohmann::json::dump writes a finite double with enough digits to round-trip (-0.0 included),
// but writes NaN and ±inf as null. Here a finite double is a JSON number and a non-finite one the
// string "nan", "inf" or "-inf", so that every value of a per-datapoint vector survives.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/types.hpp"

namespace vigap {

/// v as a JSON number when finite, else "nan", "inf" or "-inf".
nlohmann::json exact_json(double v);
/// The double exact_json wrote. Throws std::invalid_argument naming `what` for anything else.
double exact_double(const nlohmann::json& j, const std::string& what);

/// A vector as an array of exact_json values, and back (throws std::invalid_argument naming `what`).
nlohmann::json exact_json(const VectorD& v);
VectorD exact_vector(const nlohmann::json& j, const std::string& what);

/// Integers and flags as plain arrays, and back (throws std::invalid_argument naming `what`).
std::vector<Index> index_vector(const nlohmann::json& j, const std::string& what);
std::vector<bool> bool_vector(const nlohmann::json& j, const std::string& what);

}  // namespace vigap
