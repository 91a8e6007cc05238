#include "core/variational/start_or_best_selection.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace vigap {
namespace {

TEST(StartOrBestSelection, KeepsTheBestIterateOnlyWhereItIsStrictlyBetterOnTheCommonDraws) {
  MatrixD start(4, 3), best(4, 3);
  start << 1, 2, 0, 2, 2, 0, 3, 2, 0, 4, 2, 0;
  best = start;
  best.col(0).array() += 0.5;                                         // better: kept
  best.col(1).array() -= 0.25;                                        // worse: the start
  best.col(2) << 1, -1, 1, -1;                                        // a tie (mean 0): the start
  const StartOrBestSelection s = select_start_or_best(start, best);
  EXPECT_EQ(s.samples, 4);
  EXPECT_FALSE(s.kept_start[0]);
  EXPECT_TRUE(s.kept_start[1]);
  EXPECT_TRUE(s.kept_start[2]);
  EXPECT_EQ(s.kept_start_count(), 2);
  EXPECT_DOUBLE_EQ(s.start_elbo(0), 2.5);
  EXPECT_DOUBLE_EQ(s.best_elbo(0), 3.0);
  // Paired differences: constant in columns 0 and 1 (no noise), ±1 in column 2 (sd 2/sqrt(3)).
  EXPECT_DOUBLE_EQ(s.difference_standard_error(0), 0.0);
  EXPECT_NEAR(s.difference_standard_error(2), std::sqrt(4.0 / 3.0 / 4.0), 1e-12);
  const auto j = s.to_json();
  EXPECT_EQ(j["datapoints_kept_start"].get<Index>(), 2);
}

TEST(StartOrBestSelection, ANonFiniteIterateLosesAndANonFiniteStartIsReplaced) {
  MatrixD start = MatrixD::Zero(3, 2), best = MatrixD::Zero(3, 2);
  best(1, 0) = std::numeric_limits<double>::quiet_NaN();
  start(0, 1) = -std::numeric_limits<double>::infinity();
  const StartOrBestSelection s = select_start_or_best(start, best);
  EXPECT_TRUE(s.kept_start[0]);
  EXPECT_FALSE(s.kept_start[1]);
}

TEST(StartOrBestSelection, RejectsMismatchedShapesAndASingleDraw) {
  EXPECT_THROW(select_start_or_best(MatrixD::Zero(3, 2), MatrixD::Zero(3, 1)), std::invalid_argument);
  EXPECT_THROW(select_start_or_best(MatrixD::Zero(1, 2), MatrixD::Zero(1, 2)), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
