#include "core/variational/affine_coupling_flow.hpp"

#include "core/math/column_sums.hpp"
#include "core/nn/column_blocks.hpp"

#include <boost/random/uniform_real_distribution.hpp>
#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>

namespace vigap {

namespace {

/// Throws std::invalid_argument unless the gradients match the workspace's last pass (d x N, N).
void check_pass_gradients(const AffineCouplingFlow::Workspace& ws, Index d, const MatrixF& grad,
                          const VectorF& grad_log_det, const std::string& what) {
  const Index N = ws.columns;
  if (ws.blocks.size() < static_cast<size_t>(column_block_count(N)) || grad.rows() != d || grad.cols() != N ||
      grad_log_det.size() != N)
    throw std::invalid_argument("AffineCouplingFlow::" + what);
}

/// block.grad and block.grad_log_det (padding zero) from the columns of one block.
void load_block_gradients(AffineCouplingFlow::BlockWorkspace& block, const MatrixF& grad, const VectorF& grad_log_det,
                          ColumnBlock columns) {
  copy_padded_block(grad, columns, block.grad);
  block.grad_log_det.setZero(kColumnBlockWidth);
  block.grad_log_det.head(columns.count) = grad_log_det.segment(columns.first, columns.count);
}

}  // namespace

void AffineCouplingFlowArchitecture::validate() const {
  if (latent_dim < 1)
    throw std::invalid_argument("flow latent dimension must be >= 1, found " + std::to_string(latent_dim));
  if (num_layers < 1)
    throw std::invalid_argument("flow layers (K) must be >= 1, found " + std::to_string(num_layers));
  for (Index h : hidden_sizes)
    if (h < 1) throw std::invalid_argument("flow hidden sizes must be >= 1, found " + std::to_string(h));
  if (!(log_scale_bound > 0.0) || !std::isfinite(log_scale_bound))
    throw std::invalid_argument("flow log_scale_bound must be finite and > 0, found " + std::to_string(log_scale_bound));
}

AffineCouplingFlow::AffineCouplingFlow(AffineCouplingFlowArchitecture architecture)
    : architecture_(std::move(architecture)) {
  architecture_.validate();
  const Index d = architecture_.latent_dim;
  Index offset = 0;
  for (Index k = 0; k < architecture_.num_layers; ++k) {
    std::vector<Index> sizes{d};
    sizes.insert(sizes.end(), architecture_.hidden_sizes.begin(), architecture_.hidden_sizes.end());
    sizes.push_back(2 * d);
    std::vector<DenseLayer> layers;
    for (size_t l = 0; l + 1 < sizes.size(); ++l) {
      layers.emplace_back(sizes[l], sizes[l + 1], offset);
      offset += layers.back().num_parameters();
    }
    conditioners_.push_back(std::move(layers));
    VectorF mask(d);
    for (Index j = 0; j < d; ++j) mask(j) = (j % 2) == (k % 2) ? 1.0f : 0.0f;
    masks_.push_back(mask);
  }
  parameters_ = VectorF::Zero(offset);
}

std::string AffineCouplingFlow::describe() const {
  std::string hidden;
  for (size_t i = 0; i < architecture_.hidden_sizes.size(); ++i)
    hidden += (i ? "-" : "") + std::to_string(architecture_.hidden_sizes[i]);
  return "affine coupling flow, " + std::to_string(num_layers()) + " layers, conditioner " +
         std::to_string(latent_dim()) + "-" + (hidden.empty() ? "" : hidden + "-") + std::to_string(2 * latent_dim()) +
         " " + to_string(architecture_.activation);
}

void AffineCouplingFlow::initialize(Rng& rng) {
  for (const auto& layers : conditioners_) {
    for (size_t l = 0; l < layers.size(); ++l) {
      auto W = layers[l].weight(parameters_);
      auto b = layers[l].bias(parameters_);
      if (l + 1 == layers.size()) {
        W.setZero();
        b.setZero();
        continue;
      }
      const double bound = 1.0 / std::sqrt(static_cast<double>(layers[l].input_dim()));
      boost::random::uniform_real_distribution<double> uniform(-bound, bound);
      for (Index j = 0; j < W.cols(); ++j)
        for (Index i = 0; i < W.rows(); ++i) W(i, j) = static_cast<float>(uniform(rng));
      for (Index i = 0; i < b.size(); ++i) b(i) = static_cast<float>(uniform(rng));
    }
  }
}

void AffineCouplingFlow::conditioner_forward(Index k, const MatrixF& x, std::vector<MatrixF>& outputs) const {
  const auto& layers = conditioners_[static_cast<size_t>(k)];
  outputs.resize(layers.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    layers[l].forward(parameters_, l == 0 ? x : outputs[l - 1], outputs[l]);
    if (l + 1 < layers.size()) apply_activation(architecture_.activation, outputs[l]);
  }
}

void AffineCouplingFlow::log_scale_and_shift(Index k, const MatrixF& raw, MatrixF& raw_top, MatrixF& s,
                                             MatrixF& t) const {
  const Index d = latent_dim();
  const float c = static_cast<float>(architecture_.log_scale_bound);
  const auto transformed = (1.0f - mask(k).array()).matrix();
  // Contiguous copies first: tanh on a row block would be vectorized differently per column.
  raw_top = raw.topRows(d);
  s = (c * (raw_top.array() / c).tanh()).matrix();
  s.array().colwise() *= transformed.array();
  t = raw.bottomRows(d);
  t.array().colwise() *= transformed.array();
}

void AffineCouplingFlow::forward_block(BlockWorkspace& ws) const {
  const size_t K = static_cast<size_t>(num_layers());
  ws.masked_inputs.resize(K);
  ws.outputs.resize(K);
  ws.log_scales.resize(K);
  ws.inputs.resize(K + 1);
  ws.log_det = VectorD::Zero(kColumnBlockWidth);
  for (size_t k = 0; k < K; ++k) {
    const Index ki = static_cast<Index>(k);
    ws.masked_inputs[k] = ws.inputs[k];
    ws.masked_inputs[k].array().colwise() *= mask(ki).array();
    conditioner_forward(ki, ws.masked_inputs[k], ws.outputs[k]);
    log_scale_and_shift(ki, ws.outputs[k].back(), ws.raw_top, ws.log_scales[k], ws.shift);
    ws.inputs[k + 1] = (ws.inputs[k].array() * ws.log_scales[k].array().exp() + ws.shift.array()).matrix();
    ws.log_det += fixed_order_column_sums(ws.log_scales[k]);
  }
}

void AffineCouplingFlow::forward(const MatrixF& Z0, Workspace& ws, MatrixF& Z, VectorD& log_det) const {
  const Index d = latent_dim();
  if (Z0.rows() != d)
    throw std::invalid_argument("AffineCouplingFlow::forward: input has " + std::to_string(Z0.rows()) +
                                " rows, the flow has latent dimension " + std::to_string(d));
  const Index N = Z0.cols();
  const Index num_blocks = column_block_count(N);
  if (static_cast<Index>(ws.blocks.size()) < num_blocks) ws.blocks.resize(static_cast<size_t>(num_blocks));
  ws.columns = N;
  Z.resize(d, N);
  log_det.resize(N);
  parallel_for_tasks(num_blocks, [&](Index b) {
    BlockWorkspace& block = ws.blocks[static_cast<size_t>(b)];
    const ColumnBlock columns = column_block(b, N);
    block.inputs.resize(static_cast<size_t>(num_layers()) + 1);
    copy_padded_block(Z0, columns, block.inputs[0]);
    forward_block(block);
    Z.middleCols(columns.first, columns.count) = block.inputs.back().leftCols(columns.count);
    log_det.segment(columns.first, columns.count) = block.log_det.head(columns.count);
  });
}

void AffineCouplingFlow::conditioner_backward(Index k, BlockWorkspace& ws, VectorF* grad_parameters) const {
  const Index d = latent_dim();
  ws.grad_conditioner.resize(2 * d, ws.grad.cols());
  ws.grad_conditioner.topRows(d) = ws.raw_top;
  ws.grad_conditioner.bottomRows(d) = ws.shift;
  // Output layer first.
  const auto& layers = conditioners_[static_cast<size_t>(k)];
  const auto& outputs = ws.outputs[static_cast<size_t>(k)];
  const MatrixF* delta = &ws.grad_conditioner;
  for (size_t l = layers.size(); l-- > 0;) {
    const MatrixF& in = l == 0 ? ws.masked_inputs[static_cast<size_t>(k)] : outputs[l - 1];
    if (l > 0) {
      layers[l].backward(parameters_, in, *delta, grad_parameters, &ws.delta_previous);
      multiply_by_activation_derivative(architecture_.activation, outputs[l - 1], ws.delta_previous);
      ws.delta.swap(ws.delta_previous);
      delta = &ws.delta;
    } else {
      layers[l].backward(parameters_, in, *delta, grad_parameters, &ws.grad_masked_input);
    }
  }
  ws.grad_masked_input.array().colwise() *= mask(k).array();
  ws.grad = (ws.grad.array() * ws.z.array() + ws.grad_masked_input.array()).matrix();
}

void AffineCouplingFlow::backward_block(BlockWorkspace& ws, VectorF* grad_parameters) const {
  const size_t K = static_cast<size_t>(num_layers());
  const float inv_c = static_cast<float>(1.0 / architecture_.log_scale_bound);
  for (size_t k = K; k-- > 0;) {
    const Index ki = static_cast<Index>(k);
    const auto transformed = (1.0f - mask(ki).array());
    const MatrixF& s = ws.log_scales[k];
    // Every elementwise step on whole contiguous matrices, so every entry is vectorized alike.
    ws.z = s.array().exp().matrix();
    const auto exp_s = ws.z.array();
    // ∂F/∂s = (1-m) ⊙ (g ⊙ z ⊙ e^s + ∂F/∂logdet);  ds/da = 1 - tanh²(a/c) = 1 - (s/c)².
    ws.raw_top = (ws.grad.array() * ws.inputs[k].array() * exp_s).matrix();
    ws.raw_top.rowwise() += ws.grad_log_det.transpose();
    ws.raw_top.array() *= 1.0f - (s.array() * inv_c).square();
    ws.raw_top.array().colwise() *= transformed;
    ws.shift = ws.grad;
    ws.shift.array().colwise() *= transformed;
    // ∂F/∂z = g ⊙ e^s (e^s = 1 on conditioning rows) + m ⊙ ∂F/∂(m ⊙ z).
    conditioner_backward(ki, ws, grad_parameters);
  }
}

void AffineCouplingFlow::backward(Workspace& ws, const MatrixF& grad_Z, const VectorF& grad_log_det,
                                  VectorF* grad_parameters, MatrixF* grad_Z0) const {
  const Index d = latent_dim();
  const Index N = ws.columns;
  check_pass_gradients(ws, d, grad_Z, grad_log_det,
                       "backward: gradients or workspace do not match the last forward pass");
  if (grad_parameters != nullptr && grad_parameters->size() != num_parameters())
    throw std::invalid_argument("AffineCouplingFlow::backward: the parameter gradient must have " +
                                std::to_string(num_parameters()) + " entries, found " +
                                std::to_string(grad_parameters->size()));
  if (grad_Z0 != nullptr) grad_Z0->resize(d, N);
  const Index num_blocks = column_block_count(N);
  auto block_backward = [&](Index b) {
    BlockWorkspace& block = ws.blocks[static_cast<size_t>(b)];
    const ColumnBlock columns = column_block(b, N);
    load_block_gradients(block, grad_Z, grad_log_det, columns);
    VectorF* block_gradient = nullptr;
    if (grad_parameters != nullptr) {
      block.gradient.setZero(num_parameters());
      block_gradient = &block.gradient;
    }
    backward_block(block, block_gradient);
    if (grad_Z0 != nullptr) grad_Z0->middleCols(columns.first, columns.count) = block.grad.leftCols(columns.count);
  };
  for_each_block_summing_gradients(
      num_blocks, block_backward, [&](Index b) -> const VectorF& { return ws.blocks[static_cast<size_t>(b)].gradient; },
      grad_parameters);
}

void AffineCouplingFlow::inverse_block(BlockWorkspace& ws) const {
  // ws.inputs[K] holds the input; layer k's inverse writes ws.inputs[k] and keeps, as forward
  // does, its masked input, conditioner outputs and log-scales (m_k ⊙ y = m_k ⊙ x: the
  // conditioning rows pass through unchanged).
  const size_t K = static_cast<size_t>(num_layers());
  ws.inputs.resize(K + 1);
  ws.masked_inputs.resize(K);
  ws.outputs.resize(K);
  ws.log_scales.resize(K);
  ws.log_det = VectorD::Zero(kColumnBlockWidth);
  for (size_t k = K; k-- > 0;) {
    const Index ki = static_cast<Index>(k);
    ws.masked_inputs[k] = ws.inputs[k + 1];
    ws.masked_inputs[k].array().colwise() *= mask(ki).array();
    conditioner_forward(ki, ws.masked_inputs[k], ws.outputs[k]);
    log_scale_and_shift(ki, ws.outputs[k].back(), ws.raw_top, ws.log_scales[k], ws.shift);
    ws.inputs[k] = ((ws.inputs[k + 1] - ws.shift).array() * (-ws.log_scales[k].array()).exp()).matrix();
    ws.log_det += fixed_order_column_sums(ws.log_scales[k]);
  }
}

void AffineCouplingFlow::inverse_blocks(const MatrixF& Z, const std::function<BlockWorkspace&(Index)>& block_for,
                                        MatrixF& Z0, VectorD& log_det) const {
  const Index d = latent_dim();
  if (Z.rows() != d)
    throw std::invalid_argument("AffineCouplingFlow::inverse: input has " + std::to_string(Z.rows()) +
                                " rows, the flow has latent dimension " + std::to_string(d));
  const Index N = Z.cols();
  Z0.resize(d, N);
  log_det.resize(N);
  const size_t K = static_cast<size_t>(num_layers());
  parallel_for_tasks(column_block_count(N), [&](Index b) {
    BlockWorkspace& block = block_for(b);
    const ColumnBlock columns = column_block(b, N);
    block.inputs.resize(K + 1);
    copy_padded_block(Z, columns, block.inputs[K]);
    inverse_block(block);
    Z0.middleCols(columns.first, columns.count) = block.inputs[0].leftCols(columns.count);
    log_det.segment(columns.first, columns.count) = block.log_det.head(columns.count);
  });
}

void AffineCouplingFlow::inverse(const MatrixF& Z, MatrixF& Z0, VectorD& log_det) const {
  // One block's memory per thread, whatever N (log_density of large grids).
  inverse_blocks(
      Z, [](Index) -> BlockWorkspace& {
        thread_local BlockWorkspace block;
        return block;
      },
      Z0, log_det);
}

void AffineCouplingFlow::inverse(const MatrixF& Z, Workspace& ws, MatrixF& Z0, VectorD& log_det) const {
  const Index num_blocks = column_block_count(Z.cols());
  if (static_cast<Index>(ws.blocks.size()) < num_blocks) ws.blocks.resize(static_cast<size_t>(num_blocks));
  ws.columns = Z.cols();
  inverse_blocks(Z, [&ws](Index b) -> BlockWorkspace& { return ws.blocks[static_cast<size_t>(b)]; }, Z0, log_det);
}

void AffineCouplingFlow::inverse_backward_block(BlockWorkspace& ws) const {
  // ws.grad holds ∂F/∂Z0 on entry and ∂F/∂Z on return; layers in the order the inverse undid them last.
  const float inv_c = static_cast<float>(1.0 / architecture_.log_scale_bound);
  for (size_t k = 0; k < static_cast<size_t>(num_layers()); ++k) {
    const Index ki = static_cast<Index>(k);
    const auto transformed = (1.0f - mask(ki).array());
    const MatrixF& s = ws.log_scales[k];
    ws.z = (-s.array()).exp().matrix();
    const auto exp_minus_s = ws.z.array();
    // ∂F/∂s = (1-m) ⊙ (-g ⊙ x + ∂F/∂logdet);  ds/da = 1 - tanh²(a/c) = 1 - (s/c)².
    ws.raw_top = (-(ws.grad.array() * ws.inputs[k].array())).matrix();
    ws.raw_top.rowwise() += ws.grad_log_det.transpose();
    ws.raw_top.array() *= 1.0f - (s.array() * inv_c).square();
    ws.raw_top.array().colwise() *= transformed;
    ws.shift = (-(ws.grad.array() * exp_minus_s)).matrix();  // ∂F/∂t
    ws.shift.array().colwise() *= transformed;
    // ∂F/∂y = g ⊙ e^{-s} (1 on conditioning rows) + m ⊙ ∂F/∂(m ⊙ y).
    conditioner_backward(ki, ws, nullptr);
  }
}

void AffineCouplingFlow::inverse_backward(Workspace& ws, const MatrixF& grad_Z0, const VectorF& grad_log_det,
                                          MatrixF& grad_Z) const {
  const Index d = latent_dim();
  const Index N = ws.columns;
  check_pass_gradients(ws, d, grad_Z0, grad_log_det,
                       "inverse_backward: gradients or workspace do not match the last inverse pass");
  grad_Z.resize(d, N);
  parallel_for_tasks(column_block_count(N), [&](Index b) {
    BlockWorkspace& block = ws.blocks[static_cast<size_t>(b)];
    const ColumnBlock columns = column_block(b, N);
    load_block_gradients(block, grad_Z0, grad_log_det, columns);
    inverse_backward_block(block);
    grad_Z.middleCols(columns.first, columns.count) = block.grad.leftCols(columns.count);
  });
}

}  // namespace vigap
