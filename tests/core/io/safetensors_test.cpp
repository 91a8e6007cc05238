#include "core/io/safetensors.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>

#include "support/expect_throw_message.hpp"
#include "support/temporary_directory.hpp"

namespace vigap {
namespace {

using testing::expect_throw_message;
using testing::TemporaryDirectory;

/// The bytes of a safetensors file with the given header text and data area.
std::string file_bytes(const std::string& header, const std::string& data) {
  std::string bytes;
  for (int b = 0; b < 8; ++b) bytes.push_back(static_cast<char>((std::uint64_t{header.size()} >> (8 * b)) & 0xffu));
  return bytes + header + data;
}

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

TEST(Safetensors, RoundTripsValuesShapesAndMetadata) {
  TemporaryDirectory dir;
  SafetensorsFile file;
  file.tensors["decoder.weight"] = {{2, 3}, {1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, -7.0f}};
  file.tensors["decoder.bias"] = {{4}, {0.1f, 0.2f, 0.3f, 0.4f}};
  file.tensors["scale"] = {{}, {2.5f}};
  file.tensors["empty"] = {{0, 3}, {}};
  file.metadata["format"] = "pt";
  file.metadata["vigap_model"] = "mlp-decoder \"quoted\"";
  save_safetensors(dir.file("model.safetensors"), file);
  const SafetensorsFile loaded = load_safetensors(dir.file("model.safetensors"));
  EXPECT_EQ(loaded.metadata, file.metadata);
  ASSERT_EQ(loaded.tensors.size(), file.tensors.size());
  for (const auto& [name, tensor] : file.tensors) {
    ASSERT_TRUE(loaded.tensors.count(name)) << name;
    EXPECT_EQ(loaded.tensors.at(name).shape, tensor.shape) << name;
    EXPECT_EQ(loaded.tensors.at(name).data, tensor.data) << name;
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"model.safetensors"});
}

TEST(Safetensors, SerializesTheDocumentedLayout) {
  SafetensorsFile file;
  file.tensors["a"] = {{2}, {1.0f, -2.0f}};
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  EXPECT_EQ(serialize_safetensors(file), file_bytes(padded, std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8)));
  EXPECT_EQ(padded.size() % 8, 0u);
}

TEST(Safetensors, SerializeRejectsDataNotMatchingShape) {
  SafetensorsFile file;
  file.tensors["w"] = {{2, 2}, {1.0f, 2.0f, 3.0f}};
  expect_throw_message<std::invalid_argument>([&] { serialize_safetensors(file); }, {"'w'", "[2, 2]", "expected 4 values", "found 3"});
}

TEST(Safetensors, RejectsMissingFile) {
  TemporaryDirectory dir;
  expect_throw_message<std::runtime_error>([&] { load_safetensors(dir.file("absent.safetensors")); },
                                           {dir.file("absent.safetensors")});
}

TEST(Safetensors, RejectsFileShorterThanEightBytes) {
  TemporaryDirectory dir;
  write_bytes(dir.file("short"), "abc");
  expect_throw_message<std::invalid_argument>([&] { load_safetensors(dir.file("short")); },
                                              {dir.file("short"), "at least 8 bytes", "found 3"});
}

TEST(Safetensors, RejectsHeaderLengthBeyondFile) {
  TemporaryDirectory dir;
  std::string bytes = file_bytes("{}      ", "");
  bytes[0] = 100;
  write_bytes(dir.file("long-header"), bytes);
  expect_throw_message<std::invalid_argument>([&] { load_safetensors(dir.file("long-header")); },
                                              {dir.file("long-header"), "at most 8 bytes", "found 100"});
}

TEST(Safetensors, RejectsHeaderThatIsNotJson) {
  TemporaryDirectory dir;
  write_bytes(dir.file("bad-json"), file_bytes("{\"a\": [1, ", ""));
  expect_throw_message<std::invalid_argument>([&] { load_safetensors(dir.file("bad-json")); },
                                              {dir.file("bad-json"), "JSON header", "parse error"});
}

TEST(Safetensors, RejectsTruncatedData) {
  TemporaryDirectory dir;
  SafetensorsFile file;
  file.tensors["w"] = {{3}, {1.0f, 2.0f, 3.0f}};
  const std::string bytes = serialize_safetensors(file);
  write_bytes(dir.file("cut"), bytes.substr(0, bytes.size() - 4));
  expect_throw_message<std::invalid_argument>([&] { load_safetensors(dir.file("cut")); },
                                              {dir.file("cut"), "tensor 'w'", "8-byte data area", "[0, 12]"});
}

TEST(Safetensors, RejectsOtherDtypes) {
  TemporaryDirectory dir;
  write_bytes(dir.file("f64"), file_bytes(R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\0')));
  expect_throw_message<std::invalid_argument>([&] { load_safetensors(dir.file("f64")); },
                                              {dir.file("f64"), "tensor 'w'", "\"F32\"", "\"F64\""});
}

TEST(Safetensors, RejectsEntriesMissingFields) {
  TemporaryDirectory dir;
  write_bytes(dir.file("no-shape"), file_bytes(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", std::string(4, '\0')));
  expect_throw_message<std::invalid_argument>([&] { load_safetensors(dir.file("no-shape")); },
                                              {dir.file("no-shape"), "tensor 'w'", "dtype, shape and data_offsets"});
}

TEST(Safetensors, RejectsOffsetsNotMatchingShape) {
  TemporaryDirectory dir;
  write_bytes(dir.file("mismatch"), file_bytes(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", std::string(16, '\0')));
  expect_throw_message<std::invalid_argument>([&] { load_safetensors(dir.file("mismatch")); },
                                              {dir.file("mismatch"), "tensor 'w'", "needs 16 bytes", "12 bytes"});
}

TEST(Safetensors, TensorFromMatrixIsRowMajorAndRoundTrips) {
  MatrixF m(2, 3);
  m << 1, 2, 3, 4, 5, 6;
  const Tensor t = tensor_from_matrix(m);
  EXPECT_EQ(t.shape, (std::vector<Index>{2, 3}));
  EXPECT_EQ(t.data, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(matrix_from_tensor(t, 2, 3, "m"), m);
  expect_throw_message<std::invalid_argument>([&] { matrix_from_tensor(t, 3, 2, "encoder.w"); },
                                              {"'encoder.w'", "expected shape [3, 2]", "found [2, 3]"});
}

TEST(Safetensors, TensorFromVectorRoundTrips) {
  VectorF v(3);
  v << 0.5f, -1.0f, 2.0f;
  const Tensor t = tensor_from_vector(v);
  EXPECT_EQ(t.shape, (std::vector<Index>{3}));
  EXPECT_EQ(vector_from_tensor(t, 3, "b"), v);
  expect_throw_message<std::invalid_argument>([&] { vector_from_tensor(t, 4, "encoder.b"); },
                                              {"'encoder.b'", "expected shape [4]", "found [3]"});
}

}  // namespace
}  // namespace vigap
