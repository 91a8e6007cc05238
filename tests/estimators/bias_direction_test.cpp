#include "estimators/bias_direction.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "support/expect_throw_message.hpp"

namespace vigap {
namespace {

using B = BiasDirection;

TEST(BiasDirection, TextRoundTripsAndUnknownTextIsRejected) {
  for (B d : {B::exact, B::unbiased, B::lower_bound, B::stochastic_lower_bound, B::stochastic_upper_bound,
              B::biased_low, B::biased_high, B::indeterminate})
    EXPECT_EQ(parse_bias_direction(to_string(d)), d) << to_string(d);
  EXPECT_EQ(to_string(B::stochastic_lower_bound), "stochastic lower bound");
  testing::expect_throw_message<std::invalid_argument>([] { parse_bias_direction("upward"); },
                                                       {"'upward'", "stochastic lower bound"});
}

TEST(BiasDirection, OfADifferenceFollowsTheSignsOfBothTerms) {
  EXPECT_EQ(bias_of_difference(B::exact, B::exact), B::exact);
  EXPECT_EQ(bias_of_difference(B::exact, B::unbiased), B::unbiased);
  // log p(x) - ELBO: AIS (stochastic lower bound) underestimates the KL, reverse AIS overestimates it.
  EXPECT_EQ(bias_of_difference(B::stochastic_lower_bound, B::unbiased), B::biased_low);
  EXPECT_EQ(bias_of_difference(B::stochastic_upper_bound, B::exact), B::biased_high);
  // Subtracting a low term errs high, and the reverse.
  EXPECT_EQ(bias_of_difference(B::exact, B::lower_bound), B::biased_high);
  EXPECT_EQ(bias_of_difference(B::unbiased, B::biased_high), B::biased_low);
  // Low minus high is certainly low; two terms that err the same way can cancel.
  EXPECT_EQ(bias_of_difference(B::lower_bound, B::stochastic_upper_bound), B::biased_low);
  EXPECT_EQ(bias_of_difference(B::lower_bound, B::stochastic_lower_bound), B::indeterminate);
  EXPECT_EQ(bias_of_difference(B::indeterminate, B::exact), B::indeterminate);
}

}  // namespace
}  // namespace vigap
