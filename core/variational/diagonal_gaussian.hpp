#pragma once
// A diagonal Gaussian q(z|x_b) = N(μ_b, diag(exp(v_b))) per datapoint.
#include "core/variational/gaussian_encoder.hpp"
#include "core/variational/posterior_approximation.hpp"

namespace vigap {

/// Fully factorized Gaussian per datapoint: the amortized encoder's output, or a locally
/// optimized q*. log q(z) = Σ_j -½[log 2π + v_j + (z_j - μ_j)² e^{-v_j}].
class DiagonalGaussian final : public PosteriorApproximation {
 public:
  /// mean and log_variance are d x B.
  DiagonalGaussian(MatrixD mean, MatrixD log_variance, std::string name = "diagonal Gaussian");

  /// The encoder's q_φ(z|x) for the columns of X.
  static DiagonalGaussian from_encoder(const GaussianEncoder& encoder, const MatrixF& X);

  Index latent_dim() const override { return mean_.rows(); }
  Index num_datapoints() const override { return mean_.cols(); }
  std::string describe() const override { return name_; }
  using PosteriorApproximation::sample;
  using PosteriorApproximation::sample_with_log_density;
  MatrixD sample(Index S, BatchRng& generators) const override;
  VectorD log_density(const MatrixD& Z, Index S) const override;
  MatrixD sample_with_log_density(Index S, BatchRng& generators, VectorD& log_density) const override;

  bool has_density_gradient() const override { return true; }
  /// log q as log_density, and ∇_z log q(z|x_b) = -(z - μ_b) ⊙ e^{-v_b} per column.
  VectorD log_density_with_gradient(const MatrixD& Z, Index S, MatrixD& grad_Z) const override;

  bool has_closed_form_kl_to_standard_normal() const override { return true; }
  /// KL(q(z|x_b) ‖ N(0, I)) = ½ Σ_j (μ_j² + e^{v_j} - 1 - v_j), one per datapoint.
  VectorD kl_to_standard_normal() const override;

  const MatrixD& mean() const { return mean_; }
  const MatrixD& log_variance() const { return log_variance_; }

 private:
  MatrixD mean_;
  MatrixD log_variance_;
  std::string name_;
};

}  // namespace vigap
