#pragma once
// The one JSON result format written by every vigap binary.
//
// A result document is {"schema_version": 1, "experiment", "vigap_version", "git_commit",
// "seed", "configuration", "dataset", "results": {}, "timings": {}}; binaries fill "results"
// and put every wall-clock measurement under "timings", so two runs can be compared byte for
// byte after removing "timings".
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace vigap {

/// Returns a result document with the fields above in that order, "results" and "timings" empty.
nlohmann::ordered_json make_result_document(const std::string& experiment_name,
                                            const nlohmann::ordered_json& configuration,
                                            const nlohmann::ordered_json& dataset_identity, std::uint64_t seed);

/// Writes `document` to `path` atomically, dumped with indent 2 and a trailing newline (the
/// same bytes for the same document). Throws std::invalid_argument naming the JSON pointer
/// (e.g. /results/test/elbo) of the first NaN or infinite number, or if the document cannot
/// be serialized (invalid UTF-8); std::runtime_error naming the path if writing fails. Nothing
/// is written when it throws.
void write_result_json(const std::string& path, const nlohmann::ordered_json& document);

}  // namespace vigap
