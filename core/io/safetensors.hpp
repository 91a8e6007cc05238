#pragma once
// The safetensors file format (as written by PyTorch's `safetensors`), float32 tensors only.
//
// Layout: an 8-byte little-endian u64 N; N bytes of JSON header, padded with spaces to a
// multiple of 8: {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
// "__metadata__": {string: string}}; then the data area, each tensor's little-endian values in
// row-major (C) order at [begin, end) bytes from the start of the data area.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.hpp"

namespace vigap {

/// A float32 tensor: its shape and its values in row-major (C) order.
struct Tensor {
  std::vector<Index> shape;
  std::vector<float> data;  ///< row-major; size = product of shape (1 for shape []).
};

/// The contents of a safetensors file: named tensors and string metadata.
struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

/// A shape as errors print it: "[2, 3]", "[]".
std::string shape_string(const std::vector<Index>& shape);

/// Returns the bytes of `file` in safetensors format: tensors in name order, "__metadata__"
/// first when non-empty. Throws std::invalid_argument naming the tensor if its data size does
/// not match its shape, a dimension is negative, or a tensor is named "__metadata__".
std::string serialize_safetensors(const SafetensorsFile& file);

/// Writes `file` to `path` atomically (write_file_atomically). Throws as serialize_safetensors,
/// and std::runtime_error naming the path if writing fails.
void save_safetensors(const std::string& path, const SafetensorsFile& file);

/// Parses `bytes`, the contents of a safetensors file; `source` names it in errors (a path).
/// Throws std::invalid_argument, naming `source` and the tensor, if it is malformed: shorter
/// than 8 bytes, header length beyond the bytes, header not JSON, an entry without dtype, shape
/// or data_offsets, a dtype other than F32, or offsets outside the data area or not matching
/// the shape. Allocates at most about the size of `bytes` (every tensor's values lie in it).
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& source);

/// Reads the safetensors file at `path` and parses it (parse_safetensors, with `path` as the
/// source). Throws std::runtime_error if it cannot be read, std::invalid_argument if malformed.
SafetensorsFile load_safetensors(const std::string& path);

/// The "__metadata__" entries of the safetensors file at `path`, reading only its header (for
/// telling checkpoint formats apart): an empty map when the header has none, std::nullopt when
/// the file cannot be read or is not a safetensors file (shorter than 8 bytes, a header length
/// beyond the file, a header that is not a JSON object, metadata values that are not strings).
std::optional<std::map<std::string, std::string>> read_safetensors_metadata(const std::string& path);

/// A tensor of shape [rows, cols] holding `matrix` in row-major order.
Tensor tensor_from_matrix(const MatrixF& matrix);

/// A tensor of shape [n] holding `vector`.
Tensor tensor_from_vector(const VectorF& vector);

/// The rows x cols matrix held by `tensor`. Throws std::invalid_argument naming
/// `name_for_errors`, the expected and the found shape unless the shape is [rows, cols].
MatrixF matrix_from_tensor(const Tensor& tensor, Index rows, Index cols, const std::string& name_for_errors);

/// The n-vector held by `tensor`. Throws std::invalid_argument naming `name_for_errors`, the
/// expected and the found shape unless the shape is [n].
VectorF vector_from_tensor(const Tensor& tensor, Index n, const std::string& name_for_errors);

}  // namespace vigap
