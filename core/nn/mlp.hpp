#pragma once
// A multilayer perceptron: affine layers with a hidden nonlinearity, linear output layer.
#include <vector>

#include "core/nn/activation.hpp"
#include "core/nn/dense_layer.hpp"
#include "core/random.hpp"
#include "core/types.hpp"

namespace vigap {

/// f(x) = W_L a(... a(W_1 x + b_1) ...) + b_L, all parameters in one flat float vector
/// (layer l's W then b, in order), so that Adam, checkpoints and gradients handle one vector.
class Mlp {
 public:
  /// Activations kept from the forward pass for the backward pass, plus scratch buffers.
  /// Reuse one workspace across calls to avoid allocation.
  struct Workspace {
    std::vector<MatrixF> outputs;  ///< outputs[l]: output of layer l (after its activation)
    std::vector<MatrixF> deltas;   ///< scratch for backward
  };

  Mlp() = default;
  /// layer_sizes = {input, hidden_1, ..., hidden_k, output}; at least input and output.
  Mlp(std::vector<Index> layer_sizes, Activation hidden_activation);

  Index input_dim() const { return layer_sizes_.front(); }
  Index output_dim() const { return layer_sizes_.back(); }
  const std::vector<Index>& layer_sizes() const { return layer_sizes_; }
  Activation hidden_activation() const { return hidden_activation_; }
  const std::vector<DenseLayer>& layers() const { return layers_; }
  Index num_parameters() const { return parameters_.size(); }

  VectorF& parameters() { return parameters_; }
  const VectorF& parameters() const { return parameters_; }

  /// PyTorch's nn.Linear default: W and b uniform in ±1/sqrt(fan_in).
  void initialize(Rng& rng);

  /// Multiply-adds of one forward pass for one input column (Σ_l in_l * out_l).
  double forward_multiply_adds_per_column() const;

  /// Forward pass; returns a reference to the output (stored in the workspace).
  const MatrixF& forward(const MatrixF& input, Workspace& workspace) const;

  /// Backward pass after forward(input, workspace) for upstream gradient grad_output = ∂f/∂output:
  /// accumulates ∂f/∂θ into *gradient (same layout as parameters()) when non-null, and writes
  /// ∂f/∂input to *grad_input when non-null.
  void backward(const MatrixF& input, Workspace& workspace, const MatrixF& grad_output,
                VectorF* gradient, MatrixF* grad_input) const;

 private:
  std::vector<Index> layer_sizes_;
  Activation hidden_activation_ = Activation::tanh;
  std::vector<DenseLayer> layers_;
  VectorF parameters_;
};

}  // namespace vigap
