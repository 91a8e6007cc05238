#include "core/models/linear_gaussian_model.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace vigap {

namespace {
const double kLog2Pi = std::log(2.0 * std::numbers::pi);
}

LinearGaussianModel::LinearGaussianModel(MatrixD W, VectorD b, double sigma)
    : W_(std::move(W)), b_(std::move(b)), sigma_(sigma) {
  if (W_.rows() < 1 || W_.cols() < 1)
    throw std::invalid_argument("LinearGaussianModel: W must be non-empty, found " +
                                std::to_string(W_.rows()) + " x " + std::to_string(W_.cols()));
  if (b_.size() != W_.rows())
    throw std::invalid_argument("LinearGaussianModel: b has " + std::to_string(b_.size()) +
                                " entries, W has " + std::to_string(W_.rows()) + " rows");
  if (!(sigma_ > 0.0) || !std::isfinite(sigma_))
    throw std::invalid_argument("LinearGaussianModel: sigma must be positive and finite, found " +
                                std::to_string(sigma_));
  const Index d = W_.cols();
  const MatrixD precision = MatrixD::Identity(d, d) + W_.transpose() * W_ / (sigma_ * sigma_);
  Eigen::LLT<MatrixD> llt(precision);
  posterior_covariance_ = llt.solve(MatrixD::Identity(d, d));
  log_det_posterior_covariance_ = -2.0 * llt.matrixLLT().diagonal().array().log().sum();
}

LinearGaussianModel LinearGaussianModel::random(Index data_dim, Index latent_dim, double sigma,
                                                double weight_scale, Rng& rng) {
  MatrixD W = standard_normal_matrix(data_dim, latent_dim, rng) * weight_scale;
  VectorD b = standard_normal_matrix(data_dim, 1, rng);
  return LinearGaussianModel(std::move(W), std::move(b), sigma);
}

std::string LinearGaussianModel::describe() const {
  return "linear-Gaussian (D=" + std::to_string(data_dim()) + ", d=" + std::to_string(latent_dim()) +
         ", sigma=" + std::to_string(sigma_) + ")";
}

VectorD LinearGaussianModel::log_likelihood(const MatrixF& X, const MatrixD& Z, Index S) const {
  check_batch(X, Z, S, "LinearGaussianModel::log_likelihood");
  MatrixD residual = W_ * Z;
  residual.colwise() += b_;
  for (Index c = 0; c < Z.cols(); ++c) residual.col(c) -= X.col(c / S).cast<double>();
  const double constant = -0.5 * static_cast<double>(data_dim()) * (kLog2Pi + 2.0 * std::log(sigma_));
  return (-0.5 / (sigma_ * sigma_) * residual.colwise().squaredNorm().array() + constant).transpose();
}

VectorD LinearGaussianModel::log_likelihood_with_gradient(const MatrixF& X, const MatrixD& Z, Index S,
                                                          MatrixD& grad_Z) const {
  check_batch(X, Z, S, "LinearGaussianModel::log_likelihood_with_gradient");
  MatrixD residual = -(W_ * Z);  // x - W z - b
  residual.colwise() -= b_;
  for (Index c = 0; c < Z.cols(); ++c) residual.col(c) += X.col(c / S).cast<double>();
  grad_Z.noalias() = W_.transpose() * residual / (sigma_ * sigma_);
  const double constant = -0.5 * static_cast<double>(data_dim()) * (kLog2Pi + 2.0 * std::log(sigma_));
  return (-0.5 / (sigma_ * sigma_) * residual.colwise().squaredNorm().array() + constant).transpose();
}

MatrixD LinearGaussianModel::log_likelihood_all_pairs(const MatrixF& X, const MatrixD& Z) const {
  if (X.rows() != data_dim() || Z.rows() != latent_dim())
    throw std::invalid_argument("LinearGaussianModel::log_likelihood_all_pairs: dimensions do not match the model");
  const MatrixD Xd = X.cast<double>();
  MatrixD means = W_ * Z;
  means.colwise() += b_;
  // ‖x_b - m_g‖² = ‖x_b‖² - 2 x_bᵀ m_g + ‖m_g‖²: one matrix product for all pairs.
  MatrixD squared = -2.0 * (Xd.transpose() * means);
  squared.colwise() += Xd.colwise().squaredNorm().transpose();
  squared.rowwise() += means.colwise().squaredNorm();
  const double constant = -0.5 * static_cast<double>(data_dim()) * (kLog2Pi + 2.0 * std::log(sigma_));
  return (-0.5 / (sigma_ * sigma_)) * squared.array() + constant;
}

ModelSample LinearGaussianModel::sample(Index N, Rng& rng) const {
  ModelSample s;
  s.latents = standard_normal_matrix(latent_dim(), N, rng);
  MatrixD x = W_ * s.latents + sigma_ * standard_normal_matrix(data_dim(), N, rng);
  x.colwise() += b_;
  s.data = x.cast<float>();
  return s;
}

VectorD LinearGaussianModel::log_marginal_likelihood(const MatrixF& X) const {
  if (X.rows() != data_dim())
    throw std::invalid_argument("LinearGaussianModel::log_marginal_likelihood: data have dimension " +
                                std::to_string(X.rows()) + ", the model expects " + std::to_string(data_dim()));
  // C = σ² I + W Wᵀ. With Σ = (I + WᵀW/σ²)⁻¹:
  //   C⁻¹ = (I - W Σ Wᵀ / σ²) / σ²,   log|C| = D log σ² - log|Σ|.
  const double s2 = sigma_ * sigma_;
  MatrixD residual = X.cast<double>();
  residual.colwise() -= b_;
  const MatrixD projected = W_.transpose() * residual;  // d x B
  const VectorD quadratic =
      (residual.colwise().squaredNorm().array() -
       (projected.array() * (posterior_covariance_ * projected).array()).colwise().sum() / s2) / s2;
  const double log_det = static_cast<double>(data_dim()) * std::log(s2) - log_det_posterior_covariance_;
  return (-0.5 * (quadratic.array() + log_det + static_cast<double>(data_dim()) * kLog2Pi)).matrix();
}

MatrixD LinearGaussianModel::posterior_mean(const MatrixF& X) const {
  MatrixD residual = X.cast<double>();
  residual.colwise() -= b_;
  return posterior_covariance_ * (W_.transpose() * residual) / (sigma_ * sigma_);
}

}  // namespace vigap
