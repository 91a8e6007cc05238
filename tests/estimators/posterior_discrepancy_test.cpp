// Binned total variation and whitened moment errors against known answers: a distribution
// against itself (0), all mass in one bin or outside the box (1 - the exact mass there), iid
// draws whose TV shrinks like 1/sqrt(N) toward the binomial noise floor, and moment errors of
// shifted and scaled Gaussians in closed form.
#include "estimators/posterior_discrepancy.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/random.hpp"
#include "support/expect_throw_message.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

constexpr double kPi = 3.14159265358979323846;

/// N(0, Σ), Σ = [[1, 0.5], [0.5, 1]], on a 101 x 101 grid over [-5, 5]², bins of 5 x 5 cells.
struct GaussianOnGrid {
  GridBins2d bins;
  MatrixD covariance = (MatrixD(2, 2) << 1.0, 0.5, 0.5, 1.0).finished();
  VectorD cell_mass;
  GaussianOnGrid() {
    bins.x = VectorD::LinSpaced(101, -5.0, 5.0);
    bins.y = VectorD::LinSpaced(101, -5.0, 5.0);
    bins.cells_per_bin = 5;
    const MatrixD points = bins.points();
    const MatrixD precision = covariance.inverse();
    const double normalizer = 1.0 / (2.0 * kPi * std::sqrt(covariance.determinant()));
    cell_mass.resize(points.cols());
    for (Index g = 0; g < points.cols(); ++g)
      cell_mass(g) = normalizer * std::exp(-0.5 * points.col(g).dot(precision * points.col(g))) * bins.cell_area();
  }
  MatrixD draws(Index n, Rng& rng) const {
    const MatrixD L = covariance.llt().matrixL();
    return L * standard_normal_matrix(2, n, rng);
  }
  /// Σ over bins of P_bin, and the expected TV of n iid draws, ½ Σ_bins E|p̂ - P| with the
  /// normal approximation E|p̂ - P| ≈ sqrt(2 P (1 - P) / (π n)).
  double expected_iid_total_variation(Index n) const {
    const Index nb = (101 + 4) / 5;
    MatrixD binned = MatrixD::Zero(nb, nb);
    for (Index j = 0; j < 101; ++j)
      for (Index i = 0; i < 101; ++i) binned(i / 5, j / 5) += cell_mass(i + 101 * j);
    double sum = 0.0;
    for (Index k = 0; k < binned.size(); ++k) {
      const double p = binned.data()[k];
      sum += std::sqrt(2.0 * p * (1.0 - p) / (kPi * static_cast<double>(n)));
    }
    return 0.5 * sum;
  }
};

TEST(PosteriorDiscrepancy, DistributionAgainstItselfHasZeroTotalVariation) {
  const GaussianOnGrid g;
  EXPECT_NEAR(g.cell_mass.sum(), 1.0, 1e-4);
  EXPECT_DOUBLE_EQ(total_variation_of_masses(g.cell_mass, g.bins, g.cell_mass), 0.0);
}

TEST(PosteriorDiscrepancy, AllMassInOneBinOrOutsideGivesOneMinusTheExactMassThere) {
  const GaussianOnGrid g;
  VectorD corner = VectorD::Zero(g.cell_mass.size());
  corner(0) = 1.0;  // all mass in cell (0, 0), i.e. bin (0, 0)
  double p00 = 0.0;
  for (Index j = 0; j < 5; ++j)
    for (Index i = 0; i < 5; ++i) p00 += g.cell_mass(i + 101 * j);
  EXPECT_NEAR(total_variation_of_masses(corner, g.bins, g.cell_mass), 1.0 - p00, 1e-12);

  const MatrixD far = MatrixD::Constant(2, 10, 100.0);  // every draw outside the box
  const double outside = std::max(0.0, 1.0 - g.cell_mass.sum());
  EXPECT_NEAR(total_variation_of_draws(far, g.bins, g.cell_mass), 1.0 - outside, 1e-12);
}

