#include "core/variational/affine_coupling_flow.hpp"

#include <boost/random/uniform_real_distribution.hpp>
#include <cmath>
#include <stdexcept>
#include <string>

namespace vigap {

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

void AffineCouplingFlow::log_scale_and_shift(Index k, const MatrixF& raw, MatrixF& s, MatrixF& t) const {
  const Index d = latent_dim();
  const float c = static_cast<float>(architecture_.log_scale_bound);
  const auto transformed = (1.0f - mask(k).array()).matrix();
  s = (c * (raw.topRows(d).array() / c).tanh()).colwise() * transformed.array();
  t = raw.bottomRows(d).array().colwise() * transformed.array();
}

void AffineCouplingFlow::forward(const MatrixF& Z0, Workspace& ws, MatrixF& Z, VectorD& log_det) const {
  const Index d = latent_dim();
  if (Z0.rows() != d)
    throw std::invalid_argument("AffineCouplingFlow::forward: input has " + std::to_string(Z0.rows()) +
                                " rows, the flow has latent dimension " + std::to_string(d));
  const size_t K = static_cast<size_t>(num_layers());
  ws.inputs.resize(K);
  ws.masked_inputs.resize(K);
  ws.outputs.resize(K);
  ws.log_scales.resize(K);
  log_det = VectorD::Zero(Z0.cols());
  MatrixF t;
  Z = Z0;
  for (size_t k = 0; k < K; ++k) {
    const Index ki = static_cast<Index>(k);
    ws.inputs[k] = Z;
    ws.masked_inputs[k] = Z.array().colwise() * mask(ki).array();
    conditioner_forward(ki, ws.masked_inputs[k], ws.outputs[k]);
    log_scale_and_shift(ki, ws.outputs[k].back(), ws.log_scales[k], t);
    Z = (ws.inputs[k].array() * ws.log_scales[k].array().exp() + t.array()).matrix();
    log_det += ws.log_scales[k].cast<double>().colwise().sum().transpose();
  }
}

void AffineCouplingFlow::backward(Workspace& ws, const MatrixF& grad_Z, const VectorF& grad_log_det,
                                  VectorF* grad_parameters, MatrixF* grad_Z0) const {
  const Index d = latent_dim();
  const size_t K = static_cast<size_t>(num_layers());
  if (ws.inputs.size() != K || grad_Z.rows() != d || grad_Z.cols() != ws.inputs[0].cols() ||
      grad_log_det.size() != grad_Z.cols())
    throw std::invalid_argument("AffineCouplingFlow::backward: gradients or workspace do not match the last forward pass");
  if (grad_parameters != nullptr && grad_parameters->size() != num_parameters())
    throw std::invalid_argument("AffineCouplingFlow::backward: the parameter gradient must have " +
                                std::to_string(num_parameters()) + " entries, found " +
                                std::to_string(grad_parameters->size()));
  const float inv_c = static_cast<float>(1.0 / architecture_.log_scale_bound);
  ws.grad = grad_Z;
  for (size_t k = K; k-- > 0;) {
    const Index ki = static_cast<Index>(k);
    const auto transformed = (1.0f - mask(ki).array());
    const MatrixF& s = ws.log_scales[k];
    const auto exp_s = s.array().exp();
    // ∂F/∂s = (1-m) ⊙ (g ⊙ z ⊙ e^s + ∂F/∂logdet);  ds/da = 1 - tanh²(a/c) = 1 - (s/c)².
    ws.grad_conditioner.resize(2 * d, ws.grad.cols());
    ws.grad_conditioner.topRows(d) =
        ((ws.grad.array() * ws.inputs[k].array() * exp_s).rowwise() + grad_log_det.transpose().array()) *
        (1.0f - (s.array() * inv_c).square());
    ws.grad_conditioner.topRows(d).array().colwise() *= transformed;
    ws.grad_conditioner.bottomRows(d) = ws.grad.array().colwise() * transformed;
    // Conditioner backward, output layer first.
    const auto& layers = conditioners_[k];
    const auto& outputs = ws.outputs[k];
    const MatrixF* delta = &ws.grad_conditioner;
    for (size_t l = layers.size(); l-- > 0;) {
      const MatrixF& in = l == 0 ? ws.masked_inputs[k] : outputs[l - 1];
      if (l > 0) {
        layers[l].backward(parameters_, in, *delta, grad_parameters, &ws.delta_previous);
        multiply_by_activation_derivative(architecture_.activation, outputs[l - 1], ws.delta_previous);
        ws.delta.swap(ws.delta_previous);
        delta = &ws.delta;
      } else {
        layers[l].backward(parameters_, in, *delta, grad_parameters, &ws.grad_masked_input);
      }
    }
    // ∂F/∂z = g ⊙ e^s (e^s = 1 on conditioning rows) + m ⊙ ∂F/∂(m ⊙ z).
    ws.grad = (ws.grad.array() * exp_s + ws.grad_masked_input.array().colwise() * mask(ki).array()).matrix();
  }
  if (grad_Z0 != nullptr) *grad_Z0 = ws.grad;
}

void AffineCouplingFlow::inverse(const MatrixF& Z, MatrixF& Z0, VectorD& log_det) const {
  const Index d = latent_dim();
  if (Z.rows() != d)
    throw std::invalid_argument("AffineCouplingFlow::inverse: input has " + std::to_string(Z.rows()) +
                                " rows, the flow has latent dimension " + std::to_string(d));
  std::vector<MatrixF> outputs;
  MatrixF masked, s, t;
  log_det = VectorD::Zero(Z.cols());
  Z0 = Z;
  for (Index k = num_layers(); k-- > 0;) {
    masked = Z0.array().colwise() * mask(k).array();
    conditioner_forward(k, masked, outputs);
    log_scale_and_shift(k, outputs.back(), s, t);
    Z0 = ((Z0 - t).array() * (-s.array()).exp()).matrix();
    log_det += s.cast<double>().colwise().sum().transpose();
  }
}

}  // namespace vigap
