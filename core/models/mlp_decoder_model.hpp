#pragma once
// A generative model whose likelihood is parameterized by a multilayer perceptron decoder.
#include <string>
#include <vector>

#include "core/models/decoder_likelihood.hpp"
#include "core/models/likelihood.hpp"
#include "core/models/trainable_decoder.hpp"
#include "core/nn/mlp.hpp"

namespace vigap {

/// p(z) = N(0, I), p(x|z) given by an MLP z -> hidden... -> D (Bernoulli) or 2D (Gaussian)
/// outputs. The network runs in float; per-column log-likelihoods are summed in double.
class MlpDecoderModel final : public TrainableDecoder {
 public:
  /// Scratch memory for forward/backward, reused across calls to avoid allocation.
  struct Workspace final : TrainableDecoder::Workspace {
    Mlp::Workspace network;
    MatrixF latents;       ///< float copy of Z for the double interface
    MatrixF grad_output;   ///< ∂/∂(decoder output)
    MatrixF grad_latents;  ///< ∂/∂z
    MatrixF data;          ///< x of each latent column (D x columns)
    DecoderLikelihoodScratch likelihood;  ///< the likelihood's terms and halves
    VectorF column_weights;
  };

  MlpDecoderModel(Index latent_dim, const std::vector<Index>& hidden_sizes, Index data_dim,
                  Activation activation, Likelihood likelihood);

  Index latent_dim() const override { return network_.input_dim(); }
  Index data_dim() const override { return data_dim_; }
  std::string describe() const override;
  Likelihood likelihood() const override { return likelihood_; }

  Mlp& network() { return network_; }
  const Mlp& network() const { return network_; }
  VectorF& parameters() override { return network_.parameters(); }
  const VectorF& parameters() const override { return network_.parameters(); }
  /// A Workspace whose network passes use `blocking` (Mlp::Workspace::balanced_blocks).
  std::unique_ptr<TrainableDecoder::Workspace> make_workspace(ColumnBlocking blocking) const override;

  VectorD log_likelihood(const MatrixF& X, const MatrixD& Z, Index S) const override;
  VectorD log_likelihood_with_gradient(const MatrixF& X, const MatrixD& Z, Index S,
                                       MatrixD& grad_Z) const override;
  /// One decoder pass over the G latents (independent of x), then one double-precision
  /// matrix product: Bernoulli Xᵀ L - 1 Σ_i softplus(L_ig); Gaussian by expanding the square.
  MatrixD log_likelihood_all_pairs(const MatrixF& X, const MatrixD& Z) const override;
  ModelSample sample(Index N, Rng& rng) const override;

  /// Float forward pass: log p(x_b | z_c) per column of Z (d x (B·S)); keeps what backward needs.
  /// `workspace` must be a MlpDecoderModel::Workspace (std::invalid_argument otherwise).
  VectorD forward(const MatrixF& X, const MatrixF& Z, Index S, TrainableDecoder::Workspace& workspace) const override;

  /// After forward(X, Z, S, workspace): for an objective F = Σ_c w_c log p(x_b | z_c) with column
  /// weights w (size B·S), accumulates ∂F/∂θ into *grad_parameters (when non-null, the layout
  /// of network().parameters()) and writes ∂F/∂Z into *grad_Z (when non-null).
  void backward(const MatrixF& X, const MatrixF& Z, Index S, const VectorF& column_weights,
                TrainableDecoder::Workspace& workspace, VectorF* grad_parameters, MatrixF* grad_Z) const override;

  /// The network's output (logits, or means and log-variances) for the columns of Z.
  const MatrixF& output(const MatrixF& Z, TrainableDecoder::Workspace& workspace) const override;
  /// The network's backward pass from ∂F/∂output after output(Z, workspace).
  void backward_output(const MatrixF& Z, const MatrixF& grad_output, TrainableDecoder::Workspace& workspace,
                       VectorF* grad_parameters) const override;

 private:
  /// log p(x|z) per column (and ∇_z when grad_Z is non-null), on fixed column blocks over threads.
  void evaluate_blocks(const MatrixF& X, const MatrixD& Z, Index S, VectorD& values, MatrixD* grad_Z) const;
  /// workspace.data = the datapoint of each of `columns` latent columns (S per datapoint).
  void replicate_data(const MatrixF& X, Index S, Index columns, Workspace& workspace) const;
  /// The forward pass on latent columns whose data are already in workspace.data.
  VectorD forward_columns(const MatrixF& Z, Workspace& workspace) const;
  void check_data(const MatrixF& X, Index latent_columns, Index S, Index latent_rows, const char* caller) const;

  Mlp network_;
  Index data_dim_;
  Likelihood likelihood_;
};

}  // namespace vigap
