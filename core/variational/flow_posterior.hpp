#pragma once
// q(z|x_b): a diagonal Gaussian base pushed through an affine coupling flow.
#include <string>
#include <vector>

#include "core/variational/affine_coupling_flow.hpp"
#include "core/variational/gaussian_encoder.hpp"
#include "core/variational/posterior_approximation.hpp"

namespace vigap {

/// z_0 = μ_b + exp(v_b / 2) ⊙ ε, ε ~ N(0, I);  z = T_b(z_0);
///   log q(z|x_b) = log q_0(z_0|x_b) - log|det ∂T_b/∂z_0|,
///   log q_0(z_0|x_b) = Σ_j -½[log 2π + v_j + (z_0j - μ_j)² e^{-v_j}].
/// Either one flow shared by every datapoint (the amortized posterior: encoder base, global
/// flow) or one flow per datapoint (the locally fitted flow). The flow is invertible in closed
/// form, so log_density of arbitrary points is exact: z_0 = T_b⁻¹(z).
/// Flows run in float (as the networks do); base densities and sums are double.
class FlowPosterior final : public PosteriorApproximation {
 public:
  /// base_mean and base_log_variance are d x B; flows holds 1 (shared) or B flows of dimension d.
  /// fitted_per_datapoint says that the flows were fitted one per datapoint even when B = 1 (so
  /// describe() says so whatever the batch size: a block of one datapoint describes like any other).
  FlowPosterior(MatrixD base_mean, MatrixD base_log_variance, std::vector<AffineCouplingFlow> flows,
                std::string name = "affine coupling flow posterior", bool fitted_per_datapoint = false);

  /// The amortized flow posterior: the encoder's N(μ_φ(x), diag e^{v_φ(x)}) for the columns of X,
  /// pushed through the global flow.
  static FlowPosterior from_encoder(const GaussianEncoder& encoder, const AffineCouplingFlow& flow, const MatrixF& X);

  Index latent_dim() const override { return base_mean_.rows(); }
  Index num_datapoints() const override { return base_mean_.cols(); }
  std::string describe() const override;
  using PosteriorApproximation::sample;
  using PosteriorApproximation::sample_with_log_density;
  MatrixD sample(Index S, BatchRng& generators) const override;
  VectorD log_density(const MatrixD& Z, Index S) const override;
  MatrixD sample_with_log_density(Index S, BatchRng& generators, VectorD& log_density) const override;

  bool has_density_gradient() const override { return true; }
  /// log q as log_density (the same bits), and ∇_z log q(z|x_b) by the flow's inverse backward
  /// pass (AffineCouplingFlow::inverse_backward) of F = log q_0(z_0|x_b) - log|det ∂T_b/∂z_0|,
  /// z_0 = T_b⁻¹(z), with ∂F/∂z_0 = -(z_0 - μ_b) ⊙ e^{-v_b} and ∂F/∂log det = -1 (float flows).
  VectorD log_density_with_gradient(const MatrixD& Z, Index S, MatrixD& grad_Z) const override;

  const MatrixD& base_mean() const { return base_mean_; }
  const MatrixD& base_log_variance() const { return base_log_variance_; }
  bool shares_flow() const { return flows_.size() == 1; }
  bool fitted_per_datapoint() const { return fitted_per_datapoint_ || flows_.size() > 1; }
  const std::vector<AffineCouplingFlow>& flows() const { return flows_; }
  /// The flow of datapoint b.
  const AffineCouplingFlow& flow(Index b) const { return flows_[shares_flow() ? 0 : static_cast<size_t>(b)]; }

 private:
  /// log q_0(z_0 | x_b) of each column (b = c / S).
  VectorD base_log_density(const MatrixD& Z0, Index S) const;

  MatrixD base_mean_;
  MatrixD base_log_variance_;
  std::vector<AffineCouplingFlow> flows_;
  std::string name_;
  bool fitted_per_datapoint_ = false;
};

}  // namespace vigap
