#include "estimators/quadrature_grid.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "support/expect_throw_message.hpp"

namespace vigap {
namespace {

TEST(QuadratureGrid, WeightsOfBothRulesSumToTheBoxVolume) {
  for (Index d = 1; d <= 3; ++d) {
    const VectorD lower = VectorD::LinSpaced(d, -1.0, -2.0);
    const VectorD upper = VectorD::LinSpaced(d, 2.0, 0.5);
    const QuadratureGrid grid = trapezoid_grid(lower, upper, 9);
    const double volume = (upper - lower).prod();
    EXPECT_EQ(grid.size(), static_cast<Index>(std::pow(9, d)));
    EXPECT_NEAR(grid.log_weights.array().exp().sum(), volume, 1e-12 * volume);
    EXPECT_NEAR(grid.half_rule_log_weights.array().exp().sum(), volume, 1e-12 * volume);
    ASSERT_EQ(grid.quarter_rule_log_weights.size(), grid.size());  // 9 - 1 is a multiple of 4
    EXPECT_NEAR(grid.quarter_rule_log_weights.array().exp().sum(), volume, 1e-12 * volume);
    EXPECT_EQ((grid.quarter_rule_log_weights.array() > -1e300).count(), static_cast<Index>(std::pow(3, d)));
    EXPECT_EQ(trapezoid_grid(lower, upper, 7).quarter_rule_log_weights.size(), 0);  // 6 is not
    EXPECT_DOUBLE_EQ(grid.nodes.row(0).minCoeff(), lower(0));
    EXPECT_DOUBLE_EQ(grid.nodes.row(d - 1).maxCoeff(), upper(d - 1));
    // Faces: n^d - (n - 2)^d nodes.
    EXPECT_EQ(grid.on_boundary.sum(), std::pow(9, d) - std::pow(7, d));
  }
}

TEST(QuadratureGrid, CellVolumesAreTheWeights) {
  const QuadratureGrid grid = trapezoid_grid(2, 1.5, 5);
  VectorD lo, hi;
  for (Index g = 0; g < grid.size(); ++g) {
    grid.cell(g, lo, hi);
    EXPECT_NEAR(std::log((hi - lo).prod()), grid.log_weights(g), 1e-12);
  }
}

TEST(QuadratureGrid, GaussianIntegralIsSpectrallyAccurate) {
  // ∫ N(z; 0, I) over [-8, 8]^d with spacing 0.5: error ~ exp(-2π²/0.25), far below rounding;
  // the half rule (spacing 1) is off by ~ 2 exp(-2π²) = 5e-9 per dimension.
  for (Index d = 1; d <= 3; ++d) {
    const QuadratureGrid grid = trapezoid_grid(d, 8.0, 33);
    const VectorD log_density =
        (-0.5 * grid.nodes.colwise().squaredNorm().array() - 0.5 * d * std::log(2.0 * std::numbers::pi)).transpose();
    const double full = (grid.log_weights + log_density).array().exp().sum();
    const double half = (grid.half_rule_log_weights + log_density).array().exp().sum();
    EXPECT_NEAR(full, 1.0, 1e-13);
    EXPECT_GT(std::abs(half - 1.0), 1e-10);
    EXPECT_LT(std::abs(half - 1.0), 1e-7);
  }
}

TEST(QuadratureGrid, RejectsBadArguments) {
  testing::expect_throw_message<std::invalid_argument>([] { trapezoid_grid(2, 1.0, 8); }, {"odd", "found 8"});
  testing::expect_throw_message<std::invalid_argument>([] { trapezoid_grid(4, 1.0, 5); }, {"dimension", "found 4"});
  testing::expect_throw_message<std::invalid_argument>([] { trapezoid_grid(2, -1.0, 5); }, {"half_width"});
  testing::expect_throw_message<std::invalid_argument>(
      [] { trapezoid_grid(VectorD::Ones(2), VectorD::Zero(2), 5); }, {"lower < upper"});
}

}  // namespace
}  // namespace vigap
