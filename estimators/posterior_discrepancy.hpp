#pragma once
// How far an approximation (a sampler's draws, or a density) is from the exact posterior p(z|x)
// of a 2-D latent space: total variation on histogram bins of a grid, and moment errors.
#include "core/types.hpp"

namespace vigap {

/// The histogram bins of a regular 2-D grid. Nodes x (nx) and y (ny) are equally spaced; the
/// cell of node (i, j) is [x(i) ± h_x/2] x [y(j) ± h_y/2] and node (i, j) has index g = i + nx·j
/// in every cell-mass vector. A bin joins cells_per_bin x cells_per_bin cells (the last ones may
/// be smaller); one extra bin holds everything outside the grid's box.
struct GridBins2d {
  VectorD x;                ///< nx >= 2 equally spaced node coordinates along z1
  VectorD y;                ///< ny >= 2 equally spaced node coordinates along z2
  Index cells_per_bin = 1;  ///< >= 1

  /// Throws std::invalid_argument naming the field when a size is out of range.
  void validate() const;
  /// h_x · h_y.
  double cell_area() const;
  /// The nodes as a 2 x (nx·ny) matrix, node (i, j) in column i + nx·j.
  MatrixD points() const;
};

/// Total variation between a sampler's empirical distribution and the exact posterior, binned:
///   TV = ½ Σ_bins |n_bin / N - P_bin| + ½ |n_out / N - P_out|,
/// with n_bin the draws (columns of `draws`, 2 x N) falling in the bin, P_bin the sum of
/// exact_cell_mass over the bin's cells (renormalized to 1 if the cells hold more than 1, a
/// quadrature error) and P_out = 1 - Σ P_bin. A lower bound on the TV of the two distributions
/// themselves (binning merges differences), biased upward by the sampling noise of N draws:
/// for N independent exact draws it is about ½ Σ_bins sqrt(2 P_bin / (π N)) (compare with
/// the value for exact draws at the same N).
double total_variation_of_draws(const MatrixD& draws, const GridBins2d& bins, const VectorD& exact_cell_mass);

/// The same binned TV between two distributions given by their cell masses (density × cell
/// area, nx·ny each): ½ Σ_bins |A_bin - P_bin| + ½ |A_out - P_out|, outside mass 1 - Σ cells
/// (each set renormalized to 1 if it holds more). Exact up to the cell-mass quadrature; a lower
/// bound on the unbinned TV.
double total_variation_of_masses(const VectorD& cell_mass, const GridBins2d& bins, const VectorD& exact_cell_mass);

/// Errors of a mean and covariance against the exact posterior's, in the exact posterior's
/// whitened coordinates (L Lᵀ = exact_covariance), so they are scale-free and 0 for the truth:
///   mean_error = ‖L⁻¹ (mean - exact_mean)‖                 (posterior standard deviations)
///   covariance_error = ‖L⁻¹ covariance L⁻ᵀ - I‖_F          (0: the covariance is exact)
struct MomentDiscrepancy {
  double mean_error = 0.0;
  double covariance_error = 0.0;
};

/// As MomentDiscrepancy describes. Throws std::invalid_argument for mismatched sizes or an
/// exact covariance that is not positive definite.
MomentDiscrepancy moment_discrepancy(const VectorD& mean, const MatrixD& covariance, const VectorD& exact_mean,
                                     const MatrixD& exact_covariance);

/// Sample mean (1/N) Σ z_n and unbiased sample covariance (1/(N-1)) Σ (z_n - m)(z_n - m)ᵀ of
/// the columns of draws (d x N, N >= 2; throws std::invalid_argument otherwise).
void sample_mean_and_covariance(const MatrixD& draws, VectorD& mean, MatrixD& covariance);

}  // namespace vigap
