#include "core/nn/columnwise_adam.hpp"

#include <gtest/gtest.h>

#include "support/expect_throw_message.hpp"

namespace vigap {
namespace {

TEST(ColumnwiseAdam, EachColumnFollowsAdamAloneAndInactiveColumnsStayPut) {
  // Minimize ½‖θ_b - c_b‖² per column; column 1 is frozen after 3 steps.
  const MatrixD target = (MatrixD(2, 3) << 1.0, -2.0, 0.5, 3.0, 0.0, -1.0).finished();
  MatrixD theta = MatrixD::Zero(2, 3);
  ColumnwiseAdam adam(2, 3);
  VectorF reference = VectorF::Zero(2);  // float Adam on column 0 alone
  Adam single(2);
  MatrixD frozen;
  for (int t = 0; t < 10; ++t) {
    const std::vector<Index> active = t < 3 ? std::vector<Index>{0, 1, 2} : std::vector<Index>{2, 0};
    MatrixD gradient(2, static_cast<Index>(active.size()));
    for (size_t k = 0; k < active.size(); ++k)
      gradient.col(static_cast<Index>(k)) = theta.col(active[k]) - target.col(active[k]);
    adam.step(theta, gradient, active, 0.1);
    const VectorF g = (reference.cast<double>() - target.col(0)).cast<float>();
    single.step(reference, g, 0.1);
    if (t == 2) frozen = theta.col(1);
  }
  EXPECT_EQ(adam.steps_taken(0), 10);
  EXPECT_EQ(adam.steps_taken(1), 3);
  EXPECT_EQ(theta.col(1), frozen);
  EXPECT_LT((theta.col(0) - reference.cast<double>()).cwiseAbs().maxCoeff(), 1e-5);
  testing::expect_throw_message<std::invalid_argument>(
      [&] { adam.step(theta, MatrixD::Zero(2, 2), {0}, 0.1); }, {"gradient 2 x 1", "2 x 2"});
  testing::expect_throw_message<std::invalid_argument>(
      [&] { adam.step(theta, MatrixD::Zero(2, 1), {5}, 0.1); }, {"active column 5"});
}

}  // namespace
}  // namespace vigap
