#pragma once
// The interface training code uses for a decoder: a generative model with one flat float
// parameter vector and hand-written forward and backward passes over whole batches.
#include <memory>

#include "core/models/generative_model.hpp"
#include "core/models/likelihood.hpp"
#include "core/nn/column_blocks.hpp"

namespace vigap {

/// p(z) = N(0, I), p(x|z) = likelihood(x; η_θ(z)) with η_θ a differentiable map of the flat float
/// parameters θ (Bernoulli: η ∈ R^D logits; Gaussian: η ∈ R^{2D}, D means then D log-variances).
///
/// The training objectives (vae_objective, exact_marginal_likelihood_objective), the trainers and
/// the gradient-variance estimator use only this interface. Every method handles a whole batch
/// (one virtual call per batch, never per sample). Latents are float here, as the networks run
/// in float; the GenerativeModel methods keep their double interface.
class TrainableDecoder : public GenerativeModel {
 public:
  /// What a forward pass keeps for its backward pass, and scratch memory; made by
  /// make_workspace and used by one thread at a time. Reuse one across calls to avoid allocation.
  struct Workspace {
    virtual ~Workspace() = default;
  };

  virtual Likelihood likelihood() const = 0;

  /// θ, the flat parameter vector (Adam updates it; gradients have its layout).
  virtual VectorF& parameters() = 0;
  virtual const VectorF& parameters() const = 0;
  Index num_parameters() const { return parameters().size(); }

  /// A workspace for this decoder whose passes split the batch's columns as `blocking` says
  /// (training steps: balanced; fixed where a column must not depend on its batch).
  virtual std::unique_ptr<Workspace> make_workspace(ColumnBlocking blocking) const = 0;

  /// log p(x_b | z_c) per column c of Z (d x (B·S), b = c / S); keeps in `workspace` what
  /// backward needs.
  virtual VectorD forward(const MatrixF& X, const MatrixF& Z, Index S, Workspace& workspace) const = 0;

  /// After forward(X, Z, S, workspace): for F = Σ_c w_c log p(x_b | z_c) with column weights w
  /// (size B·S), accumulates ∂F/∂θ into *grad_parameters (when non-null, layout of parameters())
  /// and writes ∂F/∂Z into *grad_Z (when non-null).
  virtual void backward(const MatrixF& X, const MatrixF& Z, Index S, const VectorF& column_weights,
                        Workspace& workspace, VectorF* grad_parameters, MatrixF* grad_Z) const = 0;

  /// η_θ(z) for every column of Z (d x N): the likelihood's parameters, rows as in the class
  /// comment. The reference lives in `workspace` until its next use; keeps what backward_output needs.
  virtual const MatrixF& output(const MatrixF& Z, Workspace& workspace) const = 0;

  /// After output(Z, workspace): for an upstream gradient G = ∂F/∂η (same shape as the output),
  /// accumulates ∂F/∂θ = Σ_c (∂η(z_c)/∂θ)ᵀ G_c into *grad_parameters.
  virtual void backward_output(const MatrixF& Z, const MatrixF& grad_output, Workspace& workspace,
                               VectorF* grad_parameters) const = 0;
};

}  // namespace vigap
