#include "estimators/posterior_discrepancy.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace vigap {

void GridBins2d::validate() const {
  if (x.size() < 2) throw std::invalid_argument("GridBins2d: x needs >= 2 nodes, found " + std::to_string(x.size()));
  if (y.size() < 2) throw std::invalid_argument("GridBins2d: y needs >= 2 nodes, found " + std::to_string(y.size()));
  if (!(x(1) > x(0)) || !(y(1) > y(0)))
    throw std::invalid_argument("GridBins2d: x and y must be increasing (equally spaced)");
  if (cells_per_bin < 1)
    throw std::invalid_argument("GridBins2d: cells_per_bin must be >= 1, found " + std::to_string(cells_per_bin));
}

double GridBins2d::cell_area() const { return (x(1) - x(0)) * (y(1) - y(0)); }

MatrixD GridBins2d::points() const {
  MatrixD Z(2, x.size() * y.size());
  for (Index j = 0; j < y.size(); ++j)
    for (Index i = 0; i < x.size(); ++i) Z.col(i + x.size() * j) << x(i), y(j);
  return Z;
}

namespace {

/// Sums cell masses into bins; renormalizes to 1 when they hold more; *outside = 1 - Σ (>= 0).
MatrixD bin_masses(const VectorD& cell_mass, const GridBins2d& bins, double* outside, const char* name) {
  const Index nx = bins.x.size(), ny = bins.y.size(), k = bins.cells_per_bin;
  if (cell_mass.size() != nx * ny)
    throw std::invalid_argument(std::string("total variation: ") + name + " has " + std::to_string(cell_mass.size()) +
                                " cell masses, the grid has " + std::to_string(nx * ny) + " cells");
  MatrixD binned = MatrixD::Zero((nx + k - 1) / k, (ny + k - 1) / k);
  for (Index j = 0; j < ny; ++j)
    for (Index i = 0; i < nx; ++i) binned(i / k, j / k) += cell_mass(i + nx * j);
  const double total = binned.sum();
  if (total > 1.0) binned /= total;
  *outside = std::max(0.0, 1.0 - binned.sum());
  return binned;
}

}  // namespace

double total_variation_of_draws(const MatrixD& draws, const GridBins2d& bins, const VectorD& exact_cell_mass) {
  bins.validate();
  if (draws.rows() != 2 || draws.cols() < 1)
    throw std::invalid_argument("total_variation_of_draws: draws must be 2 x N with N >= 1, found " +
                                std::to_string(draws.rows()) + " x " + std::to_string(draws.cols()));
  double exact_outside = 0.0;
  const MatrixD exact = bin_masses(exact_cell_mass, bins, &exact_outside, "exact_cell_mass");
  const Index nx = bins.x.size(), ny = bins.y.size(), k = bins.cells_per_bin;
  const double hx = bins.x(1) - bins.x(0), hy = bins.y(1) - bins.y(0);
  const double x0 = bins.x(0) - hx / 2, y0 = bins.y(0) - hy / 2;
  MatrixD empirical = MatrixD::Zero(exact.rows(), exact.cols());
  double outside = 0.0;
  const double weight = 1.0 / static_cast<double>(draws.cols());
  for (Index c = 0; c < draws.cols(); ++c) {
    const double ci = std::floor((draws(0, c) - x0) / hx), cj = std::floor((draws(1, c) - y0) / hy);
    if (!std::isfinite(ci) || !std::isfinite(cj) || ci < 0 || cj < 0 || ci >= static_cast<double>(nx) ||
        cj >= static_cast<double>(ny)) {
      outside += weight;
      continue;
    }
    empirical(static_cast<Index>(ci) / k, static_cast<Index>(cj) / k) += weight;
  }
  return 0.5 * ((empirical - exact).cwiseAbs().sum() + std::abs(outside - exact_outside));
}

double total_variation_of_masses(const VectorD& cell_mass, const GridBins2d& bins, const VectorD& exact_cell_mass) {
  bins.validate();
  double exact_outside = 0.0, outside = 0.0;
  const MatrixD exact = bin_masses(exact_cell_mass, bins, &exact_outside, "exact_cell_mass");
  const MatrixD other = bin_masses(cell_mass, bins, &outside, "cell_mass");
  return 0.5 * ((other - exact).cwiseAbs().sum() + std::abs(outside - exact_outside));
}

MomentDiscrepancy moment_discrepancy(const VectorD& mean, const MatrixD& covariance, const VectorD& exact_mean,
                                     const MatrixD& exact_covariance) {
  const Index d = exact_mean.size();
  if (mean.size() != d || covariance.rows() != d || covariance.cols() != d || exact_covariance.rows() != d ||
      exact_covariance.cols() != d)
    throw std::invalid_argument("moment_discrepancy: means and covariances must all have dimension " +
                                std::to_string(d));
  const Eigen::LLT<MatrixD> llt(exact_covariance);
  if (llt.info() != Eigen::Success)
    throw std::invalid_argument("moment_discrepancy: the exact covariance is not positive definite");
  const auto L = llt.matrixL();
  MomentDiscrepancy result;
  result.mean_error = L.solve(mean - exact_mean).norm();
  const MatrixD half = L.solve(covariance);                      // L⁻¹ Σ
  const MatrixD whitened = L.solve(half.transpose()).transpose();  // L⁻¹ Σ L⁻ᵀ (Σ symmetric)
  result.covariance_error = (whitened - MatrixD::Identity(d, d)).norm();
  return result;
}

void sample_mean_and_covariance(const MatrixD& draws, VectorD& mean, MatrixD& covariance) {
  if (draws.cols() < 2)
    throw std::invalid_argument("sample_mean_and_covariance: needs >= 2 draws, found " + std::to_string(draws.cols()));
  mean = draws.rowwise().mean();
  const MatrixD centered = draws.colwise() - mean;
  covariance = centered * centered.transpose() / static_cast<double>(draws.cols() - 1);
}

}  // namespace vigap
