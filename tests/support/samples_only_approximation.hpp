#pragma once
// A PosteriorApproximation that only samples (as HMC draws do): for the errors of estimators
// that need a density (test support).
#include <stdexcept>
#include <string>

#include "core/variational/posterior_approximation.hpp"

namespace vigap::testing {

/// d x B zeros for every draw; has_density() is false and log_density throws.
class SamplesOnlyApproximation final : public PosteriorApproximation {
 public:
  SamplesOnlyApproximation(Index latent_dim, Index num_datapoints, std::string name)
      : latent_dim_(latent_dim), num_datapoints_(num_datapoints), name_(std::move(name)) {}
  Index latent_dim() const override { return latent_dim_; }
  Index num_datapoints() const override { return num_datapoints_; }
  std::string describe() const override { return name_; }
  using PosteriorApproximation::sample;
  MatrixD sample(Index S, BatchRng&) const override { return MatrixD::Zero(latent_dim_, num_datapoints_ * S); }
  bool has_density() const override { return false; }
  VectorD log_density(const MatrixD&, Index) const override {
    throw std::invalid_argument("SamplesOnlyApproximation: no density");
  }

 private:
  Index latent_dim_, num_datapoints_;
  std::string name_;
};

}  // namespace vigap::testing
