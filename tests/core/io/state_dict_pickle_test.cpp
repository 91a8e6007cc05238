// The restricted state_dict pickle reader on pickles written out opcode by opcode: what torch.save
// writes is read, and every other opcode, global or shape is refused with its offset.
#include "core/io/state_dict_pickle.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

using namespace std::string_literals;

namespace vigap {
namespace {

std::string unicode(const std::string& s) {
  std::string out = "X";
  for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((s.size() >> (8 * b)) & 0xff));
  return out + s;
}
std::string int1(int v) { return std::string("K") + static_cast<char>(v); }

const std::string kHeader = "\x80\x02" "ccollections\nOrderedDict\nq\x00)R"s;
const std::string kHooks = "h\x00)R"s;  // BINGET OrderedDict, EMPTY_TUPLE, REDUCE

/// The pickle of OrderedDict({name: tensor of `size`/`stride` at `offset` in storage "0" of numel elements}).
std::string one_tensor(const std::string& name, const std::string& size, const std::string& stride, int offset,
                       int numel) {
  return kHeader + "(" + unicode(name) + "ctorch._utils\n_rebuild_tensor_v2\n(" + "(" + unicode("storage") +
         "ctorch\nFloatStorage\n" + unicode("0") + unicode("cpu") + int1(numel) + "tQ" + int1(offset) + size + stride +
         "\x89" + kHooks + "tR" + "u.";
}

std::string error_of(const std::string& bytes) {
  try {
    parse_state_dict_pickle(bytes, "p.pkl");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(StateDictPickle, ReadsWhatTorchSaveWritesForOneTensor) {
  const auto tensors = parse_state_dict_pickle(
      one_tensor("fc1.weight", int1(2) + int1(3) + "\x86", int1(3) + int1(1) + "\x86", 0, 6), "p.pkl");
  ASSERT_EQ(tensors.size(), 1u);
  EXPECT_EQ(tensors[0].first, "fc1.weight");
  const PickledTensor& t = tensors[0].second;
  EXPECT_EQ(t.storage_key, "0");
  EXPECT_EQ(t.dtype, "float32");
  EXPECT_EQ(t.location, "cpu");
  EXPECT_EQ(t.storage_numel, 6);
  EXPECT_EQ(t.size, (std::vector<Index>{2, 3}));
  EXPECT_EQ(t.stride, (std::vector<Index>{3, 1}));
}

TEST(StateDictPickle, ReadsAnEmptyStateDictWithMetadataBuild) {
  // OrderedDict(), then BUILD with {'_metadata': {}} as state_dict() pickles.
  EXPECT_TRUE(parse_state_dict_pickle(kHeader + "}" + unicode("_metadata") + "}sb.", "p.pkl").empty());
  EXPECT_TRUE(parse_state_dict_pickle("\x80\x02}.", "p.pkl").empty());  // a plain dict
}

TEST(StateDictPickle, RefusesGlobalsOtherThanTheStateDictOnes) {
  EXPECT_EQ(error_of("\x80\x02" "cos\nsystem\n" + unicode("ls") + "\x85R."),
            "state_dict pickle 'p.pkl', offset 2: GLOBAL 'os.system' is not one a state_dict uses (accepted: "
            "collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and the "
            "torch.<Type>Storage classes)");
  EXPECT_EQ(error_of("\x80\x02" "ctorch\nFloatStorage\n)R."),
            "state_dict pickle 'p.pkl', offset 23: REDUCE of 'torch.FloatStorage', which is not callable in a "
            "state_dict (a storage class is only a type tag)");
}

TEST(StateDictPickle, RefusesOpcodesOutsideTheListWithTheirOffset) {
  EXPECT_EQ(error_of("\x80\x02}G"),
            "state_dict pickle 'p.pkl', offset 3: opcode 0x47 ('G') is not one a state_dict pickle uses (vigap reads "
            "only the opcodes torch.save writes for a state_dict, and never runs pickled code)");
  EXPECT_EQ(error_of(std::string("\x80\x02}\x95", 4)),
            "state_dict pickle 'p.pkl', offset 3: opcode 0x95 is not one a state_dict pickle uses (vigap reads only "
            "the opcodes torch.save writes for a state_dict, and never runs pickled code)");
  EXPECT_EQ(error_of("\x80\x04}."), "state_dict pickle 'p.pkl', offset 0: pickle protocol 4, expected 2 (what torch.save writes)");
}

TEST(StateDictPickle, RefusesCorruptPickles) {
  EXPECT_EQ(error_of("\x80\x02}"), "state_dict pickle 'p.pkl', offset 2: the pickle ends before its STOP opcode (truncated?)");
  EXPECT_EQ(error_of("\x80\x02s."), "state_dict pickle 'p.pkl', offset 2: stack underflow");
  EXPECT_EQ(error_of("\x80\x02h\x07."), "state_dict pickle 'p.pkl', offset 2: BINGET of memo entry 7, which was never stored");
  EXPECT_EQ(error_of("\x80\x02X\x10\x00\x00\x00" "ab."s), "state_dict pickle 'p.pkl', offset 2: BINUNICODE of 16 bytes is truncated");
  EXPECT_EQ(error_of("\x80\x02N."), "state_dict pickle 'p.pkl', offset 3: the pickle holds None, expected a dict of tensors (save model.state_dict())");
  EXPECT_EQ(error_of("\x80\x02}" + unicode("epoch") + int1(3) + "s."),
            "state_dict pickle 'p.pkl', offset 16: the state_dict's entry 'epoch' is an int, expected a tensor (save "
            "model.state_dict() itself, not a dict holding it)");
  EXPECT_EQ(error_of("\x80\x02}}."), "state_dict pickle 'p.pkl', offset 4: STOP with 2 values on the stack, expected 1");
}

TEST(StateDictPickle, RefusesTensorsReachingBeyondTheirStorage) {
  EXPECT_EQ(error_of(one_tensor("w", int1(2) + int1(3) + "\x86", int1(3) + int1(1) + "\x86", 0, 5)),
            "state_dict pickle 'p.pkl', offset 141: a tensor of storage '0' reaches element 5, beyond the storage's 5 "
            "elements");
  EXPECT_EQ(error_of(one_tensor("w", int1(4) + "\x85", int1(1) + "\x85", 3, 6)),
            "state_dict pickle 'p.pkl', offset 137: a tensor of storage '0' reaches element 6, beyond the storage's 6 "
            "elements");
  EXPECT_EQ(error_of(one_tensor("w", int1(2) + "\x85", int1(1) + int1(1) + "\x86", 0, 6)),
            "state_dict pickle 'p.pkl', offset 139: _rebuild_tensor_v2 with 1 sizes and 2 strides");
  // A zero-size tensor reaches nothing, whatever its offset.
  EXPECT_NO_THROW(parse_state_dict_pickle(one_tensor("w", int1(0) + "\x85", int1(1) + "\x85", 9, 0), "p.pkl"));
}

}  // namespace
}  // namespace vigap
