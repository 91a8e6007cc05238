#pragma once
// A GenerativeModel whose decoder is a TorchScript module (torch::jit::load through LibTorch):
// any decoder a PyTorch user writes and scripts, convolutional ones included.
//
// Determinism (as the native MLP, core/nn/column_blocks.hpp): the module is always called on
// blocks of exactly kTorchScriptBlockWidth latent columns (the last block padded with zeros), one
// block per task of vigap's worker pool (core/parallel/worker_pool.hpp), with LibTorch's own
// intra-op and inter-op thread pools set to one thread (at::set_num_threads(1)). A column's
// result is then the same bits whatever the batch it is in, its position in it and --threads
// (checked by tests/backends/torchscript/torchscript_model_test.cpp for the modules it builds).
//
// No torch header is included here: the module lives behind a pointer to an implementation.
#include <memory>
#include <string>

#include "backends/torchscript/torchscript_manifest.hpp"
#include "core/models/generative_model.hpp"
#include "core/nn/column_blocks.hpp"

namespace vigap {

/// Latent columns per module call: the native backend's fixed block width.
inline constexpr Index kTorchScriptBlockWidth = kColumnBlockWidth;

/// p(z) = N(0, I) and p(x|z) given by the TorchScript module of `decoder`:
/// - output bernoulli_logits, gaussian_mean, gaussian_mean_log_variance: forward(z [N,d]) gives
///   the likelihood's parameters, and log p(x|z) is computed from them by the same code as
///   MlpDecoderModel (core/models/decoder_likelihood.hpp); gaussian_mean is the Gaussian with
///   log-variances 2 log sd;
/// - output log_likelihood_method: the module's method log_likelihood(x [N,D], z [N,d]) -> [N].
/// ∇_z by LibTorch's autograd. The module runs in float32; sums over pixels in double (forward
/// outputs) or as the method returns them.
class TorchScriptModel final : public GenerativeModel {
 public:
  /// Loads decoder.path (load_torchscript_module: a clear std::invalid_argument naming the file
  /// for a file that is not TorchScript, one a newer PyTorch wrote, or one without the method
  /// the output needs). Does not call the module; check_module runs it on a probe batch.
  TorchScriptModel(const TorchScriptDecoderEntry& decoder, Index latent_dim, Index data_dim);
  ~TorchScriptModel() override;

  Index latent_dim() const override { return latent_dim_; }
  Index data_dim() const override { return data_dim_; }
  /// "TorchScript decoder <file> (<output>) d -> D".
  std::string describe() const override;
  const TorchScriptDecoderEntry& decoder() const { return decoder_; }

  /// Runs the module on the latents `probe_latents` (d x N) and, for the method, the data
  /// `probe_data` (D x N): throws std::invalid_argument naming the module file, the expected and
  /// the found shapes when an output has the wrong shape or type, and naming the offending
  /// column's z when an output (or log-likelihood) is NaN or ±inf. Every evaluation checks the same.
  void check_module(const MatrixD& probe_latents, const MatrixF& probe_data) const;

  VectorD log_likelihood(const MatrixF& X, const MatrixD& Z, Index samples_per_datapoint) const override;
  VectorD log_likelihood_with_gradient(const MatrixF& X, const MatrixD& Z, Index samples_per_datapoint,
                                       MatrixD& grad_Z) const override;
  /// Forward outputs: one module pass over the G latents (independent of x), then the native
  /// all-pairs product (decoder_likelihood.hpp). The method: every (b, g) pair as one column.
  MatrixD log_likelihood_all_pairs(const MatrixF& X, const MatrixD& Z) const override;
  /// Forward outputs: z ~ N(0, I), x ~ p(x|z) from the module's output with `rng`. The method:
  /// std::invalid_argument (a log-likelihood alone gives no way to draw x; declare a forward output).
  ModelSample sample(Index N, Rng& rng) const override;

  struct Impl;  ///< the loaded module (torchscript_model.cpp)

 private:
  TorchScriptDecoderEntry decoder_;
  Index latent_dim_;
  Index data_dim_;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace vigap