TEST(PosteriorDiscrepancy, IidDrawsApproachTheBinomialNoiseFloor) {
  const GaussianOnGrid g;
  Rng rng(testing::test_seed(11));
  double previous = 1.0;
  for (const Index n : {200, 2000, 20000}) {
    const double tv = total_variation_of_draws(g.draws(n, rng), g.bins, g.cell_mass);
    const double floor = g.expected_iid_total_variation(n);
    EXPECT_LT(tv, previous) << n;
    // The normal approximation of E|p̂ - P| is rough for bins with n P of order 1: allow ±30%.
    EXPECT_GT(tv, 0.7 * floor) << n;
    EXPECT_LT(tv, 1.3 * floor) << n;
    previous = tv;
  }
  // A shifted sampler stays far away however many draws it has.
  MatrixD shifted = g.draws(20000, rng);
  shifted.row(0).array() += 2.0;
  EXPECT_GT(total_variation_of_draws(shifted, g.bins, g.cell_mass), 0.6);
}

TEST(PosteriorDiscrepancy, MomentErrorsAreWhitenedByTheExactCovariance) {
  const MatrixD covariance = (MatrixD(2, 2) << 4.0, 1.0, 1.0, 2.0).finished();
  const MatrixD L = covariance.llt().matrixL();
  const VectorD mean = (VectorD(2) << 1.0, -2.0).finished();
  const MomentDiscrepancy exact = moment_discrepancy(mean, covariance, mean, covariance);
  EXPECT_NEAR(exact.mean_error, 0.0, 1e-12);
  EXPECT_NEAR(exact.covariance_error, 0.0, 1e-12);
  // One posterior standard deviation along the first whitened axis; covariance scaled by 4.
  const VectorD shifted = mean + L * (VectorD(2) << 0.6, 0.8).finished();
  const MomentDiscrepancy off = moment_discrepancy(shifted, 4.0 * covariance, mean, covariance);
  EXPECT_NEAR(off.mean_error, 1.0, 1e-12);
  EXPECT_NEAR(off.covariance_error, 3.0 * std::sqrt(2.0), 1e-12);  // ‖4I - I‖_F
  testing::expect_throw_message<std::invalid_argument>(
      [&] { moment_discrepancy(mean, covariance, mean, -covariance); }, {"not positive definite"});
}

TEST(PosteriorDiscrepancy, SampleMomentsAreTheUnbiasedOnes) {
  const MatrixD draws = (MatrixD(2, 3) << 0.0, 1.0, 2.0, 1.0, 1.0, 4.0).finished();
  VectorD mean;
  MatrixD covariance;
  sample_mean_and_covariance(draws, mean, covariance);
  EXPECT_NEAR(mean(0), 1.0, 1e-15);
  EXPECT_NEAR(mean(1), 2.0, 1e-15);
  EXPECT_NEAR(covariance(0, 0), 1.0, 1e-15);  // (1 + 0 + 1) / 2
  EXPECT_NEAR(covariance(1, 1), 3.0, 1e-15);  // (1 + 1 + 4) / 2
  EXPECT_NEAR(covariance(0, 1), 1.5, 1e-15);  // (1 + 0 + 2) / 2
  testing::expect_throw_message<std::invalid_argument>(
      [&] { sample_mean_and_covariance(draws.leftCols(1), mean, covariance); }, {"needs >= 2 draws"});
}

TEST(PosteriorDiscrepancy, RejectsMismatchedGridsAndBins) {
  const GaussianOnGrid g;
  GridBins2d bad = g.bins;
  bad.cells_per_bin = 0;
  testing::expect_throw_message<std::invalid_argument>(
      [&] { total_variation_of_masses(g.cell_mass, bad, g.cell_mass); }, {"cells_per_bin", ">= 1", "found 0"});
  testing::expect_throw_message<std::invalid_argument>(
      [&] { total_variation_of_masses(g.cell_mass.head(10), g.bins, g.cell_mass); }, {"10 cell masses", "10201"});
}

}  // namespace
}  // namespace vigap
