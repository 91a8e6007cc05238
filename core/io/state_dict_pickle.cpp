#include "core/io/state_dict_pickle.hpp"

#include <deque>
#include <map>
#include <stdexcept>

namespace vigap {

namespace {

/// A value the machine builds. Values live in the machine's arena and refer to each other by
/// pointer, so that memo entries alias as in Python and cycles cannot leak.
struct Value {
  enum class Kind { none, boolean, integer, string, tuple, dict, global, storage, tensor, mark };
  Kind kind = Kind::none;
  std::int64_t integer = 0;              ///< boolean or integer
  std::string text;                      ///< string, or global "module.name"
  std::vector<const Value*> items;       ///< tuple
  std::vector<std::pair<const Value*, const Value*>> entries;  ///< dict, in insertion order
  PickledTensor tensor;                  ///< storage (key, dtype, location, numel) or tensor
};

const char* kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::none: return "None";
    case Value::Kind::boolean: return "a bool";
    case Value::Kind::integer: return "an int";
    case Value::Kind::string: return "a str";
    case Value::Kind::tuple: return "a tuple";
    case Value::Kind::dict: return "a dict";
    case Value::Kind::global: return "a global";
    case Value::Kind::storage: return "a storage";
    case Value::Kind::tensor: return "a tensor";
    case Value::Kind::mark: return "a MARK";
  }
  return "?";
}

const std::map<std::string, std::string>& storage_dtypes() {
  static const std::map<std::string, std::string> dtypes = {
      {"torch.FloatStorage", "float32"}, {"torch.DoubleStorage", "float64"}, {"torch.HalfStorage", "float16"},
      {"torch.BFloat16Storage", "bfloat16"}, {"torch.LongStorage", "int64"}, {"torch.IntStorage", "int32"},
      {"torch.ShortStorage", "int16"}, {"torch.CharStorage", "int8"}, {"torch.ByteStorage", "uint8"},
      {"torch.BoolStorage", "bool"}};
  return dtypes;
}

constexpr const char* kOrderedDict = "collections.OrderedDict";
constexpr const char* kRebuildTensor = "torch._utils._rebuild_tensor_v2";
constexpr const char* kRebuildParameter = "torch._utils._rebuild_parameter";

std::string hex_byte(unsigned char c) {
  static const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[c >> 4] + digits[c & 0xf];
}

class Machine {
 public:
  Machine(std::string_view bytes, const std::string& source) : bytes_(bytes), source_(source) {}

  const Value& run() {
    while (true) {
      if (position_ >= bytes_.size()) fail("the pickle ends before its STOP opcode (truncated?)");
      opcode_offset_ = position_;
      const auto op = static_cast<unsigned char>(bytes_[position_++]);
      if (op == '.') break;
      if (!structural(op) && !scalar(op) && !memo(op) && !call(op))
        fail("opcode " + hex_byte(op) + (op >= 0x20 && op < 0x7f ? std::string(" ('") + char(op) + "')" : "") +
             " is not one a state_dict pickle uses (vigap reads only the opcodes torch.save writes for a "
             "state_dict, and never runs pickled code)");
    }
    if (stack_.size() != 1) fail("STOP with " + std::to_string(stack_.size()) + " values on the stack, expected 1");
    return *stack_.back();
  }

  [[noreturn]] void fail(const std::string& message) const {
    throw std::invalid_argument("state_dict pickle '" + source_ + "', offset " + std::to_string(opcode_offset_) +
                                ": " + message);
  }

