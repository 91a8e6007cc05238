#include "backends/torchscript/libtorch/torchscript_encoder.hpp"

#include <stdexcept>

#include "backends/torchscript/libtorch/torchscript_module.hpp"
#include "core/nn/column_blocks.hpp"
#include "core/parallel/worker_pool.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/encoder_scale.hpp"

namespace vigap {

struct TorchScriptEncoder::Impl {
  torch::jit::Module module;
};

TorchScriptEncoder::TorchScriptEncoder(const TorchScriptEncoderEntry& encoder, Index data_dim, Index latent_dim)
    : encoder_(encoder), data_dim_(data_dim), latent_dim_(latent_dim) {
  auto impl = std::make_shared<Impl>();
  impl->module = torchscript::load_module(encoder.path, "encoder");
  torchscript::require_method(impl->module, "forward", encoder.path, "an encoder needs (forward(x) -> q(z|x))");
  impl_ = std::move(impl);
}

TorchScriptEncoder::~TorchScriptEncoder() = default;

std::string TorchScriptEncoder::describe() const { return "amortized diagonal Gaussian (TorchScript encoder)"; }

std::unique_ptr<PosteriorApproximation> TorchScriptEncoder::posterior(const MatrixF& X) const {
  return std::make_unique<DiagonalGaussian>(gaussian_base(X));
}

namespace {

/// (mean, raw scale) of one block from the module's output: one [W, 2d] tensor or a tuple of two [W, d].
void read_encoder_output(const torch::jit::IValue& out, const TorchScriptEncoderEntry& entry, Index W, Index d,
                         MatrixF& mean, MatrixF& scale) {
  if (entry.output == TorchScriptEncoderOutput::split_halves) {
    if (!out.isTensor())
      throw std::invalid_argument("the output of TorchScript encoder forward(x) of " + entry.path +
                                  ": expected one tensor (output 'split-halves'), found " + out.tagKind());
    const MatrixF both = torchscript::matrix_from_tensor(out.toTensor(), W, 2 * d,
                                                         "the output of TorchScript encoder forward(x)", entry.path);
    mean = both.topRows(d);
    scale = both.bottomRows(d);
    return;
  }
  if (!out.isTuple() || out.toTupleRef().elements().size() != 2)
    throw std::invalid_argument("the output of TorchScript encoder forward(x) of " + entry.path +
                                ": expected a tuple (mean, scale) (output 'tuple'), found " +
                                (out.isTuple() ? "a tuple of " + std::to_string(out.toTupleRef().elements().size())
                                               : std::string(out.tagKind())));
  const auto& elements = out.toTupleRef().elements();
  mean = torchscript::matrix_from_tensor(torchscript::as_tensor(elements[0], "the mean of TorchScript encoder forward(x)", entry.path), W, d, "the mean of TorchScript encoder forward(x)",
                                         entry.path);
  scale = torchscript::matrix_from_tensor(torchscript::as_tensor(elements[1], "the scale of TorchScript encoder forward(x)", entry.path), W, d, "the scale of TorchScript encoder forward(x)",
                                          entry.path);
}

}  // namespace

DiagonalGaussian TorchScriptEncoder::gaussian_base(const MatrixF& X) const {
  if (X.rows() != data_dim_)
    throw std::invalid_argument("TorchScriptEncoder: data have dimension " + std::to_string(X.rows()) +
                                ", the encoder expects " + std::to_string(data_dim_));
  const Index B = X.cols(), d = latent_dim_;
  MatrixD mean(d, B), log_variance(d, B);
  parallel_for_tasks(column_block_count(B), [&](Index b) {
    thread_local MatrixF x, m, h;
    const ColumnBlock block = column_block(b, B);
    copy_padded_block(X, block, x);
    {
      const torchscript::TorchCallScope scope;
      const torch::InferenceMode no_autograd;
      const torch::jit::IValue out = torchscript::call_method(impl_->module, "forward", {torchscript::tensor_view(x)}, encoder_.path, "encoder");
      read_encoder_output(out, encoder_, block.width, d, m, h);
    }
    if (encoder_.scale == TorchScriptEncoderScale::log_sd) h *= 2.0f;  // log σ² = 2 log σ
    if (encoder_.scale == TorchScriptEncoderScale::softplus_sd) apply_encoder_scale(EncoderScale::softplus_sd, h);
    for (Index c = 0; c < block.count; ++c)
      if (!m.col(c).allFinite() || !h.col(c).allFinite())
        throw std::invalid_argument("TorchScript encoder " + encoder_.path + ": forward(x) gives a NaN or ±inf mean or "
                                    "log-variance for datapoint " + std::to_string(block.first + c) + " of the batch");
    mean.middleCols(block.first, block.count) = m.leftCols(block.count).cast<double>();
    log_variance.middleCols(block.first, block.count) = h.leftCols(block.count).cast<double>();
  });
  return DiagonalGaussian(std::move(mean), std::move(log_variance), describe());
}

}  // namespace vigap
