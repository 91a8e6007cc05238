#include "core/variational/gaussian_encoder.hpp"

#include <stdexcept>

namespace vigap {

namespace {
std::vector<Index> encoder_sizes(Index data_dim, const std::vector<Index>& hidden, Index latent_dim) {
  if (data_dim < 1) throw std::invalid_argument("encoder data dimension must be >= 1, found " + std::to_string(data_dim));
  if (latent_dim < 1) throw std::invalid_argument("latent dimension must be >= 1, found " + std::to_string(latent_dim));
  for (Index h : hidden)
    if (h < 1) throw std::invalid_argument("hidden layer sizes must be >= 1, found " + std::to_string(h));
  std::vector<Index> sizes{data_dim};
  sizes.insert(sizes.end(), hidden.begin(), hidden.end());
  sizes.push_back(2 * latent_dim);
  return sizes;
}

GaussianEncoder::Workspace& encoder_workspace(TrainableEncoder::Workspace& workspace, const char* caller) {
  auto* ws = dynamic_cast<GaussianEncoder::Workspace*>(&workspace);
  if (ws == nullptr)
    throw std::invalid_argument(std::string(caller) + ": the workspace was not made by a GaussianEncoder");
  return *ws;
}
}  // namespace

GaussianEncoder::GaussianEncoder(Index data_dim, const std::vector<Index>& hidden_sizes, Index latent_dim,
                                 Activation activation, EncoderScale scale)
    : network_(encoder_sizes(data_dim, hidden_sizes, latent_dim), activation), scale_(scale) {}

std::string GaussianEncoder::describe() const {
  std::string s = "Gaussian encoder ";
  for (size_t i = 0; i < network_.layer_sizes().size(); ++i)
    s += (i ? "-" : "") + std::to_string(network_.layer_sizes()[i]);
  s += " " + to_string(network_.hidden_activation());
  return scale_ == EncoderScale::log_variance ? s : s + " " + to_string(scale_);
}

std::unique_ptr<TrainableEncoder::Workspace> GaussianEncoder::make_workspace(ColumnBlocking blocking) const {
  auto ws = std::make_unique<Workspace>();
  ws->network.balanced_blocks = blocking == ColumnBlocking::balanced;
  return ws;
}

void GaussianEncoder::forward(const MatrixF& X, TrainableEncoder::Workspace& workspace, MatrixF& mean,
                              MatrixF& log_variance) const {
  Workspace& ws = encoder_workspace(workspace, "GaussianEncoder::forward");
  const MatrixF& out = network_.forward(X, ws.network);
  const Index d = latent_dim();
  mean = out.topRows(d);
  log_variance = out.bottomRows(d);
  apply_encoder_scale(scale_, log_variance);
}

void GaussianEncoder::backward(const MatrixF& X, const MatrixF& grad_mean, const MatrixF& grad_log_variance,
                               TrainableEncoder::Workspace& workspace, VectorF* grad_parameters) const {
  Workspace& ws = encoder_workspace(workspace, "GaussianEncoder::backward");
  const Index d = latent_dim();
  ws.grad_output.resize(2 * d, X.cols());
  ws.grad_output.topRows(d) = grad_mean;
  ws.grad_output.bottomRows(d) = grad_log_variance;
  if (scale_ != EncoderScale::log_variance) {
    MatrixF grad_raw = grad_log_variance;
    multiply_by_encoder_scale_derivative(scale_, ws.network.output.bottomRows(d), grad_raw);
    ws.grad_output.bottomRows(d) = grad_raw;
  }
  network_.backward(X, ws.network, ws.grad_output, grad_parameters, nullptr);
}

}  // namespace vigap
