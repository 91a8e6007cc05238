// Regression tests of fuzzer findings that reach the safetensors reader: each input is written out
// here as bytes and must now be rejected with a clear std::invalid_argument.
#include <gtest/gtest.h>

#include <string>

#include "core/io/safetensors.hpp"
#include "support/expect_throw_message.hpp"

namespace vigap {
namespace {

using testing::expect_throw_message;

// fuzz/mnist_json_fuzzer.cpp found that a JSON number beyond double ("9E710") made nlohmann::json
// throw out_of_range (406), which escaped as an exception other than std::invalid_argument; the
// safetensors header is parsed the same way. An 8-byte header "9E710   " (length 8, little-endian).
TEST(SafetensorsFuzzFindings, HeaderNumberBeyondDoubleIsRejectedNamingTheFile) {
  const std::string bytes("\x08\x00\x00\x00\x00\x00\x00\x00" "9E710   ", 16);
  expect_throw_message<std::invalid_argument>([&] { parse_safetensors(bytes, "model.safetensors"); },
                                              {"safetensors file 'model.safetensors'", "number overflow", "9E710"});
}

TEST(SafetensorsFuzzFindings, ParsesFromMemoryWhatSerializeWrites) {
  SafetensorsFile file;
  file.tensors["w"] = {{2}, {1.5f, -2.0f}};
  file.metadata["format"] = "pt";
  const SafetensorsFile parsed = parse_safetensors(serialize_safetensors(file), "in memory");
  EXPECT_EQ(parsed.metadata, file.metadata);
  ASSERT_EQ(parsed.tensors.count("w"), 1u);
  EXPECT_EQ(parsed.tensors.at("w").data, file.tensors.at("w").data);
}

}  // namespace
}  // namespace vigap
