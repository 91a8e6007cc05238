#pragma once
// The linear-Gaussian model: every quantity vigap estimates is known in closed form.
#include "core/models/generative_model.hpp"

namespace vigap {

/// p(z) = N(0, I_d), p(x|z) = N(W z + b, σ² I_D). Then
///   p(x)   = N(b, W Wᵀ + σ² I),
///   p(z|x) = N(Σ Wᵀ (x - b) / σ², Σ),  Σ = (I + Wᵀ W / σ²)⁻¹ (the same for every x).
/// Computations run in double.
class LinearGaussianModel final : public GenerativeModel {
 public:
  /// W is D x d, b has D entries, σ > 0.
  LinearGaussianModel(MatrixD W, VectorD b, double sigma);

  /// A model with W entries N(0, weight_scale²), b entries N(0, 1), for tests and examples.
  static LinearGaussianModel random(Index data_dim, Index latent_dim, double sigma, double weight_scale, Rng& rng);

  Index latent_dim() const override { return W_.cols(); }
  Index data_dim() const override { return W_.rows(); }
  std::string describe() const override;

  VectorD log_likelihood(const MatrixF& X, const MatrixD& Z, Index S) const override;
  VectorD log_likelihood_with_gradient(const MatrixF& X, const MatrixD& Z, Index S,
                                       MatrixD& grad_Z) const override;
  MatrixD log_likelihood_all_pairs(const MatrixF& X, const MatrixD& Z) const override;
  ModelSample sample(Index N, Rng& rng) const override;

  /// Exact log p(x) per column of X (through the d x d Woodbury identity).
  VectorD log_marginal_likelihood(const MatrixF& X) const;
  /// Exact posterior means E[z|x], d x B.
  MatrixD posterior_mean(const MatrixF& X) const;
  /// Exact posterior covariance Σ (d x d), shared by every x.
  const MatrixD& posterior_covariance() const { return posterior_covariance_; }

  const MatrixD& weight() const { return W_; }
  const VectorD& bias() const { return b_; }
  double sigma() const { return sigma_; }

 private:
  MatrixD W_;
  VectorD b_;
  double sigma_;
  MatrixD posterior_covariance_;
  double log_det_posterior_covariance_;
};

}  // namespace vigap