 private:
  Value& make(Value::Kind kind) {
    arena_.emplace_back();
    arena_.back().kind = kind;
    return arena_.back();
  }
  void push(const Value& v) { stack_.push_back(&v); }
  const Value& pop() {
    if (stack_.empty() || stack_.back()->kind == Value::Kind::mark) fail("stack underflow");
    const Value* v = stack_.back();
    stack_.pop_back();
    return *v;
  }
  /// Pops everything above the topmost MARK, and the MARK.
  std::vector<const Value*> pop_to_mark() {
    std::size_t m = stack_.size();
    while (m > 0 && stack_[m - 1]->kind != Value::Kind::mark) --m;
    if (m == 0) fail("no MARK on the stack");
    std::vector<const Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m - 1);
    return items;
  }
  std::uint64_t read_le(int width) {
    if (bytes_.size() - position_ < static_cast<std::size_t>(width)) fail("the opcode's argument is truncated");
    std::uint64_t value = 0;
    for (int b = width - 1; b >= 0; --b) value = (value << 8) | static_cast<unsigned char>(bytes_[position_ + b]);
    position_ += static_cast<std::size_t>(width);
    return value;
  }
  std::string read_line() {
    const std::size_t end = bytes_.find('\n', position_);
    if (end == std::string_view::npos) fail("GLOBAL's argument has no newline (truncated?)");
    std::string line(bytes_.substr(position_, end - position_));
    position_ = end + 1;
    return line;
  }
  Value& mutable_dict(const Value& v, const char* op) {
    if (v.kind != Value::Kind::dict) fail(std::string(op) + " on " + kind_name(v.kind) + ", expected a dict");
    return const_cast<Value&>(v);  // every value is in arena_, which the machine owns
  }

  bool structural(unsigned char op) {
    switch (op) {
      case 0x80: {  // PROTO
        const auto protocol = read_le(1);
        if (protocol > 2) fail("pickle protocol " + std::to_string(protocol) + ", expected 2 (what torch.save writes)");
        return true;
      }
      case '}': push(make(Value::Kind::dict)); return true;   // EMPTY_DICT
      case ')': push(make(Value::Kind::tuple)); return true;  // EMPTY_TUPLE
      case '(': push(make(Value::Kind::mark)); return true;   // MARK
      case 't': case 0x85: case 0x86: case 0x87: {  // TUPLE, TUPLE1, TUPLE2, TUPLE3
        Value& t = make(Value::Kind::tuple);
        if (op == 't') {
          for (const Value* v : pop_to_mark()) t.items.push_back(v);
        } else {
          t.items.resize(op - 0x84);
          for (std::size_t i = t.items.size(); i-- > 0;) t.items[i] = &pop();
        }
        push(t);
        return true;
      }
      case 's': {  // SETITEM
        const Value& value = pop();
        const Value& key = pop();
        if (stack_.empty()) fail("stack underflow");
        mutable_dict(*stack_.back(), "SETITEM").entries.emplace_back(&key, &value);
        return true;
      }
      case 'u': {  // SETITEMS
        const std::vector<const Value*> items = pop_to_mark();
        if (items.size() % 2 != 0) fail("SETITEMS with an odd number of values");
        if (stack_.empty()) fail("stack underflow");
        Value& dict = mutable_dict(*stack_.back(), "SETITEMS");
        for (std::size_t i = 0; i < items.size(); i += 2) dict.entries.emplace_back(items[i], items[i + 1]);
        return true;
      }
      default: return false;
    }
  }

  bool scalar(unsigned char op) {
    switch (op) {
      case 'X': {  // BINUNICODE
        const std::uint64_t length = read_le(4);
        if (bytes_.size() - position_ < length) fail("BINUNICODE of " + std::to_string(length) + " bytes is truncated");
        Value& s = make(Value::Kind::string);
        s.text = std::string(bytes_.substr(position_, length));
        position_ += length;
        push(s);
        return true;
      }
      case 'J': push(integer(static_cast<std::int32_t>(read_le(4)))); return true;  // BININT
      case 'K': push(integer(static_cast<std::int64_t>(read_le(1)))); return true;  // BININT1
      case 'M': push(integer(static_cast<std::int64_t>(read_le(2)))); return true;  // BININT2
      case 0x8a: {  // LONG1
        const auto n = static_cast<int>(read_le(1));
        if (n > 8) fail("LONG1 of " + std::to_string(n) + " bytes, expected at most 8");
        std::uint64_t bits = n == 0 ? 0 : read_le(n);
        if (n > 0 && n < 8 && (bits >> (8 * n - 1)) & 1) bits |= ~std::uint64_t{0} << (8 * n);  // sign-extend
        push(integer(static_cast<std::int64_t>(bits)));
        return true;
      }
      case 0x88: case 0x89: {  // NEWTRUE, NEWFALSE
        Value& b = make(Value::Kind::boolean);
        b.integer = op == 0x88;
        push(b);
        return true;
      }
      case 'N': push(make(Value::Kind::none)); return true;  // NONE
      case 'c': {  // GLOBAL
        const std::string module = read_line();
        const std::string name = read_line();
        const std::string full = module + "." + name;
        if (full != kOrderedDict && full != kRebuildTensor && full != kRebuildParameter && !storage_dtypes().count(full))
          fail("GLOBAL '" + full + "' is not one a state_dict uses (accepted: " + kOrderedDict + ", " + kRebuildTensor +
               ", " + kRebuildParameter + " and the torch.<Type>Storage classes)");
        Value& g = make(Value::Kind::global);
        g.text = full;
        push(g);
        return true;
      }
      default: return false;
    }
  }

  const Value& integer(std::int64_t value) {
    Value& v = make(Value::Kind::integer);
    v.integer = value;
    return v;
  }

  bool memo(unsigned char op) {
    switch (op) {
      case 'q': case 'r': {  // BINPUT, LONG_BINPUT
        const std::uint64_t index = read_le(op == 'q' ? 1 : 4);
        if (stack_.empty() || stack_.back()->kind == Value::Kind::mark) fail("BINPUT with nothing to store");
        memo_[index] = stack_.back();
        return true;
      }
      case 'h': case 'j': {  // BINGET, LONG_BINGET
        const std::uint64_t index = read_le(op == 'h' ? 1 : 4);
        const auto it = memo_.find(index);
        if (it == memo_.end()) fail("BINGET of memo entry " + std::to_string(index) + ", which was never stored");
        stack_.push_back(it->second);
        return true;
      }
      default: return false;
    }
  }

  bool call(unsigned char op) {
    switch (op) {
      case 'Q': {  // BINPERSID
        push(storage(pop()));
        return true;
      }
      case 'R': {  // REDUCE
        const Value& args = pop();
        const Value& callable = pop();
        if (callable.kind != Value::Kind::global || args.kind != Value::Kind::tuple)
          fail(std::string("REDUCE of ") + kind_name(callable.kind) + " with " + kind_name(args.kind) +
               ", expected a global and a tuple");
        push(reduce(callable.text, args.items));
        return true;
      }
      case 'b': {  // BUILD: the state_dict's _metadata (or a tensor's empty state): ignored
        const Value& state = pop();
        if (stack_.empty()) fail("stack underflow");
        const Value::Kind target = stack_.back()->kind;
        if ((target != Value::Kind::dict && target != Value::Kind::tensor) ||
            (state.kind != Value::Kind::dict && state.kind != Value::Kind::none && state.kind != Value::Kind::tuple))
          fail(std::string("BUILD of ") + kind_name(target) + " with " + kind_name(state.kind) +
               ", expected a dict (the state_dict's _metadata)");
        return true;
      }
      default: return false;
    }
  }

  /// ('storage', torch.<Type>Storage, key, location, numel) -> a storage.
  const Value& storage(const Value& pid) {
    const auto& f = pid.items;
    if (pid.kind != Value::Kind::tuple || f.size() != 5 || f[0]->kind != Value::Kind::string ||
        f[0]->text != "storage" || f[1]->kind != Value::Kind::global || !storage_dtypes().count(f[1]->text) ||
        f[2]->kind != Value::Kind::string || f[3]->kind != Value::Kind::string || f[4]->kind != Value::Kind::integer ||
        f[4]->integer < 0)
      fail("BINPERSID of a persistent id other than ('storage', torch.<Type>Storage, key, location, numel >= 0)");
    Value& s = make(Value::Kind::storage);
    s.tensor.dtype = storage_dtypes().at(f[1]->text);
    s.tensor.storage_key = f[2]->text;
    s.tensor.location = f[3]->text;
    s.tensor.storage_numel = f[4]->integer;
    return s;
  }

  const Value& reduce(const std::string& callable, const std::vector<const Value*>& args) {
    if (callable == kOrderedDict) {
      if (!args.empty()) fail("OrderedDict called with arguments, expected none");
      return make(Value::Kind::dict);
    }
    if (callable == kRebuildParameter) {
      if (args.size() != 3 || args[0]->kind != Value::Kind::tensor)
        fail("_rebuild_parameter called with other than (tensor, requires_grad, hooks)");
      return *args[0];
    }
    if (callable == kRebuildTensor) return rebuild_tensor(args);
    fail("REDUCE of '" + callable + "', which is not callable in a state_dict (a storage class is only a type tag)");
  }

  std::vector<Index> int_tuple(const Value& v, const char* what) {
    if (v.kind != Value::Kind::tuple) fail(std::string("_rebuild_tensor_v2's ") + what + " is " + kind_name(v.kind) + ", expected a tuple");
    std::vector<Index> out;
    for (const Value* item : v.items) {
      if (item->kind != Value::Kind::integer || item->integer < 0)
        fail(std::string("_rebuild_tensor_v2's ") + what + " holds other than non-negative ints");
      out.push_back(static_cast<Index>(item->integer));
    }
    return out;
  }

  /// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata]).
  const Value& rebuild_tensor(const std::vector<const Value*>& args) {
    if ((args.size() != 6 && args.size() != 7) || args[0]->kind != Value::Kind::storage ||
        args[1]->kind != Value::Kind::integer || args[1]->integer < 0)
      fail("_rebuild_tensor_v2 called with other than (storage, storage_offset >= 0, size, stride, requires_grad, "
           "hooks[, metadata])");
    Value& t = make(Value::Kind::tensor);
    t.tensor = args[0]->tensor;
    t.tensor.storage_offset = args[1]->integer;
    t.tensor.size = int_tuple(*args[2], "size");
    t.tensor.stride = int_tuple(*args[3], "stride");
    if (t.tensor.size.size() != t.tensor.stride.size())
      fail("_rebuild_tensor_v2 with " + std::to_string(t.tensor.size.size()) + " sizes and " +
           std::to_string(t.tensor.stride.size()) + " strides");
    // The last element reached, storage_offset + Σ (size_k - 1) stride_k, must lie in the storage.
    bool empty = false;
    std::uint64_t last = static_cast<std::uint64_t>(t.tensor.storage_offset);
    constexpr std::uint64_t kLimit = std::uint64_t{1} << 62;
    for (std::size_t k = 0; k < t.tensor.size.size(); ++k) {
      const auto n = static_cast<std::uint64_t>(t.tensor.size[k]), s = static_cast<std::uint64_t>(t.tensor.stride[k]);
      if (n == 0) empty = true;
      if (n > kLimit || s > kLimit || (n > 1 && s > (kLimit - last) / (n - 1)))
        fail("_rebuild_tensor_v2 with sizes and strides beyond 2^62 elements");
      if (n > 0) last += (n - 1) * s;
    }
    if (!empty && last >= static_cast<std::uint64_t>(t.tensor.storage_numel))
      fail("a tensor of storage '" + t.tensor.storage_key + "' reaches element " + std::to_string(last) +
           ", beyond the storage's " + std::to_string(t.tensor.storage_numel) + " elements");
    return t;
  }

  std::string_view bytes_;
  const std::string& source_;
  std::size_t position_ = 0, opcode_offset_ = 0;
  std::deque<Value> arena_;
  std::vector<const Value*> stack_;
  std::map<std::uint64_t, const Value*> memo_;
};

}  // namespace

