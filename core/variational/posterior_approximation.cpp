#include "core/variational/posterior_approximation.hpp"

#include <stdexcept>

namespace vigap {

MatrixD PosteriorApproximation::sample_with_log_density(Index S, BatchRng& generators,
                                                        VectorD& log_density_out) const {
  MatrixD Z = sample(S, generators);
  log_density_out = log_density(Z, S);
  return Z;
}

MatrixD PosteriorApproximation::sample(Index S, Rng& rng) const {
  BatchRng one(std::vector<Rng>{rng});
  MatrixD Z = sample(S, one);
  rng = one[0];
  return Z;
}

MatrixD PosteriorApproximation::sample_with_log_density(Index S, Rng& rng, VectorD& log_density_out) const {
  BatchRng one(std::vector<Rng>{rng});
  MatrixD Z = sample_with_log_density(S, one, log_density_out);
  rng = one[0];
  return Z;
}

VectorD PosteriorApproximation::log_density_with_gradient(const MatrixD&, Index, MatrixD&) const {
  throw std::invalid_argument("PosteriorApproximation::log_density_with_gradient: \"" + describe() + "\" " +
                              (has_density() ? "has no gradient of log q" : "has no density"));
}

VectorD PosteriorApproximation::kl_to_standard_normal() const {
  throw std::invalid_argument("PosteriorApproximation::kl_to_standard_normal: \"" + describe() +
                              "\" has no closed-form KL to N(0, I)");
}

void PosteriorApproximation::check_generators(const BatchRng& generators, Index S, const char* caller) const {
  if (S < 1) throw std::invalid_argument(std::string(caller) + ": samples per datapoint must be >= 1, found " + std::to_string(S));
  if (!generators.serves(num_datapoints()))
    throw std::invalid_argument(std::string(caller) + ": expected one generator per datapoint (" +
                                std::to_string(num_datapoints()) + "), found " + std::to_string(generators.size()));
}

void PosteriorApproximation::check_latents(const MatrixD& Z, Index S, const char* caller) const {
  if (S < 1) throw std::invalid_argument(std::string(caller) + ": samples per datapoint must be >= 1, found " + std::to_string(S));
  if (Z.rows() != latent_dim() || Z.cols() != num_datapoints() * S)
    throw std::invalid_argument(std::string(caller) + ": expected latents of shape " + std::to_string(latent_dim()) +
                                " x " + std::to_string(num_datapoints() * S) + ", found " +
                                std::to_string(Z.rows()) + " x " + std::to_string(Z.cols()));
}

}  // namespace vigap
