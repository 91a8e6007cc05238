#include "core/io/safetensors.hpp"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

#include "core/io/atomic_file.hpp"

namespace vigap {
namespace {

/// Number of elements of `shape`, or -1 if a dimension is negative or the product exceeds `limit`.
std::int64_t element_count(const std::vector<Index>& shape, std::uint64_t limit) {
  std::uint64_t count = 1;
  for (Index dim : shape) {
    if (dim < 0) return -1;
    const auto d = static_cast<std::uint64_t>(dim);
    if (d != 0 && count > limit / d) return -1;
    count *= d;
  }
  return static_cast<std::int64_t>(count);
}

void append_u64_le(std::string& out, std::uint64_t value) {
  for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>((value >> (8 * b)) & 0xffu));
}

std::uint64_t read_u64_le(const unsigned char* bytes) {
  std::uint64_t value = 0;
  for (int b = 7; b >= 0; --b) value = (value << 8) | bytes[b];
  return value;
}

/// Reads a non-negative integer field, or throws naming the file, tensor and field.
std::uint64_t unsigned_field(const nlohmann::json& value, const std::string& path, const std::string& tensor,
                             const std::string& field) {
  if (!value.is_number_unsigned())
    throw std::invalid_argument("safetensors file '" + path + "', tensor '" + tensor + "': expected " + field +
                                " to hold non-negative integers, found " + value.dump());
  return value.get<std::uint64_t>();
}

}  // namespace

std::string shape_string(const std::vector<Index>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string serialize_safetensors(const SafetensorsFile& file) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : file.tensors) {
    if (name == "__metadata__")
      throw std::invalid_argument("serialize_safetensors: expected tensor names other than '__metadata__', found it");
    const std::int64_t count = element_count(tensor.shape, UINT64_MAX / 4);
    if (count < 0 || static_cast<std::uint64_t>(count) != tensor.data.size())
      throw std::invalid_argument("serialize_safetensors: tensor '" + name + "' of shape " +
                                  shape_string(tensor.shape) + ": expected " +
                                  (count < 0 ? std::string("non-negative dimensions") : std::to_string(count) + " values") +
                                  ", found " + std::to_string(tensor.data.size()) + " values");
    const std::uint64_t end = offset + 4 * static_cast<std::uint64_t>(count);
    header[name] = {{"dtype", "F32"}, {"shape", tensor.shape}, {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  std::string bytes;
  bytes.reserve(8 + header_text.size() + offset);
  append_u64_le(bytes, header_text.size());
  bytes += header_text;
  for (const auto& [name, tensor] : file.tensors) {
    for (float value : tensor.data) {
      const auto bits = std::bit_cast<std::uint32_t>(value);
      for (int b = 0; b < 4; ++b) bytes.push_back(static_cast<char>((bits >> (8 * b)) & 0xffu));
    }
  }
  return bytes;
}

void save_safetensors(const std::string& path, const SafetensorsFile& file) {
  write_file_atomically(path, serialize_safetensors(file));
}

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("safetensors file '" + path + "': cannot open for reading");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error("safetensors file '" + path + "': read failed");
  return parse_safetensors(bytes, path);
}

std::optional<std::map<std::string, std::string>> read_safetensors_metadata(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  unsigned char length_bytes[8];
  if (!in.read(reinterpret_cast<char*>(length_bytes), 8)) return std::nullopt;
  const std::uint64_t header_length = read_u64_le(length_bytes);
  in.seekg(0, std::ios::end);
  const std::streamoff file_size = in.tellg();
  if (file_size < 8 || header_length > static_cast<std::uint64_t>(file_size - 8)) return std::nullopt;
  std::string header(static_cast<size_t>(header_length), '\0');
  in.seekg(8);
  if (!in.read(header.data(), static_cast<std::streamsize>(header_length))) return std::nullopt;
  const nlohmann::json json = nlohmann::json::parse(header, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return std::nullopt;
  std::map<std::string, std::string> metadata;
  const auto entry = json.find("__metadata__");
  if (entry == json.end()) return metadata;
  if (!entry->is_object()) return std::nullopt;
  for (const auto& [key, value] : entry->items()) {
    if (!value.is_string()) return std::nullopt;
    metadata[key] = value.get<std::string>();
  }
  return metadata;
}

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& path) {
  const std::string where = "safetensors file '" + path + "'";
  if (bytes.size() < 8)
    throw std::invalid_argument(where + ": expected at least 8 bytes (the header length), found " +
                                std::to_string(bytes.size()));
  const auto* raw = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::uint64_t header_length = read_u64_le(raw);
  if (header_length > bytes.size() - 8)
    throw std::invalid_argument(where + ": expected a header length of at most " +
                                std::to_string(bytes.size() - 8) + " bytes (the rest of the file), found " +
                                std::to_string(header_length));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_length));
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number beyond double
    throw std::invalid_argument(where + ": expected a JSON header, found a parse error: " + e.what());
  }
  if (!header.is_object())
    throw std::invalid_argument(where + ": expected a JSON object as header, found " + header.type_name());

  const std::uint64_t data_start = 8 + header_length;
  const std::uint64_t data_size = bytes.size() - data_start;
  SafetensorsFile file;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object())
        throw std::invalid_argument(where + ": expected __metadata__ to be an object, found " + entry.type_name());
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string())
          throw std::invalid_argument(where + ": expected string values in __metadata__, found " + value.dump() +
                                      " for key '" + key + "'");
        file.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string tensor_where = where + ", tensor '" + name + "'";
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      throw std::invalid_argument(tensor_where + ": expected an object with dtype, shape and data_offsets, found " +
                                  entry.dump());
    if (!entry["dtype"].is_string() || entry["dtype"].get<std::string>() != "F32")
      throw std::invalid_argument(tensor_where + ": expected dtype \"F32\" (the only one supported), found " +
                                  entry["dtype"].dump());
    const nlohmann::json& shape = entry["shape"];
    const nlohmann::json& offsets = entry["data_offsets"];
    if (!shape.is_array()) throw std::invalid_argument(tensor_where + ": expected shape to be an array, found " + shape.dump());
    if (!offsets.is_array() || offsets.size() != 2)
      throw std::invalid_argument(tensor_where + ": expected data_offsets to be [begin, end], found " + offsets.dump());
    Tensor tensor;
    for (const auto& dim : shape) {
      const std::uint64_t d = unsigned_field(dim, path, name, "shape");
      if (d > static_cast<std::uint64_t>(PTRDIFF_MAX))
        throw std::invalid_argument(tensor_where + ": expected dimensions below 2^63, found shape " + shape.dump());
      tensor.shape.push_back(static_cast<Index>(d));
    }
    const std::uint64_t begin = unsigned_field(offsets[0], path, name, "data_offsets");
    const std::uint64_t end = unsigned_field(offsets[1], path, name, "data_offsets");
    if (begin > end || end > data_size)
      throw std::invalid_argument(tensor_where + ": expected data_offsets within the " + std::to_string(data_size) +
                                  "-byte data area, found [" + std::to_string(begin) + ", " + std::to_string(end) +
                                  "] (file truncated?)");
    const std::int64_t count = element_count(tensor.shape, data_size / 4);
    if (count < 0 || 4 * static_cast<std::uint64_t>(count) != end - begin)
      throw std::invalid_argument(tensor_where + ": shape " + shape_string(tensor.shape) + " needs " +
                                  (count < 0 ? std::string("more bytes than the data area has")
                                             : std::to_string(4 * count) + " bytes") +
                                  ", found data_offsets spanning " + std::to_string(end - begin) + " bytes");
    tensor.data.resize(static_cast<std::size_t>(count));
    const unsigned char* p = raw + data_start + begin;
    for (std::size_t i = 0; i < tensor.data.size(); ++i, p += 4) {
      const std::uint32_t bits = std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
                                 (std::uint32_t{p[3]} << 24);
      tensor.data[i] = std::bit_cast<float>(bits);
    }
    file.tensors.emplace(name, std::move(tensor));
  }
  return file;
}