int dtype_size(const std::string& dtype) {
  if (dtype == "float64" || dtype == "int64") return 8;
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "float16" || dtype == "bfloat16" || dtype == "int16") return 2;
  if (dtype == "int8" || dtype == "uint8" || dtype == "bool") return 1;
  throw std::invalid_argument("unknown dtype '" + dtype + "'");
}

std::vector<std::pair<std::string, PickledTensor>> parse_state_dict_pickle(std::string_view bytes,
                                                                           const std::string& source) {
  Machine machine(bytes, source);
  const Value& top = machine.run();
  if (top.kind != Value::Kind::dict)
    machine.fail(std::string("the pickle holds ") + kind_name(top.kind) +
                 ", expected a dict of tensors (save model.state_dict())");
  std::vector<std::pair<std::string, PickledTensor>> out;
  std::map<std::string, bool> seen;
  for (const auto& [key, value] : top.entries) {
    if (key->kind != Value::Kind::string)
      machine.fail(std::string("the state_dict has a key that is ") + kind_name(key->kind) + ", expected a str");
    if (value->kind != Value::Kind::tensor)
      machine.fail("the state_dict's entry '" + key->text + "' is " + kind_name(value->kind) +
                   ", expected a tensor (save model.state_dict() itself, not a dict holding it)");
    if (seen[key->text]) machine.fail("the state_dict has the name '" + key->text + "' twice");
    seen[key->text] = true;
    out.emplace_back(key->text, value->tensor);
  }
  return out;
}

}  // namespace vigap
