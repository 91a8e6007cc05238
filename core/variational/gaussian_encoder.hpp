#pragma once
// The amortized diagonal Gaussian encoder q_φ(z|x) = N(μ_φ(x), diag(exp(v_φ(x)))).
#include <string>
#include <vector>

#include "core/nn/mlp.hpp"
#include "core/variational/encoder_scale.hpp"
#include "core/variational/trainable_encoder.hpp"

namespace vigap {

/// An MLP x -> hidden... -> 2d whose first d outputs are the mean μ and last d give the
/// log-variances v of a diagonal Gaussian over z: v = h itself (EncoderScale::log_variance, the
/// default) or v = 2 log softplus(h) (softplus_sd, encoders imported from PyTorch).
class GaussianEncoder final : public TrainableEncoder {
 public:
  struct Workspace final : TrainableEncoder::Workspace {
    Mlp::Workspace network;
    MatrixF grad_output;
  };

  GaussianEncoder() = default;
  GaussianEncoder(Index data_dim, const std::vector<Index>& hidden_sizes, Index latent_dim, Activation activation,
                  EncoderScale scale = EncoderScale::log_variance);

  Index data_dim() const override { return network_.input_dim(); }
  Index latent_dim() const override { return network_.output_dim() / 2; }
  EncoderScale scale() const { return scale_; }
  std::string describe() const override;
  Mlp& network() { return network_; }
  const Mlp& network() const { return network_; }
  VectorF& parameters() override { return network_.parameters(); }
  const VectorF& parameters() const override { return network_.parameters(); }
  /// A Workspace whose network passes use `blocking` (Mlp::Workspace::balanced_blocks).
  std::unique_ptr<TrainableEncoder::Workspace> make_workspace(ColumnBlocking blocking) const override;

  /// mean = μ_φ(X), log_variance = v_φ(X), each d x B.
  /// `workspace` must be a GaussianEncoder::Workspace (std::invalid_argument otherwise).
  void forward(const MatrixF& X, TrainableEncoder::Workspace& workspace, MatrixF& mean,
               MatrixF& log_variance) const override;

  /// After forward(X, workspace, ...): given ∂F/∂μ and ∂F/∂v (d x B each), accumulates ∂F/∂φ
  /// into *grad_parameters (layout of network().parameters()).
  void backward(const MatrixF& X, const MatrixF& grad_mean, const MatrixF& grad_log_variance,
                TrainableEncoder::Workspace& workspace, VectorF* grad_parameters) const override;

 private:
  Mlp network_;
  EncoderScale scale_ = EncoderScale::log_variance;
};

}  // namespace vigap