Tensor tensor_from_matrix(const MatrixF& matrix) {
  Tensor tensor;
  tensor.shape = {matrix.rows(), matrix.cols()};
  tensor.data.resize(static_cast<std::size_t>(matrix.size()));
  Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(tensor.data.data(), matrix.rows(),
                                                                                     matrix.cols()) = matrix;
  return tensor;
}

Tensor tensor_from_vector(const VectorF& vector) {
  Tensor tensor;
  tensor.shape = {vector.size()};
  tensor.data.assign(vector.data(), vector.data() + vector.size());
  return tensor;
}

MatrixF matrix_from_tensor(const Tensor& tensor, Index rows, Index cols, const std::string& name_for_errors) {
  const std::vector<Index> expected = {rows, cols};
  if (tensor.shape != expected || tensor.data.size() != static_cast<std::size_t>(rows * cols))
    throw std::invalid_argument("tensor '" + name_for_errors + "': expected shape " + shape_string(expected) +
                                ", found " + shape_string(tensor.shape) + " with " +
                                std::to_string(tensor.data.size()) + " values");
  return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(tensor.data.data(),
                                                                                                 rows, cols);
}

VectorF vector_from_tensor(const Tensor& tensor, Index n, const std::string& name_for_errors) {
  const std::vector<Index> expected = {n};
  if (tensor.shape != expected || tensor.data.size() != static_cast<std::size_t>(n))
    throw std::invalid_argument("tensor '" + name_for_errors + "': expected shape " + shape_string(expected) +
                                ", found " + shape_string(tensor.shape) + " with " +
                                std::to_string(tensor.data.size()) + " values");
  return Eigen::Map<const VectorF>(tensor.data.data(), n);
}

}  // namespace vigap
