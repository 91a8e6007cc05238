// The README's example (section "Layout"), compiled and run: a gap table in ten lines of C++.
#include <gtest/gtest.h>

#include <iostream>

// --- README example begins ---
#include "analyses/gap_table.hpp"
#include "core/models/linear_gaussian_model.hpp"

int print_gap_table() {
  using namespace vigap;
  Rng rng(1);
  const LinearGaussianModel model = LinearGaussianModel::random(20, 2, 0.5, 0.3, rng);  // D = 20, d = 2
  const MatrixF X = model.sample(10, rng).data;                                         // 10 datapoints
  const DiagonalGaussian q(MatrixD::Zero(2, 10), MatrixD::Zero(2, 10), "N(0, I)");      // an "encoder"
  GapTableOptions options;  // ffg, full and flow rows; log p(x) and ELBOs by quadrature at d <= 3
  options.flow.max_steps = 2000;
  const GapTable table = compute_gap_table(model, q, "N(0, I)", q, X, options, RandomStreams::consecutive(1, 0, 10));
  std::cout << table.to_markdown();
  return 0;
}
// --- README example ends ---

TEST(ReadmeExample, PrintsAGapTable) {
  testing::internal::CaptureStdout();
  EXPECT_EQ(print_gap_table(), 0);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("| q*_full (full-covariance Gaussian)"), std::string::npos) << out;
  EXPECT_NE(out.find("identity check flow"), std::string::npos) << out;
}
