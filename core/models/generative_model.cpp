#include "core/models/generative_model.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace vigap {

VectorD GenerativeModel::log_prior(const MatrixD& Z) const {
  if (Z.rows() != latent_dim())
    throw std::invalid_argument("log_prior: latents have " + std::to_string(Z.rows()) +
                                " rows, the model's latent dimension is " + std::to_string(latent_dim()));
  const double constant = -0.5 * static_cast<double>(Z.rows()) * std::log(2.0 * std::numbers::pi);
  // One explicit loop per column: Eigen's vectorized colwise reduction starts at each column's
  // first aligned entry, so a column's bits would depend on its position in the batch.
  VectorD out(Z.cols());
  for (Index c = 0; c < Z.cols(); ++c) {
    double squared_norm = 0.0;
    for (Index i = 0; i < Z.rows(); ++i) squared_norm += Z(i, c) * Z(i, c);
    out(c) = -0.5 * squared_norm + constant;
  }
  return out;
}

VectorD GenerativeModel::log_joint(const MatrixF& X, const MatrixD& Z, Index S) const {
  return log_prior(Z) + log_likelihood(X, Z, S);
}

VectorD GenerativeModel::log_joint_with_gradient(const MatrixF& X, const MatrixD& Z, Index S,
                                                 MatrixD& grad_Z) const {
  VectorD value = log_likelihood_with_gradient(X, Z, S, grad_Z);
  grad_Z -= Z;
  return value + log_prior(Z);
}

MatrixD GenerativeModel::log_likelihood_all_pairs(const MatrixF& X, const MatrixD& Z) const {
  const Index B = X.cols();
  const Index G = Z.cols();
  MatrixD out(B, G);
  for (Index b = 0; b < B; ++b) {
    const VectorD values = log_likelihood(X.col(b), Z, G);
    out.row(b) = values.transpose();
  }
  return out;
}

void GenerativeModel::check_batch(const MatrixF& X, const MatrixD& Z, Index S, const char* caller) const {
  if (X.rows() != data_dim())
    throw std::invalid_argument(std::string(caller) + ": data have dimension " + std::to_string(X.rows()) +
                                ", the model expects " + std::to_string(data_dim()));
  if (Z.rows() != latent_dim())
    throw std::invalid_argument(std::string(caller) + ": latents have dimension " + std::to_string(Z.rows()) +
                                ", the model expects " + std::to_string(latent_dim()));
  if (S < 1 || Z.cols() != X.cols() * S)
    throw std::invalid_argument(std::string(caller) + ": expected " + std::to_string(X.cols()) + " x " +
                                std::to_string(S) + " latent columns, found " + std::to_string(Z.cols()));
}

}  // namespace vigap
