#include "samplers/convergence_diagnostics.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/random.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

MatrixD autoregressive_chains(Index n, Index C, double phi, Rng& rng) {
  MatrixD x(n, C);
  const MatrixD e = standard_normal_matrix(n, C, rng);
  for (Index c = 0; c < C; ++c) {
    x(0, c) = e(0, c) / std::sqrt(1.0 - phi * phi);  // stationary start
    for (Index t = 1; t < n; ++t) x(t, c) = phi * x(t - 1, c) + e(t, c);
  }
  return x;
}

TEST(ConvergenceDiagnostics, IndependentDrawsHaveRHatOneAndFullEss) {
  Rng rng(testing::test_seed(5));
  const MatrixD x = standard_normal_matrix(1000, 4, rng);
  EXPECT_LT(std::abs(split_r_hat(x) - 1.0), 0.01);
  EXPECT_LT(rank_normalized_split_r_hat(x), 1.01);
  EXPECT_NEAR(split_effective_sample_size(x) / 4000.0, 1.0, 0.15);
  EXPECT_NEAR(bulk_effective_sample_size(x) / 4000.0, 1.0, 0.15);
}

TEST(ConvergenceDiagnostics, AutoregressiveEssMatchesTheory) {
  Rng rng(testing::test_seed(6));
  const double phi = 0.9;
  const MatrixD x = autoregressive_chains(5000, 4, phi, rng);
  const double expected = 20000.0 * (1.0 - phi) / (1.0 + phi);  // ≈ 1053
  EXPECT_NEAR(split_effective_sample_size(x) / expected, 1.0, 0.2);
  EXPECT_NEAR(bulk_effective_sample_size(x) / expected, 1.0, 0.2);
}

TEST(ConvergenceDiagnostics, ChainsStuckApartHaveLargeRHat) {
  Rng rng(testing::test_seed(7));
  MatrixD x = standard_normal_matrix(500, 4, rng);
  x.col(0).array() += 3.0;
  EXPECT_GT(split_r_hat(x), 1.1);
  EXPECT_GT(rank_normalized_split_r_hat(x), 1.1);
  // A chain with a different scale but the same location: caught by the folded R-hat.
  MatrixD y = standard_normal_matrix(500, 4, rng);
  y.col(1) *= 4.0;
  EXPECT_GT(rank_normalized_split_r_hat(y), 1.05);
}

TEST(ConvergenceDiagnostics, ReadsTheSamplerLayout) {
  Rng rng(testing::test_seed(8));
  const Index d = 2, B = 2, C = 3, n = 200;
  MatrixD draws = standard_normal_matrix(d, B * C * n, rng);
  // Datapoint 1, coordinate 0: chain 2 offset → only that entry's R-hat is large.
  draws.row(0).segment((1 * C + 2) * n, n).array() += 4.0;
  const ConvergenceDiagnostics diag = convergence_diagnostics(draws, B, C, n);
  EXPECT_GT(diag.r_hat(0, 1), 1.1);
  EXPECT_LT(diag.r_hat(1, 1), 1.05);
  EXPECT_LT(diag.r_hat(0, 0), 1.05);
  EXPECT_GT(diag.bulk_ess(1, 0), 300.0);
  EXPECT_THROW(convergence_diagnostics(draws, B, C, n + 1), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
