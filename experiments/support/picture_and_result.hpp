#pragma once
// Writing a binary's two outputs, the SVG picture and the JSON result, as a pair.
#include <nlohmann/json.hpp>
#include <string>

namespace vigap {

/// Writes `svg` to `picture_path` and `document` to `result_path` (write_result_json), each
/// atomically. If the JSON cannot be written (an unwritable path, a non-finite number), the
/// picture is removed again and the error rethrown, so a failed run leaves neither file.
void write_picture_and_result(const std::string& picture_path, const std::string& svg, const std::string& result_path,
                              const nlohmann::ordered_json& document);

}  // namespace vigap
