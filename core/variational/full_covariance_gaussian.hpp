#pragma once
// A full-covariance Gaussian q(z|x_b) = N(μ_b, L_b L_bᵀ) per datapoint.
#include <vector>

#include "core/variational/posterior_approximation.hpp"

namespace vigap {

/// Gaussian with a dense covariance per datapoint, given by its lower-triangular Cholesky
/// factor L_b (positive diagonal). log q(z) = -½‖L⁻¹(z - μ)‖² - Σ_j log L_jj - (d/2) log 2π.
class FullCovarianceGaussian final : public PosteriorApproximation {
 public:
  /// mean is d x B; cholesky_factors holds B lower-triangular d x d matrices with positive diagonals.
  FullCovarianceGaussian(MatrixD mean, std::vector<MatrixD> cholesky_factors,
                         std::string name = "full-covariance Gaussian");

  Index latent_dim() const override { return mean_.rows(); }
  Index num_datapoints() const override { return mean_.cols(); }
  std::string describe() const override { return name_; }
  using PosteriorApproximation::sample;
  using PosteriorApproximation::sample_with_log_density;
  MatrixD sample(Index S, BatchRng& generators) const override;
  VectorD log_density(const MatrixD& Z, Index S) const override;
  MatrixD sample_with_log_density(Index S, BatchRng& generators, VectorD& log_density) const override;

  bool has_density_gradient() const override { return true; }
  /// log q as log_density, and ∇_z log q(z|x_b) = -Σ_b⁻¹ (z - μ_b) = -L_b⁻ᵀ L_b⁻¹ (z - μ_b) per column.
  VectorD log_density_with_gradient(const MatrixD& Z, Index S, MatrixD& grad_Z) const override;

  const MatrixD& mean() const { return mean_; }
  const std::vector<MatrixD>& cholesky_factors() const { return cholesky_factors_; }

 private:
  MatrixD mean_;
  std::vector<MatrixD> cholesky_factors_;
  std::string name_;
};

}  // namespace vigap
