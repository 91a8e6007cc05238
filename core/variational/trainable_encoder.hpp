#pragma once
// The interface training code uses for an amortized diagonal Gaussian encoder.
#include <memory>
#include <string>

#include "core/nn/column_blocks.hpp"
#include "core/types.hpp"

namespace vigap {

/// q_φ(z|x) = N(μ_φ(x), diag exp(v_φ(x))) with μ_φ, v_φ differentiable maps of the flat float
/// parameters φ. The training objectives, the trainers and the gradient-variance estimator use
/// only this interface; every method handles a whole batch X (D x B), one virtual call per batch.
class TrainableEncoder {
 public:
  /// What a forward pass keeps for its backward pass, and scratch memory; made by
  /// make_workspace and used by one thread at a time.
  struct Workspace {
    virtual ~Workspace() = default;
  };

  virtual ~TrainableEncoder() = default;

  virtual Index data_dim() const = 0;
  virtual Index latent_dim() const = 0;
  virtual std::string describe() const = 0;

  /// φ, the flat parameter vector (Adam updates it; gradients have its layout).
  virtual VectorF& parameters() = 0;
  virtual const VectorF& parameters() const = 0;
  Index num_parameters() const { return parameters().size(); }

  /// A workspace for this encoder whose passes split the batch's columns as `blocking` says.
  virtual std::unique_ptr<Workspace> make_workspace(ColumnBlocking blocking) const = 0;

  /// mean = μ_φ(X), log_variance = v_φ(X), each d x B; keeps in `workspace` what backward needs.
  virtual void forward(const MatrixF& X, Workspace& workspace, MatrixF& mean, MatrixF& log_variance) const = 0;

  /// After forward(X, workspace, ...): given ∂F/∂μ and ∂F/∂v (d x B each), accumulates ∂F/∂φ into
  /// *grad_parameters (layout of parameters()).
  virtual void backward(const MatrixF& X, const MatrixF& grad_mean, const MatrixF& grad_log_variance,
                        Workspace& workspace, VectorF* grad_parameters) const = 0;

 protected:
  TrainableEncoder() = default;
  TrainableEncoder(const TrainableEncoder&) = default;
  TrainableEncoder& operator=(const TrainableEncoder&) = default;
};

}  // namespace vigap
