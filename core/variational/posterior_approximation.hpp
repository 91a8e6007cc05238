#pragma once
// The interface every posterior approximation q(z|x) of a batch of datapoints implements.
#include <string>

#include "core/random.hpp"
#include "core/random_streams.hpp"
#include "core/types.hpp"

namespace vigap {

/// q(z | x_b) for each datapoint b of a fixed batch of B datapoints.
///
/// Samples come as Z, d x (B·S), the S samples of datapoint b in columns b·S ... b·S+S-1,
/// the layout every GenerativeModel method takes. Approximations that are only samplers
/// (HMC) report has_density() == false and throw from log_density.
class PosteriorApproximation {
 public:
  virtual ~PosteriorApproximation() = default;

  virtual Index latent_dim() const = 0;
  virtual Index num_datapoints() const = 0;
  virtual std::string describe() const = 0;

  /// S independent draws z ~ q(z | x_b) for every datapoint b: generator b of `generators`
  /// (one per datapoint) draws datapoint b's columns b·S ... b·S+S-1, column by column, so its
  /// draws do not depend on the other datapoints of the batch.
  virtual MatrixD sample(Index samples_per_datapoint, BatchRng& generators) const = 0;

  /// Convenience form: rng draws for every datapoint in batch order (a one-generator BatchRng).
  MatrixD sample(Index samples_per_datapoint, Rng& rng) const;

  virtual bool has_density() const { return true; }

  /// log q(z_c | x_b), b = c / S, for each column c of Z.
  virtual VectorD log_density(const MatrixD& Z, Index samples_per_datapoint) const = 0;

  /// Whether log_density_with_gradient is available (AIS from q anneals along ∇_z log q).
  virtual bool has_density_gradient() const { return false; }

  /// log q(z_c | x_b), b = c / S, for each column c of Z (as log_density, the same bits), and
  /// grad_Z.col(c) = ∇_z log q(z | x_b) at z_c (d x (B·S)). Throws std::invalid_argument unless
  /// has_density_gradient() (the default), naming the approximation.
  virtual VectorD log_density_with_gradient(const MatrixD& Z, Index samples_per_datapoint, MatrixD& grad_Z) const;

  /// Whether kl_to_standard_normal is available in closed form (the ELBO's analytic-KL form).
  virtual bool has_closed_form_kl_to_standard_normal() const { return false; }

  /// KL(q(z|x_b) ‖ N(0, I)) per datapoint, in closed form. Throws std::invalid_argument unless
  /// has_closed_form_kl_to_standard_normal() (the default), naming the approximation.
  virtual VectorD kl_to_standard_normal() const;

  /// Draws as sample() and returns log q of the draws in *log_density (often cheaper than both).
  virtual MatrixD sample_with_log_density(Index samples_per_datapoint, BatchRng& generators,
                                          VectorD& log_density) const;

  /// Convenience form: rng draws for every datapoint in batch order (a one-generator BatchRng).
  MatrixD sample_with_log_density(Index samples_per_datapoint, Rng& rng, VectorD& log_density) const;

 protected:
  /// Throws std::invalid_argument unless S >= 1 and there is one generator per datapoint (or one
  /// for all).
  void check_generators(const BatchRng& generators, Index samples_per_datapoint, const char* caller) const;
  /// Throws std::invalid_argument unless Z is latent_dim() x (num_datapoints()·S), S >= 1.
  void check_latents(const MatrixD& Z, Index samples_per_datapoint, const char* caller) const;
};

}  // namespace vigap
