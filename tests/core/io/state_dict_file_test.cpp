// Reading state_dicts from torch.save archives and safetensors files written by PyTorch at test
// time: strided views, storage offsets, dtype conversions, any archive folder name, and every
// file that is not such a state_dict.
#include "core/io/state_dict_file.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "core/io/zip_archive.hpp"
#include "support/torch_fixtures.hpp"

namespace vigap {
namespace {

std::string error_of(const std::string& bytes, const std::string& source = "f.pt") {
  try {
    parse_state_dict_file(bytes, source);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

/// Each tensor of `state` equals reference[name] (shape, and values rounded to float32).
void expect_tensors(const StateDict& state, const nlohmann::json& reference) {
  ASSERT_EQ(state.tensors.size(), reference.size());
  for (const auto& [name, expected] : reference.items()) {
    ASSERT_TRUE(state.tensors.count(name)) << name;
    const Tensor& t = state.tensors.at(name);
    EXPECT_EQ(t.shape, expected["shape"].get<std::vector<Index>>()) << name;
    const auto values = expected["values"].get<std::vector<double>>();
    ASSERT_EQ(t.data.size(), values.size()) << name;
    for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(t.data[i], static_cast<float>(values[i])) << name << "[" << i << "]";
  }
}

TEST(StateDictFile, GathersStridedTensorsAndViewsAtStorageOffsets) {
  const std::string dir = testing::torch_fixture_directory();
  ASSERT_FALSE(dir.empty());
  const StateDict state = load_state_dict_file(dir + "/strided.pt");
  EXPECT_EQ(state.format, "torch.save zip archive");
  EXPECT_EQ(state.order, (std::vector<std::string>{"transposed", "every_other", "offset_row", "offset_block", "scalar"}));
  EXPECT_TRUE(state.conversions.empty());
  expect_tensors(state, testing::torch_fixture_reference()["tensors"]["strided"]);
  // The same archive, deflated by Python's zipfile under the folder "renamed folder/".
  expect_tensors(load_state_dict_file(dir + "/deflated.pt"), testing::torch_fixture_reference()["tensors"]["strided"]);
}

TEST(StateDictFile, ConvertsOtherDtypesToFloat32AndSaysSo) {
  const std::string dir = testing::torch_fixture_directory();
  ASSERT_FALSE(dir.empty());
  const StateDict state = load_state_dict_file(dir + "/dtypes.pt");
  expect_tensors(state, testing::torch_fixture_reference()["tensors"]["dtypes"]);
  EXPECT_EQ(state.conversions, (std::vector<std::string>{"f64: float64 -> float32", "f16: float16 -> float32",
                                                          "bf16: bfloat16 -> float32", "i64: int64 -> float32"}));
}

TEST(StateDictFile, ReadsTheSameTensorsFromTorchSaveAndSafetensors) {
  const std::string dir = testing::torch_fixture_directory();
  ASSERT_FALSE(dir.empty());
  const StateDict a = load_state_dict_file(dir + "/split_elu_bernoulli.pt");
  const StateDict b = load_state_dict_file(dir + "/split_elu_bernoulli.safetensors");
  EXPECT_EQ(b.format, "safetensors");
  ASSERT_EQ(a.tensors.size(), 12u);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    ASSERT_TRUE(b.tensors.count(name)) << name;
    EXPECT_EQ(t.shape, b.tensors.at(name).shape) << name;
    EXPECT_EQ(t.data, b.tensors.at(name).data) << name;
  }
}

TEST(StateDictFile, RefusesFilesThatAreNotStateDicts) {
  const std::string dir = testing::torch_fixture_directory();
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(error_of(read_binary_file(dir + "/legacy.pt")),
            "file 'f.pt' is a legacy torch.save file (a bare pickle, written before PyTorch 1.6 or with "
            "_use_new_zipfile_serialization=False), which vigap does not read: re-save it with a newer PyTorch, "
            "torch.save(torch.load(path), new_path, _use_new_zipfile_serialization=True)");
  EXPECT_EQ(error_of(read_binary_file(dir + "/torchscript.pt")),
            "torch file 'f.pt' is a TorchScript archive (torch.jit.save), not a state_dict: save "
            "torch.save(model.state_dict(), path) and import that");
  EXPECT_EQ(error_of(read_binary_file(dir + "/nested.pt")).substr(0, 25), "state_dict pickle 'f.pt:n");
  EXPECT_NE(error_of(read_binary_file(dir + "/nested.pt")).find("the state_dict's entry 'model' is a dict, expected a tensor"),
            std::string::npos);
  const std::string neither =
      "file 'f.pt' is neither a torch.save zip archive (it would start with \"PK\") nor a safetensors file (an 8-byte "
      "header length, then '{'): expected torch.save(model.state_dict(), path) or "
      "safetensors.torch.save_file(model.state_dict(), path)";
  EXPECT_EQ(error_of("{\"not\": \"a state_dict\"}"), neither);
  EXPECT_EQ(error_of(""), neither);
  EXPECT_THROW(load_state_dict_file(dir + "/does-not-exist.pt"), std::runtime_error);
}

TEST(StateDictFile, RefusesArchivesWithoutTheirPartsOrBigEndian) {
  const std::string dir = testing::torch_fixture_directory();
  ASSERT_FALSE(dir.empty());
  const std::string saved = read_binary_file(dir + "/strided.pt");
  const ZipArchive archive(saved, "strided.pt");
  const std::string pickle = archive.read(*archive.find("strided/data.pkl"));
  const std::string storage = archive.read(*archive.find("strided/data/0"));
  // Any top-level folder name is read.
  EXPECT_EQ(parse_state_dict_file(testing::stored_zip({{"any name/data.pkl", pickle}, {"any name/data/0", storage}}), "f.pt")
                .tensors.size(), 5u);
  EXPECT_EQ(error_of(testing::stored_zip({{"m/data.pkl", pickle}})),
            "torch file 'f.pt', tensor 'transposed': its storage entry 'm/data/0' is missing from the archive");
  EXPECT_EQ(error_of(testing::stored_zip({{"m/data.pkl", pickle}, {"m/data/0", storage.substr(8)}})),
            "torch file 'f.pt', tensor 'transposed': its storage '0' holds 232 bytes, expected 240 (60 float32 elements)");
  EXPECT_EQ(error_of(testing::stored_zip({{"m/data.pkl", pickle}, {"m/data/0", storage}, {"m/byteorder", "big"}})),
            "torch file 'f.pt': its storages are 'big'-endian, expected 'little' (re-save it on a little-endian machine)");
  EXPECT_EQ(error_of(testing::stored_zip({{"a/data.pkl", pickle}, {"b/data.pkl", pickle}})),
            "torch file 'f.pt': expected one data.pkl entry in the zip archive (the pickle torch.save writes), found 2");
  EXPECT_EQ(error_of(testing::stored_zip({{"m/data.pkl", pickle.substr(0, 40)}, {"m/data/0", storage}})),
            "state_dict pickle 'f.pt:m/data.pkl', offset 34: BINUNICODE of 10 bytes is truncated");
}

}  // namespace
}  // namespace vigap
