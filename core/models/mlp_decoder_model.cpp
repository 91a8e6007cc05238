#include "core/models/mlp_decoder_model.hpp"

#include "core/math/column_sums.hpp"
#include "core/nn/column_blocks.hpp"
#include "core/parallel/worker_pool.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace vigap {

namespace {

const float kLog2PiF = static_cast<float>(std::log(2.0 * std::numbers::pi));

// softplus(l) = max(l, 0) + log1p(exp(-|l|)), elementwise, into `out` (Eigen vectorizes exp and
// log1p; no select(), which Eigen 3.4 evaluates one scalar at a time). Plain matrices, not
// Eigen::Ref: with a runtime stride Eigen vectorizes column by column from each column's first
// aligned entry, so an entry's path (and rounding) would depend on its column's position.
void softplus(const MatrixF& l, MatrixF& out) {
  out.array() = l.array().max(0.0f) + (-l.array().abs()).exp().log1p();
}

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
  const MatrixF& out = network_.forward(Z, ws.network);
  const Index D = data_dim_;
  // Elementwise log-likelihood terms in float (vectorized, on whole contiguous matrices, so that
  // every entry of a fixed column block takes the same path), then per-column sums in double.
  ws.terms.resize(D, Z.cols());
  if (likelihood_ == Likelihood::bernoulli) {
    softplus(out, ws.terms);  // x l - softplus(l)
    ws.terms.array() = out.array() * ws.data.array() - ws.terms.array();
  } else {
    ws.means = out.topRows(D);
    ws.log_variances = out.bottomRows(D);
    ws.terms.array() = -0.5f * (kLog2PiF + ws.log_variances.array() +
                                (ws.means.array() - ws.data.array()).square() * (-ws.log_variances.array()).exp());
  }
  return fixed_order_column_sums(ws.terms);
}

void MlpDecoderModel::backward(const MatrixF& X, const MatrixF& Z, Index S, const VectorF& w,
                               TrainableDecoder::Workspace& workspace, VectorF* grad_parameters, MatrixF* grad_Z) const {
  Workspace& ws = mlp_workspace(workspace, "MlpDecoderModel::backward");
  const MatrixF& out = ws.network.output;
  const Index N = Z.cols();
  const Index D = data_dim_;
  if (w.size() != N || out.cols() != N || ws.data.cols() != N || X.cols() * S != N)
    throw std::invalid_argument("MlpDecoderModel::backward: weights or workspace do not match the forward pass");
  ws.grad_output.resize(out.rows(), N);
  if (likelihood_ == Likelihood::bernoulli) {
    // ∂/∂l [x l - softplus(l)] = x - σ(l)
    ws.grad_output.array() = ws.data.array() - (1.0f + (-out.array()).exp()).inverse();
    ws.grad_output *= w.asDiagonal();
  } else {
    // ∂/∂m = (x - m) e^{-s},  ∂/∂s = ½ (x - m)² e^{-s} - ½, each times w_c.
    ws.terms.array() = (ws.data.array() - ws.means.array()) * (-ws.log_variances.array()).exp();
    ws.scratch = (0.5f * (ws.data.array() - ws.means.array()) * ws.terms.array() - 0.5f).matrix();
    ws.grad_output.topRows(D) = ws.terms * w.asDiagonal();
    ws.grad_output.bottomRows(D) = ws.scratch * w.asDiagonal();
  }
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

namespace {

/// Aᵀ·Y (B x G for A: D x B, Y: D x G), computed as (Yᵀ·A_k)ᵀ on fixed blocks A_k of
/// kColumnBlockWidth datapoint columns (the last one padded with zeros): the product's blocking and
/// kernel paths then never depend on B, so datapoint b's row has the same bits whatever datapoints
/// share the call and wherever b sits among them.
MatrixD datapoint_blocked_transpose_product(const MatrixD& A, const MatrixD& Y) {
  const Index B = A.cols();
  MatrixD result(B, Y.cols());
  MatrixD block = MatrixD::Zero(A.rows(), kColumnBlockWidth);
  MatrixD product(Y.cols(), kColumnBlockWidth);
  for (Index first = 0; first < B; first += kColumnBlockWidth) {
    const Index count = std::min(kColumnBlockWidth, B - first);
    block.leftCols(count) = A.middleCols(first, count);
    if (count < kColumnBlockWidth) block.rightCols(kColumnBlockWidth - count).setZero();
    product.noalias() = Y.transpose() * block;
    result.middleRows(first, count) = product.leftCols(count).transpose();
  }
  return result;
}

}  // namespace

MatrixD MlpDecoderModel::log_likelihood_all_pairs(const MatrixF& X, const MatrixD& Z) const {
  if (X.rows() != data_dim_ || Z.rows() != latent_dim())
    throw std::invalid_argument("MlpDecoderModel::log_likelihood_all_pairs: data have dimension " +
                                std::to_string(X.rows()) + " and latents " + std::to_string(Z.rows()) +
                                ", the model expects " + std::to_string(data_dim_) + " and " +
                                std::to_string(latent_dim()));
  Mlp::Workspace ws;
  const MatrixF Zf = Z.cast<float>();
  const MatrixF& out = network_.forward(Zf, ws);
  const MatrixD Xd = X.cast<double>();
  const Index D = data_dim_;
  if (likelihood_ == Likelihood::bernoulli) {
    const MatrixD logits = out.cast<double>();
    const RowVectorD normalizer =
        (logits.array().max(0.0) + (-logits.array().abs()).exp().log1p()).colwise().sum();
    MatrixD result = datapoint_blocked_transpose_product(Xd, logits);
    result.rowwise() -= normalizer;
    return result;
  }
  // Σ_i -½[log 2π + s_i + (x_i - m_i)² e^{-s_i}] = x²ᵀ(-½e^{-s}) + xᵀ(m e^{-s}) - ½ Σ_i [log 2π + s_i + m_i² e^{-s_i}]
  const MatrixD means = out.topRows(D).cast<double>();
  const MatrixD log_variances = out.bottomRows(D).cast<double>();
  const MatrixD precisions = (-log_variances.array()).exp();
  MatrixD result = datapoint_blocked_transpose_product(Xd.array().square().matrix(), -0.5 * precisions);
  result += datapoint_blocked_transpose_product(Xd, (means.array() * precisions.array()).matrix());
  const RowVectorD constant =
      -0.5 * (std::log(2.0 * std::numbers::pi) + log_variances.array() + means.array().square() * precisions.array())
                 .colwise()
                 .sum();
  result.rowwise() += constant;
  return result;
}

ModelSample MlpDecoderModel::sample(Index N, Rng& rng) const {
  ModelSample s;
  s.latents = standard_normal_matrix(latent_dim(), N, rng);
  Mlp::Workspace ws;
  const MatrixF out = network_.forward(s.latents.cast<float>(), ws);
  const Index D = data_dim_;
  s.data.resize(D, N);
  for (Index n = 0; n < N; ++n) {
    for (Index i = 0; i < D; ++i) {
      if (likelihood_ == Likelihood::bernoulli) {
        const double p = 1.0 / (1.0 + std::exp(-static_cast<double>(out(i, n))));
        s.data(i, n) = uniform_01(rng) < p ? 1.0f : 0.0f;
      } else {
        boost::random::normal_distribution<double> normal(0.0, 1.0);
        s.data(i, n) = static_cast<float>(out(i, n) + std::exp(0.5 * out(D + i, n)) * normal(rng));
      }
    }
  }
  return s;
}

}  // namespace vigap
