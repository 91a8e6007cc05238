#include "core/variational/full_covariance_gaussian.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

#include "core/math/sum_in_order.hpp"

namespace vigap {

FullCovarianceGaussian::FullCovarianceGaussian(MatrixD mean, std::vector<MatrixD> cholesky_factors, std::string name)
    : mean_(std::move(mean)), cholesky_factors_(std::move(cholesky_factors)), name_(std::move(name)) {
  const Index d = mean_.rows();
  if (d < 1 || static_cast<Index>(cholesky_factors_.size()) != mean_.cols())
    throw std::invalid_argument("FullCovarianceGaussian: expected one Cholesky factor per mean column (" +
                                std::to_string(mean_.cols()) + "), found " +
                                std::to_string(cholesky_factors_.size()));
  for (size_t b = 0; b < cholesky_factors_.size(); ++b) {
    MatrixD& L = cholesky_factors_[b];
    if (L.rows() != d || L.cols() != d)
      throw std::invalid_argument("FullCovarianceGaussian: Cholesky factor " + std::to_string(b) + " is " +
                                  std::to_string(L.rows()) + " x " + std::to_string(L.cols()) + ", expected " +
                                  std::to_string(d) + " x " + std::to_string(d));
    if (!(L.diagonal().array() > 0.0).all() || !L.allFinite())
      throw std::invalid_argument("FullCovarianceGaussian: Cholesky factor " + std::to_string(b) +
                                  " must be finite with a positive diagonal");
    L = L.triangularView<Eigen::Lower>();
  }
}

MatrixD FullCovarianceGaussian::sample(Index S, BatchRng& generators) const {
  VectorD unused;
  return sample_with_log_density(S, generators, unused);
}

MatrixD FullCovarianceGaussian::sample_with_log_density(Index S, BatchRng& generators, VectorD& log_density_out) const {
  check_generators(generators, S, "FullCovarianceGaussian::sample");
  const Index d = latent_dim();
  const Index B = num_datapoints();
  const MatrixD eps = standard_normal_matrix(d, B * S, generators);
  MatrixD Z(d, B * S);
  log_density_out.resize(B * S);
  const double constant = -0.5 * static_cast<double>(d) * std::log(2.0 * std::numbers::pi);
  for (Index b = 0; b < B; ++b) {
    const MatrixD& L = cholesky_factors_[static_cast<size_t>(b)];
    Z.middleCols(b * S, S) = L * eps.middleCols(b * S, S);
    Z.middleCols(b * S, S).colwise() += mean_.col(b);
    const double log_det = L.diagonal().array().log().sum();
    // ‖ε‖² in index order (core/math/sum_in_order.hpp): eps.col(c) starts at an alignment that depends on b when S·d is not a
    // multiple of the packet size, and Eigen's vectorized norm would then round by position.
    for (Index s = 0; s < S; ++s)
      log_density_out(b * S + s) = constant - log_det - 0.5 * squared_norm_in_order(eps.col(b * S + s));
  }
  return Z;
}

VectorD FullCovarianceGaussian::log_density(const MatrixD& Z, Index S) const {
  check_latents(Z, S, "FullCovarianceGaussian::log_density");
  const Index d = latent_dim();
  const Index B = num_datapoints();
  const double constant = -0.5 * static_cast<double>(d) * std::log(2.0 * std::numbers::pi);
  VectorD out(Z.cols());
  for (Index b = 0; b < B; ++b) {
    const MatrixD& L = cholesky_factors_[static_cast<size_t>(b)];
    MatrixD centered = Z.middleCols(b * S, S);
    centered.colwise() -= mean_.col(b);
    const MatrixD standardized = L.triangularView<Eigen::Lower>().solve(centered);
    const double log_det = L.diagonal().array().log().sum();
    out.segment(b * S, S) = (constant - log_det - 0.5 * standardized.colwise().squaredNorm().array()).transpose();
  }
  return out;
}

VectorD FullCovarianceGaussian::log_density_with_gradient(const MatrixD& Z, Index S, MatrixD& grad_Z) const {
  VectorD out = log_density(Z, S);
  grad_Z.resize(Z.rows(), Z.cols());
  for (Index b = 0; b < num_datapoints(); ++b) {
    const auto L = cholesky_factors_[static_cast<size_t>(b)].triangularView<Eigen::Lower>();
    MatrixD r = Z.middleCols(b * S, S).colwise() - mean_.col(b);
    L.solveInPlace(r);
    L.transpose().solveInPlace(r);
    grad_Z.middleCols(b * S, S) = -r;  // -Σ⁻¹ (z - μ)
  }
  return out;
}

}  // namespace vigap
