// Regression tests of the findings of fuzz/mnist_json_fuzzer.cpp: each input is the fuzzer's
// crashing bytes, written out here, and must now be rejected with a clear std::invalid_argument.
#include <gtest/gtest.h>

#include <string>

#include "core/data/mnist_json.hpp"
#include "support/expect_throw_message.hpp"

namespace vigap {
namespace {

using testing::expect_throw_message;

// A number beyond double's range made nlohmann::json throw out_of_range (406), which escaped as
// an exception other than std::invalid_argument.
TEST(MnistJsonFuzzFindings, NumberBeyondDoubleIsRejectedNamingTheFile) {
  expect_throw_message<std::invalid_argument>([] { parse_mnist_digit_json("9E710", "digits/3.json"); },
                                              {"mnist JSON file 'digits/3.json'", "number overflow", "9E710"});
  expect_throw_message<std::invalid_argument>(
      [] { parse_mnist_digit_json("{\"data\":[0,1e400]}", "digits/3.json"); }, {"digits/3.json", "1e400"});
}

TEST(MnistJsonFuzzFindings, ParsesWhatTheFileReaderParses) {
  std::string data = "{\"data\":[";
  for (int i = 0; i < 784; ++i) data += (i ? "," : "") + std::string(i == 5 ? "0.25" : "1");
  const std::vector<float> values = parse_mnist_digit_json(data + "]}", "in memory");
  ASSERT_EQ(values.size(), 784u);
  EXPECT_EQ(values[5], 0.25f);
  EXPECT_EQ(values[6], 1.0f);
}

}  // namespace
}  // namespace vigap
