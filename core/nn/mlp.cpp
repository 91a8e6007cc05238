#include "core/nn/mlp.hpp"

#include "core/nn/column_blocks.hpp"

#include <boost/random/uniform_real_distribution.hpp>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace vigap {

Mlp::Mlp(std::vector<Index> layer_sizes, Activation hidden_activation)
    : layer_sizes_(std::move(layer_sizes)), hidden_activation_(hidden_activation) {
  if (layer_sizes_.size() < 2)
    throw std::invalid_argument("Mlp: need at least an input and an output size, found " +
                                std::to_string(layer_sizes_.size()) + " sizes");
  Index offset = 0;
  for (size_t l = 0; l + 1 < layer_sizes_.size(); ++l) {
    layers_.emplace_back(layer_sizes_[l], layer_sizes_[l + 1], offset);
    offset += layers_.back().num_parameters();
  }
  parameters_ = VectorF::Zero(offset);
}

void Mlp::initialize(Rng& rng) {
  for (const DenseLayer& layer : layers_) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(layer.input_dim()));
    boost::random::uniform_real_distribution<double> uniform(-bound, bound);
    auto W = layer.weight(parameters_);
    for (Index j = 0; j < W.cols(); ++j)
      for (Index i = 0; i < W.rows(); ++i) W(i, j) = static_cast<float>(uniform(rng));
    auto b = layer.bias(parameters_);
    for (Index i = 0; i < b.size(); ++i) b(i) = static_cast<float>(uniform(rng));
  }
}

double Mlp::forward_multiply_adds_per_column() const {
  double total = 0.0;
  for (const DenseLayer& layer : layers_)
    total += static_cast<double>(layer.input_dim()) * static_cast<double>(layer.output_dim());
  return total;
}

const MatrixF& Mlp::forward(const MatrixF& input, Workspace& ws) const {
  if (input.rows() != input_dim())
    throw std::invalid_argument("Mlp::forward: input has " + std::to_string(input.rows()) +
                                " rows, the network expects " + std::to_string(input_dim()));
  const size_t L = layers_.size();
  const Index N = input.cols();
  const Index num_blocks = column_block_count(N);
  if (static_cast<Index>(ws.blocks.size()) < num_blocks) ws.blocks.resize(static_cast<size_t>(num_blocks));
  ws.columns = N;
  ws.output.resize(output_dim(), N);
  parallel_for_tasks(num_blocks, [&](Index b) {
    BlockWorkspace& block = ws.blocks[static_cast<size_t>(b)];
    const ColumnBlock columns = ws.balanced_blocks ? balanced_column_block(b, N) : column_block(b, N);
    copy_padded_block(input, columns, block.input);
    block.outputs.resize(L);
    for (size_t l = 0; l < L; ++l) {
      const MatrixF& in = l == 0 ? block.input : block.outputs[l - 1];
      layers_[l].forward(parameters_, in, block.outputs[l]);
      if (l + 1 < L) apply_activation(hidden_activation_, block.outputs[l]);
    }
    ws.output.middleCols(columns.first, columns.count) = block.outputs.back().leftCols(columns.count);
  });
  return ws.output;
}

void Mlp::backward(const MatrixF& input, Workspace& ws, const MatrixF& grad_output,
                   VectorF* gradient, MatrixF* grad_input) const {
  const size_t L = layers_.size();
  const Index N = ws.columns;
  if (ws.output.cols() != N || input.cols() != N || grad_output.rows() != output_dim() || grad_output.cols() != N)
    throw std::invalid_argument("Mlp::backward: gradient or workspace does not match the last forward pass");
  if (grad_input != nullptr) grad_input->resize(input_dim(), N);
  const Index num_blocks = column_block_count(N);
  auto block_backward = [&](Index b) {
    BlockWorkspace& block = ws.blocks[static_cast<size_t>(b)];
    const ColumnBlock columns = ws.balanced_blocks ? balanced_column_block(b, N) : column_block(b, N);
    copy_padded_block(grad_output, columns, block.grad_output);
    VectorF* block_gradient = nullptr;
    if (gradient != nullptr) {
      block.gradient.setZero(num_parameters());
      block_gradient = &block.gradient;
    }
    block.deltas.resize(L);
    // deltas[l] holds ∂f/∂(pre-activation of layer l).
    for (size_t l = L; l-- > 0;) {
      const MatrixF& delta = l + 1 == L ? block.grad_output : block.deltas[l];
      const MatrixF& in = l == 0 ? block.input : block.outputs[l - 1];
      if (l > 0) {
        layers_[l].backward(parameters_, in, delta, block_gradient, &block.deltas[l - 1]);
        multiply_by_activation_derivative(hidden_activation_, block.outputs[l - 1], block.deltas[l - 1]);
      } else {
        layers_[l].backward(parameters_, in, delta, block_gradient, grad_input != nullptr ? &block.grad_input : nullptr);
        if (grad_input != nullptr) grad_input->middleCols(columns.first, columns.count) = block.grad_input.leftCols(columns.count);
      }
    }
  };
  for_each_block_summing_gradients(
      num_blocks, block_backward, [&](Index b) -> const VectorF& { return ws.blocks[static_cast<size_t>(b)].gradient; },
      gradient);
}

}  // namespace vigap
