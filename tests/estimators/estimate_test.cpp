#include "estimators/estimate.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace vigap {
namespace {

Estimate make_estimate(const std::string& name, VectorD values, VectorD errors, Index samples) {
  Estimate e;
  e.estimator = name;
  e.per_datapoint = std::move(values);
  e.per_datapoint_standard_error = std::move(errors);
  e.samples_per_datapoint = samples;
  e.summarize();
  return e;
}

TEST(DifferenceOfEstimates, SubtractsPerDatapointAndCombinesIndependentErrors) {
  const Estimate a = make_estimate("a", (VectorD(3) << -10.0, -12.0, -11.0).finished(),
                                   (VectorD(3) << 0.3, 0.0, 0.4).finished(), 100);
  const Estimate b = make_estimate("b", (VectorD(3) << -11.0, -12.5, -13.0).finished(),
                                   (VectorD(3) << 0.4, 0.1, 0.3).finished(), 5000);
  const Estimate d = difference_of_estimates(a, b, "gap", BiasDirection::unbiased);
  EXPECT_EQ(d.estimator, "gap");
  EXPECT_EQ(d.bias_direction, BiasDirection::unbiased);
  EXPECT_DOUBLE_EQ(d.per_datapoint(0), 1.0);
  EXPECT_DOUBLE_EQ(d.per_datapoint(1), 0.5);
  EXPECT_DOUBLE_EQ(d.per_datapoint(2), 2.0);
  EXPECT_DOUBLE_EQ(d.per_datapoint_standard_error(0), 0.5);
  EXPECT_DOUBLE_EQ(d.per_datapoint_standard_error(1), 0.1);
  EXPECT_DOUBLE_EQ(d.per_datapoint_standard_error(2), 0.5);
  EXPECT_DOUBLE_EQ(d.value, 3.5 / 3.0);
  EXPECT_DOUBLE_EQ(d.monte_carlo_standard_error, std::sqrt(0.25 + 0.01 + 0.25) / 3.0);
  EXPECT_EQ(d.samples_per_datapoint, 5000);
}

TEST(DifferenceOfEstimates, AnEstimateWithoutErrorsCountsAsExact) {
  const Estimate a = make_estimate("a", (VectorD(2) << 1.0, 2.0).finished(), (VectorD(2) << 0.3, 0.4).finished(), 1);
  Estimate exact = make_estimate("exact", (VectorD(2) << 0.5, 0.5).finished(), VectorD::Zero(2), 1);
  exact.per_datapoint_standard_error.resize(0);  // as an exact estimate may leave it
  const Estimate d = difference_of_estimates(a, exact, "d", BiasDirection::exact);
  EXPECT_DOUBLE_EQ(d.per_datapoint_standard_error(0), 0.3);
  EXPECT_DOUBLE_EQ(d.per_datapoint_standard_error(1), 0.4);
}

TEST(DifferenceOfEstimates, RejectsDifferentDatapointCounts) {
  const Estimate a = make_estimate("a", VectorD::Zero(2), VectorD::Zero(2), 1);
  const Estimate b = make_estimate("b", VectorD::Zero(3), VectorD::Zero(3), 1);
  EXPECT_THROW(difference_of_estimates(a, b, "d", BiasDirection::exact), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
