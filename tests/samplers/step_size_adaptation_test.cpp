#include "samplers/step_size_adaptation.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace vigap {
namespace {

TEST(DualAveragingStepSize, ConvergesToTheStepWithTheTargetAcceptance) {
  // A synthetic acceptance curve α(ε) = exp(-ε²): δ = 0.8 is reached at ε* = sqrt(-log 0.8).
  DualAveragingOptions options;
  options.target_acceptance = 0.8;
  DualAveragingStepSize adaptation(VectorD::LinSpaced(3, 0.01, 5.0), options);
  for (int t = 0; t < 2000; ++t) {
    const VectorD eps = adaptation.step_sizes();
    adaptation.update((-eps.array().square()).exp().matrix());
  }
  const double expected = std::sqrt(-std::log(0.8));
  for (Index c = 0; c < 3; ++c) EXPECT_NEAR(adaptation.final_step_sizes()(c), expected, 0.02 * expected);
}

TEST(DualAveragingStepSize, RestartAndValidation) {
  DualAveragingOptions options;
  DualAveragingStepSize adaptation(VectorD::Constant(2, 0.1), options);
  adaptation.update(VectorD::Constant(2, 1.0));
  EXPECT_GT(adaptation.step_sizes()(0), 0.1);  // accepted everything: grow
  adaptation.restart(VectorD::Constant(2, 0.3));
  EXPECT_EQ(adaptation.iterations(), 0);
  EXPECT_DOUBLE_EQ(adaptation.final_step_sizes()(1), 0.3);
  EXPECT_THROW(adaptation.update(VectorD::Constant(3, 0.5)), std::invalid_argument);
  EXPECT_THROW(adaptation.restart(VectorD::Constant(2, 0.0)), std::invalid_argument);
  DualAveragingOptions bad;
  bad.kappa = 0.4;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
  bad = DualAveragingOptions{};
  bad.target_acceptance = 1.0;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
