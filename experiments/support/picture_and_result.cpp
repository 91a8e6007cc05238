#include "experiments/support/picture_and_result.hpp"

#include <filesystem>
#include <system_error>

#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"

namespace vigap {

void write_picture_and_result(const std::string& picture_path, const std::string& svg, const std::string& result_path,
                              const nlohmann::ordered_json& document) {
  write_file_atomically(picture_path, svg);
  try {
    write_result_json(result_path, document);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(picture_path, ignored);
    throw;
  }
}

}  // namespace vigap
