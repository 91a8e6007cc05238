#pragma once
// Reading a PyTorch state_dict from a file: a torch.save archive (the zip format PyTorch >= 1.6
// writes) or a safetensors file (what safetensors.torch.save_file writes).
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/safetensors.hpp"

namespace vigap {

/// A state_dict's tensors, converted to float32, and what the conversion did.
struct StateDict {
  std::map<std::string, Tensor> tensors;  ///< name -> shape and float32 values in row-major order
  std::vector<std::string> order;         ///< the names in the file's order
  std::string format;                     ///< "torch.save zip archive" or "safetensors"
  /// One line per tensor that was not float32 and was converted, e.g. "fc1.weight: float64 -> float32".
  std::vector<std::string> conversions;
};

/// The state_dict of a torch.save zip archive `bytes` (`source` names it in errors): the archive's
/// one <name>/data.pkl read by parse_state_dict_pickle, each tensor gathered from its storage
/// <name>/data/<key> by its storage offset and strides (contiguous or not) into row-major order,
/// and converted to float32 (exact from float16, bfloat16 and integers up to 2^24; float64 rounded
/// to nearest). Storages must be little-endian (<name>/byteorder, when present, says "little").
/// Throws std::invalid_argument naming `source` and the entry or tensor when the archive is not
/// such a file: a TorchScript archive, no or several data.pkl, a missing or short storage, or a
/// big-endian one.
StateDict parse_torch_zip_state_dict(std::string_view bytes, const std::string& source);

/// Tells the format of `bytes` by its first bytes and parses it: a zip archive
/// (parse_torch_zip_state_dict), a safetensors file (an 8-byte length, then a JSON header that
/// starts with '{'; parse_safetensors, float32 only), or neither. A legacy torch.save file (before
/// PyTorch 1.6, or saved with _use_new_zipfile_serialization=False: a bare pickle) is refused with
/// the way to re-save it. Throws std::invalid_argument naming `source`.
StateDict parse_state_dict_file(std::string_view bytes, const std::string& source);

/// Reads `path` and parses it (parse_state_dict_file). Throws std::runtime_error if it cannot be
/// read, std::invalid_argument if it is not a state_dict file.
StateDict load_state_dict_file(const std::string& path);

/// The file's bytes (std::runtime_error naming `path` if it cannot be read).
std::string read_binary_file(const std::string& path);

}  // namespace vigap
