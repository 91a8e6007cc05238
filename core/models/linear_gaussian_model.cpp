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

// Every batched method below works column by column with explicit loops (no matrix product,
// no Eigen reduction): a product's path and a reduction's first aligned entry depend on the batch
// width and on a column's offset in it, so a column's bits would depend on the batch it shares.
// Each column costs D·d multiply-adds either way, and the model is a test truth of modest size.
namespace {

/// r = x - W z - b for one column, and ‖r‖² summed in row order.
double residual_squared_norm(const MatrixD& W, const VectorD& b, const float* x, const double* z, double* r) {
  const Index D = W.rows(), d = W.cols();
  for (Index i = 0; i < D; ++i) r[i] = static_cast<double>(x[i]) - b(i);
  for (Index j = 0; j < d; ++j) {
    const double zj = z[j];
    const double* w = W.col(j).data();
    for (Index i = 0; i < D; ++i) r[i] -= w[i] * zj;
  }
  double sum = 0.0;
  for (Index i = 0; i < D; ++i) sum += r[i] * r[i];
  return sum;
}

}  // namespace

VectorD LinearGaussianModel::log_likelihood(const MatrixF& X, const MatrixD& Z, Index S) const {
  check_batch(X, Z, S, "LinearGaussianModel::log_likelihood");
  const double constant = -0.5 * static_cast<double>(data_dim()) * (kLog2Pi + 2.0 * std::log(sigma_));
  VectorD r(data_dim());
  VectorD out(Z.cols());
  for (Index c = 0; c < Z.cols(); ++c)
    out(c) = -0.5 / (sigma_ * sigma_) * residual_squared_norm(W_, b_, X.col(c / S).data(), Z.col(c).data(), r.data()) +
             constant;
  return out;
}

VectorD LinearGaussianModel::log_likelihood_with_gradient(const MatrixF& X, const MatrixD& Z, Index S,
                                                          MatrixD& grad_Z) const {
  check_batch(X, Z, S, "LinearGaussianModel::log_likelihood_with_gradient");
  const double constant = -0.5 * static_cast<double>(data_dim()) * (kLog2Pi + 2.0 * std::log(sigma_));
  const double inverse_variance = 1.0 / (sigma_ * sigma_);
  const Index D = data_dim(), d = latent_dim();
  VectorD r(D);
  VectorD out(Z.cols());
  grad_Z.resize(d, Z.cols());
  for (Index c = 0; c < Z.cols(); ++c) {
    out(c) = -0.5 * inverse_variance * residual_squared_norm(W_, b_, X.col(c / S).data(), Z.col(c).data(), r.data()) +
             constant;
    // ∇_z log p(x|z) = Wᵀ (x - W z - b) / σ², each entry a dot product in row order.
    for (Index j = 0; j < d; ++j) {
      const double* w = W_.col(j).data();
      double dot = 0.0;
      for (Index i = 0; i < D; ++i) dot += w[i] * r(i);
      grad_Z(j, c) = dot * inverse_variance;
    }
  }
  return out;
}

MatrixD LinearGaussianModel::log_likelihood_all_pairs(const MatrixF& X, const MatrixD& Z) const {
  if (X.rows() != data_dim() || Z.rows() != latent_dim())
    throw std::invalid_argument("LinearGaussianModel::log_likelihood_all_pairs: dimensions do not match the model");
  const double constant = -0.5 * static_cast<double>(data_dim()) * (kLog2Pi + 2.0 * std::log(sigma_));
  const Index D = data_dim(), d = latent_dim();
  // m_g = W z_g + b once per latent, then ‖x_b - m_g‖² directly (no cancellation of large terms).
  MatrixD means(D, Z.cols());
  for (Index g = 0; g < Z.cols(); ++g) {
    double* m = means.col(g).data();
    for (Index i = 0; i < D; ++i) m[i] = b_(i);
    for (Index j = 0; j < d; ++j) {
      const double zj = Z(j, g);
      const double* w = W_.col(j).data();
      for (Index i = 0; i < D; ++i) m[i] += w[i] * zj;
    }
  }
  MatrixD out(X.cols(), Z.cols());
  for (Index g = 0; g < Z.cols(); ++g) {
    const double* m = means.col(g).data();
    for (Index b = 0; b < X.cols(); ++b) {
      const float* x = X.col(b).data();
      double sum = 0.0;
      for (Index i = 0; i < D; ++i) {
        const double e = static_cast<double>(x[i]) - m[i];
        sum += e * e;
      }
      out(b, g) = -0.5 / (sigma_ * sigma_) * sum + constant;
    }
  }
  return out;
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
