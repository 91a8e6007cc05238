#pragma once
// LibTorch facts the rest of the backend records without including torch headers.
#include <string>
#include <vector>

namespace vigap {

/// LibTorch's version as its headers give it (TORCH_VERSION_MAJOR.MINOR.PATCH), e.g. "1.13.0".
std::string libtorch_version();

/// The file-format version recorded in a TorchScript archive (its "<name>/version" or
/// "<name>/.data/version" entry), or "" when the file is not a readable zip or has none.
std::string torchscript_archive_version(const std::string& path);

}  // namespace vigap

namespace vigap {

/// The shape of the tensor the module file at `path` returns from forward() on a float32 zero
/// tensor of `input_shape` (for vigap-import, which reads the data dimension from a decoder's
/// output). Throws std::invalid_argument naming the file (load_torchscript_module's errors, or a
/// forward() that fails or returns no tensor).
std::vector<long> torchscript_forward_output_shape(const std::string& path, const std::vector<long>& input_shape,
                                                   const std::string& role);

}  // namespace vigap
