#include "core/models/mlp_decoder_model.hpp"

#include "core/models/decoder_likelihood.hpp"
#include "core/nn/column_blocks.hpp"
#include "core/parallel/worker_pool.hpp"

#include <algorithm>
#include <stdexcept>

namespace vigap {

namespace {

/// The MLP workspace behind a TrainableDecoder::Workspace; `caller` names the method in the error.
MlpDecoderModel::Workspace& mlp_workspace(TrainableDecoder::Workspace& workspace, const char* caller) {
  auto* ws = dynamic_cast<MlpDecoderModel::Workspace*>(&workspace);
  if (ws == nullptr)
    throw std::invalid_argument(std::string(caller) + ": the workspace was not made by an MlpDecoderModel");
  return *ws;
}

std::vector<Index> layer_sizes(Index latent_dim, const std::vector<Index>& hidden, Index output_dim) {
  std::vector<Index> sizes{latent_dim};
  sizes.insert(sizes.end(), hidden.begin(), hidden.end());
  sizes.push_back(output_dim);
  return sizes;
}

}  // namespace

MlpDecoderModel::MlpDecoderModel(Index latent_dim, const std::vector<Index>& hidden_sizes, Index data_dim,
                                 Activation activation, Likelihood likelihood)
    : data_dim_(data_dim), likelihood_(likelihood) {
  if (latent_dim < 1) throw std::invalid_argument("latent dimension must be >= 1, found " + std::to_string(latent_dim));
  if (data_dim < 1) throw std::invalid_argument("data dimension must be >= 1, found " + std::to_string(data_dim));
  for (Index h : hidden_sizes)
    if (h < 1) throw std::invalid_argument("hidden layer sizes must be >= 1, found " + std::to_string(h));
  const Index outputs = likelihood == Likelihood::bernoulli ? data_dim : 2 * data_dim;
  network_ = Mlp(layer_sizes(latent_dim, hidden_sizes, outputs), activation);
}

std::string MlpDecoderModel::describe() const {
  std::string s = "MLP decoder ";
  for (size_t i = 0; i < network_.layer_sizes().size(); ++i)
    s += (i ? "-" : "") + std::to_string(network_.layer_sizes()[i]);
  return s + " " + to_string(network_.hidden_activation()) + " " + to_string(likelihood_);
}

void MlpDecoderModel::check_data(const MatrixF& X, Index latent_columns, Index S, Index latent_rows,
                                 const char* caller) const {
  if (X.rows() != data_dim_)
    throw std::invalid_argument(std::string(caller) + ": data have dimension " + std::to_string(X.rows()) +
                                ", the model expects " + std::to_string(data_dim_));
  if (latent_rows != latent_dim())
    throw std::invalid_argument(std::string(caller) + ": latents have dimension " + std::to_string(latent_rows) +
                                ", the model expects " + std::to_string(latent_dim()));
  if (S < 1 || latent_columns != X.cols() * S)
    throw std::invalid_argument(std::string(caller) + ": expected " + std::to_string(X.cols()) + " x " +
                                std::to_string(S) + " latent columns, found " + std::to_string(latent_columns));
}

void MlpDecoderModel::replicate_data(const MatrixF& X, Index S, Index columns, Workspace& ws) const {
  ws.data.resize(data_dim_, columns);
  for (Index c = 0; c < columns; ++c) ws.data.col(c) = X.col(c / S);
}

std::unique_ptr<TrainableDecoder::Workspace> MlpDecoderModel::make_workspace(ColumnBlocking blocking) const {
  auto ws = std::make_unique<Workspace>();
  ws->network.balanced_blocks = blocking == ColumnBlocking::balanced;
  return ws;
}

const MatrixF& MlpDecoderModel::output(const MatrixF& Z, TrainableDecoder::Workspace& workspace) const {
  return network_.forward(Z, mlp_workspace(workspace, "MlpDecoderModel::output").network);
}

void MlpDecoderModel::backward_output(const MatrixF& Z, const MatrixF& grad_output,
                                      TrainableDecoder::Workspace& workspace, VectorF* grad_parameters) const {
  network_.backward(Z, mlp_workspace(workspace, "MlpDecoderModel::backward_output").network, grad_output,
                    grad_parameters, nullptr);
}

VectorD MlpDecoderModel::forward(const MatrixF& X, const MatrixF& Z, Index S,
                                 TrainableDecoder::Workspace& workspace) const {
  Workspace& ws = mlp_workspace(workspace, "MlpDecoderModel::forward");
  check_data(X, Z.cols(), S, Z.rows(), "MlpDecoderModel::forward");
  replicate_data(X, S, Z.cols(), ws);
  return forward_columns(Z, ws);
}

VectorD MlpDecoderModel::forward_columns(const MatrixF& Z, Workspace& ws) const {
  return decoder_log_likelihood(likelihood_, network_.forward(Z, ws.network), ws.data, ws.likelihood);
}

void MlpDecoderModel::backward(const MatrixF& X, const MatrixF& Z, Index S, const VectorF& w,
                               TrainableDecoder::Workspace& workspace, VectorF* grad_parameters, MatrixF* grad_Z) const {
  Workspace& ws = mlp_workspace(workspace, "MlpDecoderModel::backward");
  const MatrixF& out = ws.network.output;
  const Index N = Z.cols();
  if (w.size() != N || out.cols() != N || ws.data.cols() != N || X.cols() * S != N)
    throw std::invalid_argument("MlpDecoderModel::backward: weights or workspace do not match the forward pass");
  decoder_output_gradient(likelihood_, out, ws.data, w, ws.likelihood, ws.grad_output);
  network_.backward(Z, ws.network, ws.grad_output, grad_parameters, grad_Z);
}

void MlpDecoderModel::evaluate_blocks(const MatrixF& X, const MatrixD& Z, Index S, VectorD& values,
                                      MatrixD* grad_Z) const {
  const Index N = Z.cols();
  values.resize(N);
  if (grad_Z != nullptr) grad_Z->resize(Z.rows(), N);
  // One task per fixed column block (core/nn/column_blocks.hpp), handed out to the worker
  // threads as they come free; each block runs the whole network single-threaded.
  parallel_for_tasks(column_block_count(N), [&](Index b) {
    // Scratch memory kept per thread across calls (samplers call this thousands of times with
    // the same shapes): no allocation in their loops, and nothing kept that changes results.
    thread_local Workspace ws;
    const ColumnBlock block = column_block(b, N);
    copy_padded_block(Z, block, ws.latents);
    ws.data.resize(data_dim_, kColumnBlockWidth);
    for (Index c = 0; c < block.count; ++c) ws.data.col(c) = X.col((block.first + c) / S);
    ws.data.rightCols(kColumnBlockWidth - block.count).setZero();
    values.segment(block.first, block.count) = forward_columns(ws.latents, ws).head(block.count);
    if (grad_Z != nullptr) {
      ws.column_weights.setZero(kColumnBlockWidth);
      ws.column_weights.head(block.count).setOnes();
      backward(ws.data, ws.latents, 1, ws.column_weights, ws, nullptr, &ws.grad_latents);
      grad_Z->middleCols(block.first, block.count) = ws.grad_latents.leftCols(block.count).cast<double>();
    }
  });
}

VectorD MlpDecoderModel::log_likelihood(const MatrixF& X, const MatrixD& Z, Index S) const {
  check_data(X, Z.cols(), S, Z.rows(), "MlpDecoderModel::log_likelihood");
  VectorD values;
  evaluate_blocks(X, Z, S, values, nullptr);
  return values;
}

VectorD MlpDecoderModel::log_likelihood_with_gradient(const MatrixF& X, const MatrixD& Z, Index S,
                                                      MatrixD& grad_Z) const {
  check_data(X, Z.cols(), S, Z.rows(), "MlpDecoderModel::log_likelihood_with_gradient");
  VectorD values;
  evaluate_blocks(X, Z, S, values, &grad_Z);
  return values;
}

MatrixD MlpDecoderModel::log_likelihood_all_pairs(const MatrixF& X, const MatrixD& Z) const {
  if (X.rows() != data_dim_ || Z.rows() != latent_dim())
    throw std::invalid_argument("MlpDecoderModel::log_likelihood_all_pairs: data have dimension " +
                                std::to_string(X.rows()) + " and latents " + std::to_string(Z.rows()) +
                                ", the model expects " + std::to_string(data_dim_) + " and " +
                                std::to_string(latent_dim()));
  Mlp::Workspace ws;
  return decoder_log_likelihood_all_pairs(likelihood_, network_.forward(Z.cast<float>(), ws), X);
}

ModelSample MlpDecoderModel::sample(Index N, Rng& rng) const {
  ModelSample s;
  s.latents = standard_normal_matrix(latent_dim(), N, rng);
  Mlp::Workspace ws;
  s.data = sample_from_decoder_output(likelihood_, network_.forward(s.latents.cast<float>(), ws), rng);
  return s;
}

}  // namespace vigap
