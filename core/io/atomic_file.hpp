#pragma once
// Writing whole files atomically: readers see the old file or the complete new one, never half.
#include <string>

namespace vigap {

/// Writes `bytes` to `path + ".tmp-<pid>"` in the same directory, fsyncs it and renames it over
/// `path`. On any failure removes the temporary file and throws std::runtime_error naming the
/// path and the system error; `path` is then untouched.
void write_file_atomically(const std::string& path, const std::string& bytes);

/// Checks, before long work, that an output file can later be written at `path`: its directory
/// exists and a file can be created there (probed by creating and removing the temporary name
/// write_file_atomically would use; the final file is not created) and `path` is not a
/// directory. Throws std::invalid_argument naming the path otherwise.
void check_writable_output_path(const std::string& path);

}  // namespace vigap
