#include "core/variational/diagonal_gaussian.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace vigap {

DiagonalGaussian::DiagonalGaussian(MatrixD mean, MatrixD log_variance, std::string name)
    : mean_(std::move(mean)), log_variance_(std::move(log_variance)), name_(std::move(name)) {
  if (mean_.rows() < 1 || mean_.rows() != log_variance_.rows() || mean_.cols() != log_variance_.cols())
    throw std::invalid_argument("DiagonalGaussian: mean (" + std::to_string(mean_.rows()) + " x " +
                                std::to_string(mean_.cols()) + ") and log-variance (" +
                                std::to_string(log_variance_.rows()) + " x " + std::to_string(log_variance_.cols()) +
                                ") must be non-empty and of one shape");
  if (!mean_.allFinite() || !log_variance_.allFinite())
    throw std::invalid_argument("DiagonalGaussian: mean and log-variance must be finite");
}

DiagonalGaussian DiagonalGaussian::from_encoder(const GaussianEncoder& encoder, const MatrixF& X) {
  GaussianEncoder::Workspace ws;
  MatrixF mean, log_variance;
  encoder.forward(X, ws, mean, log_variance);
  return DiagonalGaussian(mean.cast<double>(), log_variance.cast<double>(), "amortized diagonal Gaussian (encoder)");
}

MatrixD DiagonalGaussian::sample(Index S, BatchRng& generators) const {
  VectorD unused;
  return sample_with_log_density(S, generators, unused);
}

MatrixD DiagonalGaussian::sample_with_log_density(Index S, BatchRng& generators, VectorD& log_density_out) const {
  check_generators(generators, S, "DiagonalGaussian::sample");
  const Index d = latent_dim();
  const Index B = num_datapoints();
  MatrixD eps = standard_normal_matrix(d, B * S, generators);
  MatrixD Z(d, B * S);
  log_density_out.resize(B * S);
  const double constant = -0.5 * static_cast<double>(d) * std::log(2.0 * std::numbers::pi);
  // Scalar loops (std::exp, sums in index order): a datapoint's draws and densities are the same
  // bits at any position in the batch (Eigen's vectorized exp and sums depend on alignment).
  for (Index c = 0; c < B * S; ++c) {
    const Index b = c / S;
    double squared = 0.0, log_det = 0.0;
    for (Index j = 0; j < d; ++j) {
      Z(j, c) = mean_(j, b) + std::exp(0.5 * log_variance_(j, b)) * eps(j, c);
      squared += eps(j, c) * eps(j, c);
      log_det += log_variance_(j, b);
    }
    log_density_out(c) = constant - 0.5 * (squared + log_det);
  }
  return Z;
}

VectorD DiagonalGaussian::log_density(const MatrixD& Z, Index S) const {
  check_latents(Z, S, "DiagonalGaussian::log_density");
  const Index d = latent_dim();
  const double constant = -0.5 * static_cast<double>(d) * std::log(2.0 * std::numbers::pi);
  VectorD out(Z.cols());
  for (Index c = 0; c < Z.cols(); ++c) {  // scalar, as in sample_with_log_density
    const Index b = c / S;
    double squared = 0.0, log_det = 0.0;
    for (Index j = 0; j < d; ++j) {
      const double standardized = (Z(j, c) - mean_(j, b)) * std::exp(-0.5 * log_variance_(j, b));
      squared += standardized * standardized;
      log_det += log_variance_(j, b);
    }
    out(c) = constant - 0.5 * (squared + log_det);
  }
  return out;
}

VectorD DiagonalGaussian::log_density_with_gradient(const MatrixD& Z, Index S, MatrixD& grad_Z) const {
  VectorD out = log_density(Z, S);
  grad_Z.resize(Z.rows(), Z.cols());
  for (Index c = 0; c < Z.cols(); ++c) {
    const Index b = c / S;
    for (Index j = 0; j < Z.rows(); ++j)  // scalar std::exp: the same bits at any batch position
      grad_Z(j, c) = -(Z(j, c) - mean_(j, b)) * std::exp(-log_variance_(j, b));
  }
  return out;
}

VectorD DiagonalGaussian::kl_to_standard_normal() const {
  VectorD kl(num_datapoints());  // scalar, per column (the same bits at any batch position)
  for (Index b = 0; b < num_datapoints(); ++b) {
    double sum = 0.0;
    for (Index j = 0; j < latent_dim(); ++j)
      sum += 0.5 * (mean_(j, b) * mean_(j, b) + std::exp(log_variance_(j, b)) - 1.0 - log_variance_(j, b));
    kl(b) = sum;
  }
  return kl;
}

}  // namespace vigap
