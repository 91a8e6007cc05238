#pragma once
// The generative-model interface shared by every approximator and estimator.
#include <string>

#include "core/random.hpp"
#include "core/types.hpp"

namespace vigap {

/// Latents and data drawn from the model: z ~ p(z), x ~ p(x|z).
struct ModelSample {
  MatrixD latents;  ///< d x N
  MatrixF data;     ///< D x N
};

/// p(x, z) = p(x|z) p(z) with the fixed prior p(z) = N(0, I).
///
/// Batched: X is D x B (one column per datapoint); Z is d x (B·S), the S samples belonging to
/// datapoint b in columns b·S ... b·S+S-1. Every method returns one value per column of Z.
/// Implementations are const and keep no hidden state, so one model serves many threads.
class GenerativeModel {
 public:
  virtual ~GenerativeModel() = default;

  virtual Index latent_dim() const = 0;
  virtual Index data_dim() const = 0;
  /// A short human-readable description (family and sizes), recorded in results.
  virtual std::string describe() const = 0;

  /// log p(z) = Σ_j log N(z_j; 0, 1) = -½‖z‖² - (d/2) log 2π, per column.
  VectorD log_prior(const MatrixD& Z) const;

  /// log p(x_b | z_c) for each column c of Z, with b = c / S.
  virtual VectorD log_likelihood(const MatrixF& X, const MatrixD& Z, Index samples_per_datapoint) const = 0;

  /// log p(x_b | z_c) as log_likelihood, and grad_Z(:, c) = ∇_z log p(x_b | z)|_{z_c}.
  virtual VectorD log_likelihood_with_gradient(const MatrixF& X, const MatrixD& Z,
                                               Index samples_per_datapoint, MatrixD& grad_Z) const = 0;

  /// log p(x_b | z_g) for every datapoint b and every latent z_g: a B x G matrix.
  /// The default replicates; models override it with one matrix product (quadrature uses it).
  virtual MatrixD log_likelihood_all_pairs(const MatrixF& X, const MatrixD& Z) const;

  /// N draws (z_n, x_n) from p(z) p(x|z).
  virtual ModelSample sample(Index N, Rng& rng) const = 0;

  /// log p(x, z) = log p(z) + log p(x|z), per column.
  VectorD log_joint(const MatrixF& X, const MatrixD& Z, Index samples_per_datapoint) const;

  /// log p(x, z) and grad_Z = ∇_z log p(x, z) = ∇_z log p(x|z) - z.
  VectorD log_joint_with_gradient(const MatrixF& X, const MatrixD& Z, Index samples_per_datapoint,
                                  MatrixD& grad_Z) const;

 protected:
  /// Throws std::invalid_argument unless X has data_dim() rows, Z latent_dim() rows and
  /// Z.cols() == X.cols() · S with S >= 1; `caller` names the method in the message.
  void check_batch(const MatrixF& X, const MatrixD& Z, Index samples_per_datapoint, const char* caller) const;
};

}  // namespace vigap
