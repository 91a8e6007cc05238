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
  /// What one fixed column block (core/nn/column_blocks.hpp) keeps from forward for backward.
  struct BlockWorkspace {
    MatrixF input;                 ///< the block's input columns, padded with zero columns
    std::vector<MatrixF> outputs;  ///< outputs[l]: output of layer l (after its activation)
    std::vector<MatrixF> deltas;   ///< scratch for backward
    MatrixF grad_output;           ///< the block's upstream gradient, padded with zero columns
    MatrixF grad_input;            ///< the block's ∂f/∂input
    VectorF gradient;              ///< this block's ∂f/∂θ (summed over blocks in block order)
  };
  /// Activations kept from the forward pass for the backward pass, plus scratch buffers.
  /// Reuse one workspace across calls to avoid allocation.
  struct Workspace {
    std::vector<BlockWorkspace> blocks;
    MatrixF output;     ///< the network output of the last forward pass (output_dim x N)
    Index columns = 0;  ///< N of the last forward pass
    /// false (default): fixed kColumnBlockWidth blocks, the last padded, so that a column's
    /// output is the same bits at any N. true: column_block_count(N) unpadded blocks of nearly
    /// equal width (training steps: faster at N = 100; results depend on N, not on the threads).
    bool balanced_blocks = false;
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

  /// Forward pass; returns a reference to the output (stored in the workspace). Runs on fixed
  /// column blocks (core/nn/column_blocks.hpp), split over worker_threads() threads, so that
  /// each output column is the same bits whatever N, the column's position and the threads.
  const MatrixF& forward(const MatrixF& input, Workspace& workspace) const;

  /// Backward pass after forward(input, workspace) for upstream gradient grad_output = ∂f/∂output:
  /// accumulates ∂f/∂θ into *gradient (same layout as parameters()) when non-null, and writes
  /// ∂f/∂input to *grad_input when non-null. On the forward pass's column blocks; the blocks'
  /// parameter gradients are added in block order (waves of a fixed number of blocks), so the
  /// result does not depend on the thread count.
  void backward(const MatrixF& input, Workspace& workspace, const MatrixF& grad_output,
                VectorF* gradient, MatrixF* grad_input) const;

 private:
  std::vector<Index> layer_sizes_;
  Activation hidden_activation_ = Activation::tanh;
  std::vector<DenseLayer> layers_;
  VectorF parameters_;
};

}  // namespace vigap
