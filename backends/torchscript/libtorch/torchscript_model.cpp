#include "backends/torchscript/libtorch/torchscript_model.hpp"

#include <cmath>
#include <stdexcept>

#include <torch/csrc/autograd/autograd.h>

#include "backends/torchscript/libtorch/torchscript_module.hpp"
#include "core/models/decoder_likelihood.hpp"
#include "core/parallel/worker_pool.hpp"

namespace vigap {

struct TorchScriptModel::Impl {
  torch::jit::Module module;
};

namespace {

using torchscript::TorchCallScope;

bool is_method(TorchScriptDecoderOutput output) { return output == TorchScriptDecoderOutput::log_likelihood_method; }

/// The native likelihood the forward output parameterizes (gaussian_mean: the Gaussian with fixed log-variances).
Likelihood native_likelihood(TorchScriptDecoderOutput output) {
  return output == TorchScriptDecoderOutput::bernoulli_logits ? Likelihood::bernoulli : Likelihood::gaussian;
}

/// Scratch memory of one block, kept per thread across calls.
struct BlockScratch {
  MatrixF latents, data, output, grad_output, grad_latents;
  DecoderLikelihoodScratch likelihood;
  VectorF weights;
};

/// One block's evaluation: the model's fixed facts and the block's place in the batch.
struct BlockEvaluation {
  const TorchScriptDecoderEntry& decoder;
  Index latent_dim, data_dim;
  const torch::jit::Module& module;
};

Index output_rows(const TorchScriptDecoderEntry& decoder, Index D) {
  return decoder.output == TorchScriptDecoderOutput::gaussian_mean_log_variance ? 2 * D : D;
}

/// ws.output = the likelihood's parameters (D or 2D rows; gaussian_mean with its constant
/// log-variance rows appended) from the module's output tensor for the block's ws.latents.
void read_forward_output(const BlockEvaluation& e, const torch::Tensor& out, Index count, BlockScratch& ws) {
  const Index W = ws.latents.cols();
  const Index K = output_rows(e.decoder, e.data_dim);
  const MatrixF raw = torchscript::matrix_from_tensor(out, W, K, "the output of TorchScript decoder forward(z)",
                                                      e.decoder.path);
  if (const Index bad = torchscript::first_nonfinite_column(raw, count); bad >= 0)
    throw std::invalid_argument("TorchScript decoder " + e.decoder.path + ": forward(z) returned NaN or ±inf at " +
                                torchscript::column_string(ws.latents, bad, "z"));
  if (e.decoder.output != TorchScriptDecoderOutput::gaussian_mean) {
    ws.output = raw;
    return;
  }
  ws.output.resize(2 * e.data_dim, W);
  ws.output.topRows(e.data_dim) = raw;
  ws.output.bottomRows(e.data_dim).setConstant(static_cast<float>(2.0 * std::log(e.decoder.sd)));
}

/// The module's log_likelihood(x, z) for the block as doubles (first `count` checked finite).
VectorD read_method_output(const BlockEvaluation& e, const torch::Tensor& ll, Index count, const BlockScratch& ws) {
  const Index W = ws.latents.cols();
  if (ll.dim() != 1 || ll.size(0) != W ||
      (ll.scalar_type() != torch::kFloat32 && ll.scalar_type() != torch::kFloat64))
    throw std::invalid_argument("the output of TorchScript decoder log_likelihood(x, z) of " + e.decoder.path +
                                ": expected a float32 (or float64) tensor of shape [" + std::to_string(W) +
                                "], found " + std::string(c10::toString(ll.scalar_type())) + " " +
                                torchscript::shape_string(ll));
  const torch::Tensor d = ll.detach().to(torch::kFloat64).contiguous();
  VectorD values = Eigen::Map<const VectorD>(d.data_ptr<double>(), W);
  for (Index c = 0; c < count; ++c)
    if (!std::isfinite(values(c)))
      throw std::invalid_argument("TorchScript decoder " + e.decoder.path + ": log_likelihood(x, z) returned " +
                                  std::to_string(values(c)) + " at " +
                                  torchscript::column_string(ws.latents, c, "z"));
  return values;
}

/// log p(x|z) of the block in ws.latents / ws.data (and ∇_z into ws.grad_latents when `gradient`).
VectorD evaluate_block(const BlockEvaluation& e, Index count, bool gradient, BlockScratch& ws) {
  const TorchCallScope scope;
  const Index W = ws.latents.cols();
  std::optional<torch::InferenceMode> no_autograd;
  if (!gradient) no_autograd.emplace();
  torch::Tensor z = torchscript::tensor_view(ws.latents);
  if (gradient) z = z.clone().requires_grad_(true);
  ws.weights.setZero(W);
  ws.weights.head(count).setOnes();
  VectorD values;
  torch::Tensor result, seed;
  if (is_method(e.decoder.output)) {
    const torch::Tensor x = torchscript::tensor_view(ws.data);
    result = torchscript::as_tensor(torchscript::call_method(e.module, "log_likelihood", {x, z}, e.decoder.path, "decoder"),
                                    "the output of log_likelihood(x, z)", e.decoder.path);
    values = read_method_output(e, result, count, ws);
    if (gradient) seed = torch::from_blob(ws.weights.data(), {static_cast<long>(W)}, torch::kFloat32).to(result.scalar_type());
  } else {
    result = torchscript::as_tensor(torchscript::call_method(e.module, "forward", {z}, e.decoder.path, "decoder"),
                                    "the output of forward(z)", e.decoder.path);
    read_forward_output(e, result, count, ws);
    values = decoder_log_likelihood(native_likelihood(e.decoder.output), ws.output, ws.data, ws.likelihood);
    if (gradient) {
      decoder_output_gradient(native_likelihood(e.decoder.output), ws.output, ws.data, ws.weights, ws.likelihood,
                              ws.grad_output);
      if (e.decoder.output == TorchScriptDecoderOutput::gaussian_mean)
        ws.grad_output.conservativeResize(e.data_dim, W);  // the fixed log-variances have no input
      // The output may be image-shaped ([W, 1, 28, 28]): the seed takes its shape (same order).
      seed = torchscript::tensor_view(ws.grad_output).reshape(result.sizes()).to(result.scalar_type());
    }
  }
  if (gradient) {
    torch::Tensor g;
    try {
      g = torch::autograd::grad({result}, {z}, {seed}, /*retain_graph=*/false, /*create_graph=*/false,
                                /*allow_unused=*/true)[0];
    } catch (const c10::Error& error) {
      throw std::invalid_argument("TorchScript decoder " + e.decoder.path + ": no gradient with respect to z: " +
                                  error.what_without_backtrace());
    }
    if (!g.defined()) g = torch::zeros_like(z);  // the output does not depend on z
    ws.grad_latents = torchscript::matrix_from_tensor(g, W, e.latent_dim, "the gradient with respect to z", e.decoder.path);
  }
  return values;
}

}  // namespace

TorchScriptModel::TorchScriptModel(const TorchScriptDecoderEntry& decoder, Index latent_dim, Index data_dim)
    : decoder_(decoder), latent_dim_(latent_dim), data_dim_(data_dim) {
  if (latent_dim < 1 || data_dim < 1)
    throw std::invalid_argument("TorchScript decoder " + decoder.path + ": latent and data dimensions must be >= 1, found " +
                                std::to_string(latent_dim) + " and " + std::to_string(data_dim));
  auto impl = std::make_shared<Impl>();
  impl->module = torchscript::load_module(decoder.path, "decoder");
  if (is_method(decoder.output))
    torchscript::require_method(impl->module, "log_likelihood", decoder.path,
                                "the manifest's decoder output 'log-likelihood-method' needs (log_likelihood(x, z) -> [N])");
  else
    torchscript::require_method(impl->module, "forward", decoder.path,
                                "the manifest's decoder output '" + to_string(decoder.output) + "' needs");
  impl_ = std::move(impl);
}

TorchScriptModel::~TorchScriptModel() = default;

std::string TorchScriptModel::describe() const {
  return "TorchScript decoder " + decoder_.file + " (" + to_string(decoder_.output) + ") " +
         std::to_string(latent_dim_) + " -> " + std::to_string(data_dim_);
}

namespace {

/// log p(x_b|z_c) per column (and ∇_z when grad_Z is non-null) on fixed column blocks over the worker pool.
VectorD evaluate_columns(const BlockEvaluation& e, const MatrixF& X, const MatrixD& Z, Index S, MatrixD* grad_Z) {
  const Index N = Z.cols();
  VectorD values(N);
  if (grad_Z != nullptr) grad_Z->resize(Z.rows(), N);
  parallel_for_tasks(column_block_count(N), [&](Index b) {
    thread_local BlockScratch ws;
    const ColumnBlock block = column_block(b, N);
    copy_padded_block(Z, block, ws.latents);
    ws.data.resize(e.data_dim, block.width);
    for (Index c = 0; c < block.count; ++c) ws.data.col(c) = X.col((block.first + c) / S);
    ws.data.rightCols(block.width - block.count).setZero();
    values.segment(block.first, block.count) = evaluate_block(e, block.count, grad_Z != nullptr, ws).head(block.count);
    if (grad_Z != nullptr)
      grad_Z->middleCols(block.first, block.count) = ws.grad_latents.leftCols(block.count).cast<double>();
  });
  return values;
}

/// The likelihood's parameters (as read_forward_output) at every column of Z, on fixed blocks.
MatrixF forward_outputs(const BlockEvaluation& e, const MatrixD& Z) {
  const Index N = Z.cols();
  const Index K = e.decoder.output == TorchScriptDecoderOutput::bernoulli_logits ? e.data_dim : 2 * e.data_dim;
  MatrixF outputs(K, N);
  parallel_for_tasks(column_block_count(N), [&](Index b) {
    thread_local BlockScratch ws;
    const ColumnBlock block = column_block(b, N);
    copy_padded_block(Z, block, ws.latents);
    const TorchCallScope scope;
    const torch::InferenceMode no_autograd;
    const torch::Tensor out = torchscript::as_tensor(
        torchscript::call_method(e.module, "forward", {torchscript::tensor_view(ws.latents)}, e.decoder.path, "decoder"),
        "the output of forward(z)", e.decoder.path);
    read_forward_output(e, out, block.count, ws);
    outputs.middleCols(block.first, block.count) = ws.output.leftCols(block.count);
  });
  return outputs;
}

}  // namespace

void TorchScriptModel::check_module(const MatrixD& probe_latents, const MatrixF& probe_data) const {
  const BlockEvaluation e{decoder_, latent_dim_, data_dim_, impl_->module};
  if (is_method(decoder_.output)) {
    check_batch(probe_data, probe_latents, 1, "TorchScriptModel::check_module");
    evaluate_columns(e, probe_data, probe_latents, 1, nullptr);
  } else {
    if (probe_latents.rows() != latent_dim_)
      throw std::invalid_argument("TorchScriptModel::check_module: latents have dimension " +
                                  std::to_string(probe_latents.rows()) + ", the model expects " + std::to_string(latent_dim_));
    forward_outputs(e, probe_latents);
  }
}

VectorD TorchScriptModel::log_likelihood(const MatrixF& X, const MatrixD& Z, Index S) const {
  check_batch(X, Z, S, "TorchScriptModel::log_likelihood");
  return evaluate_columns({decoder_, latent_dim_, data_dim_, impl_->module}, X, Z, S, nullptr);
}

VectorD TorchScriptModel::log_likelihood_with_gradient(const MatrixF& X, const MatrixD& Z, Index S,
                                                       MatrixD& grad_Z) const {
  check_batch(X, Z, S, "TorchScriptModel::log_likelihood_with_gradient");
  return evaluate_columns({decoder_, latent_dim_, data_dim_, impl_->module}, X, Z, S, &grad_Z);
}

MatrixD TorchScriptModel::log_likelihood_all_pairs(const MatrixF& X, const MatrixD& Z) const {
  if (X.rows() != data_dim_ || Z.rows() != latent_dim_)
    throw std::invalid_argument("TorchScriptModel::log_likelihood_all_pairs: data have dimension " +
                                std::to_string(X.rows()) + " and latents " + std::to_string(Z.rows()) +
                                ", the model expects " + std::to_string(data_dim_) + " and " + std::to_string(latent_dim_));
  const BlockEvaluation e{decoder_, latent_dim_, data_dim_, impl_->module};
  if (!is_method(decoder_.output))
    return decoder_log_likelihood_all_pairs(native_likelihood(decoder_.output), forward_outputs(e, Z), X);
  // Every (datapoint b, latent g) pair as one column: Z tiled B times, G samples per datapoint.
  const Index B = X.cols(), G = Z.cols();
  MatrixD tiled(Z.rows(), B * G);
  for (Index b = 0; b < B; ++b) tiled.middleCols(b * G, G) = Z;
  const VectorD values = evaluate_columns(e, X, tiled, G, nullptr);
  return Eigen::Map<const MatrixD>(values.data(), G, B).transpose();
}

ModelSample TorchScriptModel::sample(Index N, Rng& rng) const {
  if (is_method(decoder_.output))
    throw std::invalid_argument("TorchScript decoder " + decoder_.path +
                                " declares output 'log-likelihood-method', which gives log p(x|z) but no way to draw "
                                "x ~ p(x|z): declare a forward output (bernoulli-logits, gaussian-mean, "
                                "gaussian-mean-log-variance) to sample");
  ModelSample s;
  s.latents = standard_normal_matrix(latent_dim_, N, rng);
  const MatrixF outputs = forward_outputs({decoder_, latent_dim_, data_dim_, impl_->module}, s.latents);
  s.data = sample_from_decoder_output(native_likelihood(decoder_.output), outputs, rng);
  return s;
}

}  // namespace vigap
