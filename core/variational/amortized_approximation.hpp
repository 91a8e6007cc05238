#pragma once
// The interface of an amortized posterior approximation: q(z|x) for any batch of datapoints.
#include <memory>
#include <string>

#include "core/types.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/posterior_approximation.hpp"

namespace vigap {

/// q(z|x) as one map from datapoints to approximations (an encoder, possibly followed by a flow):
/// what a checkpoint holds next to its model, whatever the backend.
class AmortizedApproximation {
 public:
  virtual ~AmortizedApproximation() = default;

  virtual Index data_dim() const = 0;
  virtual Index latent_dim() const = 0;
  /// The name results give the amortized q ("amortized FFG (encoder)", ...).
  virtual std::string describe() const = 0;

  /// q(z | x_b) for every column x_b of X (data_dim() x B).
  virtual std::unique_ptr<PosteriorApproximation> posterior(const MatrixF& X) const = 0;

  /// N(μ(x_b), diag e^{v(x_b)}): the diagonal Gaussian that q(z|x) is, or that q's flow transforms
  /// (the encoder's output before the flow). Local fits (q*) start from it.
  virtual DiagonalGaussian gaussian_base(const MatrixF& X) const = 0;

  /// Whether posterior(X) is gaussian_base(X) itself (no flow or other transform after the encoder).
  virtual bool is_diagonal_gaussian() const = 0;
};

}  // namespace vigap
