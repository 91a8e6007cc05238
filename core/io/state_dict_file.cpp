#include "core/io/state_dict_file.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "core/io/state_dict_pickle.hpp"
#include "core/io/zip_archive.hpp"

namespace vigap {

namespace {

std::uint64_t load_le(const unsigned char* p, int width) {
  std::uint64_t value = 0;
  for (int b = width - 1; b >= 0; --b) value = (value << 8) | p[b];
  return value;
}

/// IEEE binary16 -> float (exact).
float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t{h & 0x8000u} << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

/// Element `index` of a little-endian storage of `dtype`, as float.
float element_as_float(const unsigned char* storage, std::uint64_t index, const std::string& dtype, int width) {
  const std::uint64_t bits = load_le(storage + index * static_cast<std::uint64_t>(width), width);
  if (dtype == "float32") return std::bit_cast<float>(static_cast<std::uint32_t>(bits));
  if (dtype == "float64") return static_cast<float>(std::bit_cast<double>(bits));
  if (dtype == "float16") return half_to_float(static_cast<std::uint16_t>(bits));
  if (dtype == "bfloat16") return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
  if (dtype == "int64") return static_cast<float>(static_cast<std::int64_t>(bits));
  if (dtype == "int32") return static_cast<float>(static_cast<std::int32_t>(bits));
  if (dtype == "int16") return static_cast<float>(static_cast<std::int16_t>(bits));
  if (dtype == "int8") return static_cast<float>(static_cast<std::int8_t>(bits));
  return static_cast<float>(bits);  // uint8, bool
}

/// The tensor's elements in row-major order, from its storage by offset and strides.
Tensor gather(const PickledTensor& t, const std::string& storage) {
  const int width = dtype_size(t.dtype);
  const auto* base = reinterpret_cast<const unsigned char*>(storage.data());
  Tensor out;
  out.shape = t.size;
  std::uint64_t count = 1;
  for (Index n : t.size) count *= static_cast<std::uint64_t>(n);
  out.data.resize(static_cast<std::size_t>(count));
  if (count == 0) return out;
  std::vector<Index> position(t.size.size(), 0);
  std::uint64_t offset = static_cast<std::uint64_t>(t.storage_offset);
  for (std::uint64_t i = 0; i < count; ++i) {
    out.data[i] = element_as_float(base, offset, t.dtype, width);
    for (std::size_t k = t.size.size(); k-- > 0;) {  // odometer over the dimensions, last fastest
      offset += static_cast<std::uint64_t>(t.stride[k]);
      if (++position[k] < t.size[k]) break;
      offset -= static_cast<std::uint64_t>(t.stride[k] * t.size[k]);
      position[k] = 0;
    }
  }
  return out;
}

/// The archive's "<name>/" folder: the one entry named data.pkl at depth <= 1.
std::string archive_folder(const ZipArchive& archive, const std::string& source) {
  std::vector<std::string> folders;
  bool torchscript = false;
  for (const ZipEntry& e : archive.entries()) {
    const std::size_t slash = e.name.find('/');
    const std::string folder = slash == std::string::npos ? "" : e.name.substr(0, slash + 1);
    const std::string rest = e.name.substr(folder.size());
    if (rest == "data.pkl") folders.push_back(folder);
    if (rest == "constants.pkl" || rest.rfind("code/", 0) == 0) torchscript = true;
  }
  if (torchscript)
    throw std::invalid_argument("torch file '" + source +
                                "' is a TorchScript archive (torch.jit.save), not a state_dict: save "
                                "torch.save(model.state_dict(), path) and import that");
  if (folders.size() != 1)
    throw std::invalid_argument("torch file '" + source + "': expected one data.pkl entry in the zip archive (the "
                                "pickle torch.save writes), found " + std::to_string(folders.size()));
  return folders.front();
}

}  // namespace

std::string read_binary_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("file '" + path + "': cannot open for reading");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error("file '" + path + "': read failed");
  return bytes;
}

