#include "samplers/mass_matrix_adaptation.hpp"

#include <gtest/gtest.h>

#include "core/random.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

TEST(StanWarmupWindows, MatchStanForTheDefaultWarmup) {
  const std::vector<WarmupWindow> w = stan_warmup_windows(1000, WarmupWindowOptions{});
  const std::vector<std::pair<Index, Index>> expected = {{75, 100}, {100, 150}, {150, 250}, {250, 450}, {450, 950}};
  ASSERT_EQ(w.size(), expected.size());
  for (size_t i = 0; i < w.size(); ++i) {
    EXPECT_EQ(w[i].begin, expected[i].first);
    EXPECT_EQ(w[i].end, expected[i].second);
  }
}

TEST(StanWarmupWindows, ShortWarmupUsesFractionsAndTinyWarmupNone) {
  const std::vector<WarmupWindow> w = stan_warmup_windows(100, WarmupWindowOptions{});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].begin, 15);
  EXPECT_EQ(w[0].end, 90);
  EXPECT_TRUE(stan_warmup_windows(19, WarmupWindowOptions{}).empty());
  WarmupWindowOptions bad;
  bad.base_window = 0;
  EXPECT_THROW(stan_warmup_windows(100, bad), std::invalid_argument);
}

TEST(DiagonalMassMatrixAdaptation, PoolsChainsAndRegularizesLikeStan) {
  Rng rng(testing::test_seed(3));
  const Index d = 2, B = 2, C = 3, n = 400;
  DiagonalMassMatrixAdaptation adaptation(d, B * C, C);
  std::vector<std::vector<double>> pooled(static_cast<size_t>(B * d));
  for (Index t = 0; t < n; ++t) {
    MatrixD Z = standard_normal_matrix(d, B * C, rng);
    Z.row(1) *= 3.0;                  // variance 9 in coordinate 1
    Z.middleCols(C, C).array() += 5;  // datapoint 1 shifted: the mean must not leak into the variance
    adaptation.add_draws(Z);
    for (Index b = 0; b < B; ++b)
      for (Index c = 0; c < C; ++c)
        for (Index j = 0; j < d; ++j) pooled[static_cast<size_t>(b * d + j)].push_back(Z(j, b * C + c));
  }
  EXPECT_EQ(adaptation.draws_per_group(), n * C);
  const MatrixD inverse_mass = adaptation.regularized_inverse_mass();
  for (Index b = 0; b < B; ++b)
    for (Index j = 0; j < d; ++j) {
      const std::vector<double>& v = pooled[static_cast<size_t>(b * d + j)];
      const double N = static_cast<double>(v.size());
      double mean = 0, ss = 0;
      for (double x : v) mean += x / N;
      for (double x : v) ss += (x - mean) * (x - mean);
      const double expected = N / (N + 5.0) * ss / (N - 1.0) + 1e-3 * 5.0 / (N + 5.0);
      for (Index c = 0; c < C; ++c) EXPECT_NEAR(inverse_mass(j, b * C + c), expected, 1e-10);
    }
  adaptation.reset();
  EXPECT_EQ(adaptation.draws_per_group(), 0);
  EXPECT_THROW(adaptation.add_draws(MatrixD::Zero(d, 5)), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
