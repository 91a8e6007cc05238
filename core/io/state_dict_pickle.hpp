#pragma once
// A restricted reader of the pickle in a torch.save archive (<archive>/data.pkl) holding a
// state_dict: an OrderedDict from names to tensors whose values live in the archive's storages.
//
// It is a pickle virtual machine that knows exactly the opcodes and globals torch.save (protocol 2)
// emits for a state_dict, and builds data only: PROTO, EMPTY_DICT, EMPTY_TUPLE, MARK, BINUNICODE,
// GLOBAL (only collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter
// and the torch.<Type>Storage classes), BINPERSID of ('storage', <Storage class>, key, location,
// numel), TUPLE, TUPLE1-3, BININT, BININT1, BININT2, LONG1, NEWTRUE, NEWFALSE, NONE, REDUCE, BUILD
// (the state_dict's _metadata, ignored), SETITEM, SETITEMS, BINPUT, LONG_BINPUT, BINGET, LONG_BINGET
// and STOP. Any other opcode or global is refused with its offset: nothing pickled is ever run.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/types.hpp"

namespace vigap {

/// One tensor of a state_dict: which storage holds it and where (as torch's
/// _rebuild_tensor_v2(storage, storage_offset, size, stride, ...) receives it).
struct PickledTensor {
  std::string storage_key;     ///< the storage's entry in the archive: <archive>/data/<storage_key>
  std::string dtype;           ///< "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"
  std::string location;        ///< where it was saved from: "cpu", "cuda:0", ...
  std::int64_t storage_numel = 0;   ///< elements in the storage
  std::int64_t storage_offset = 0;  ///< elements before the tensor's first
  std::vector<Index> size, stride;  ///< the tensor's shape and strides, in elements
};

/// Bytes per element of `dtype` (one of PickledTensor::dtype's names).
int dtype_size(const std::string& dtype);

/// The state_dict in the pickle `bytes` (`source` names it in errors), in the pickle's order.
/// Throws std::invalid_argument naming `source`, the offending opcode (its name and byte value)
/// and its offset, for an opcode or global outside the list above, a truncated pickle, a stack
/// underflow, arguments of the wrong kinds, a value that is not a dict of tensors, or a tensor
/// whose sizes, strides or offset reach beyond its storage or are negative.
std::vector<std::pair<std::string, PickledTensor>> parse_state_dict_pickle(std::string_view bytes,
                                                                           const std::string& source);

}  // namespace vigap