StateDict parse_torch_zip_state_dict(std::string_view bytes, const std::string& source) {
  const ZipArchive archive(bytes, source);
  const std::string folder = archive_folder(archive, source);
  if (const ZipEntry* order = archive.find(folder + "byteorder")) {
    const std::string text = archive.read(*order);
    if (text != "little")
      throw std::invalid_argument("torch file '" + source + "': its storages are '" + text +
                                  "'-endian, expected 'little' (re-save it on a little-endian machine)");
  }
  const ZipEntry* pickle = archive.find(folder + "data.pkl");
  const auto pickled = parse_state_dict_pickle(archive.read(*pickle), source + ":" + pickle->name);
  StateDict result;
  result.format = "torch.save zip archive";
  std::map<std::string, std::string> storages;
  std::uint64_t total = 0;
  const std::uint64_t limit = 4 * static_cast<std::uint64_t>(bytes.size()) + 4096;
  for (const auto& [name, t] : pickled) {
    auto it = storages.find(t.storage_key);
    if (it == storages.end()) {
      const ZipEntry* entry = archive.find(folder + "data/" + t.storage_key);
      if (entry == nullptr)
        throw std::invalid_argument("torch file '" + source + "', tensor '" + name + "': its storage entry '" + folder +
                                    "data/" + t.storage_key + "' is missing from the archive");
      it = storages.emplace(t.storage_key, archive.read(*entry)).first;
    }
    const std::uint64_t needed = static_cast<std::uint64_t>(t.storage_numel) * dtype_size(t.dtype);
    if (it->second.size() < needed)
      throw std::invalid_argument("torch file '" + source + "', tensor '" + name + "': its storage '" + t.storage_key +
                                  "' holds " + std::to_string(it->second.size()) + " bytes, expected " +
                                  std::to_string(needed) + " (" + std::to_string(t.storage_numel) + " " + t.dtype +
                                  " elements)");
    std::uint64_t count = 1;
    for (Index n : t.size) count = n == 0 ? 0 : (count > limit / static_cast<std::uint64_t>(n) ? limit + 1 : count * n);
    total += count;
    if (total > limit)
      throw std::invalid_argument("torch file '" + source + "': its tensors hold more than " + std::to_string(limit) +
                                  " elements, 4 times the file's size (views expanded beyond their storages?)");
    result.tensors[name] = gather(t, it->second);
    result.order.push_back(name);
    if (t.dtype != "float32") result.conversions.push_back(name + ": " + t.dtype + " -> float32");
  }
  return result;
}

StateDict parse_state_dict_file(std::string_view bytes, const std::string& source) {
  if (looks_like_zip(bytes)) return parse_torch_zip_state_dict(bytes, source);
  if (!bytes.empty() && static_cast<unsigned char>(bytes[0]) == 0x80)
    throw std::invalid_argument(
        "file '" + source + "' is a legacy torch.save file (a bare pickle, written before PyTorch 1.6 or with "
        "_use_new_zipfile_serialization=False), which vigap does not read: re-save it with a newer PyTorch, "
        "torch.save(torch.load(path), new_path, _use_new_zipfile_serialization=True)");
  if (bytes.size() >= 9 && bytes[8] == '{') {
    SafetensorsFile file = parse_safetensors(bytes, source);
    StateDict result;
    result.format = "safetensors";
    for (auto& [name, tensor] : file.tensors) {
      result.order.push_back(name);
      result.tensors.emplace(name, std::move(tensor));
    }
    return result;
  }
  throw std::invalid_argument("file '" + source +
                              "' is neither a torch.save zip archive (it would start with \"PK\") nor a safetensors "
                              "file (an 8-byte header length, then '{'): expected torch.save(model.state_dict(), path) "
                              "or safetensors.torch.save_file(model.state_dict(), path)");
}

StateDict load_state_dict_file(const std::string& path) { return parse_state_dict_file(read_binary_file(path), path); }

}  // namespace vigap
