// core/io/exact_json: doubles survive a dump and a parse as the same bits, NaN and ±inf included.
#include "core/io/exact_json.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace vigap {
namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b)); }

TEST(ExactJson, EveryKindOfDoubleRoundTripsThroughText) {
  VectorD v(9);
  v << 0.1, -0.0, 1e-310, std::numeric_limits<double>::max(), std::numeric_limits<double>::min(),
      std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(), -123.456789012345678;
  const VectorD back = exact_vector(nlohmann::json::parse(exact_json(v).dump()), "v");
  ASSERT_EQ(back.size(), v.size());
  for (Index i = 0; i < v.size(); ++i) EXPECT_TRUE(same_bits(back(i), v(i))) << i;
}

TEST(ExactJson, AnythingElseIsAClearError) {
  try {
    exact_double(nlohmann::json("infinity"), "block 3 value");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("block 3 value"), std::string::npos) << e.what();
  }
  EXPECT_THROW(index_vector(nlohmann::json::array({1, 2.5}), "x"), std::invalid_argument);
  EXPECT_THROW(bool_vector(nlohmann::json::array({1}), "x"), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
