#pragma once
// The amortized q(z|x) of a TorchScript encoder module: forward(x [N,D]) -> the mean and scale of
// a diagonal Gaussian, as one tensor [N, 2d] split in halves or a tuple of two [N, d] tensors.
// Not trainable (LoadedModel::trainable_encoder stays null). Evaluated like TorchScriptModel: on
// fixed blocks of kTorchScriptBlockWidth datapoints over vigap's worker pool, LibTorch single-threaded.
#include <memory>
#include <string>

#include "backends/torchscript/torchscript_manifest.hpp"
#include "core/variational/amortized_approximation.hpp"

namespace vigap {

/// q(z|x_b) = N(μ(x_b), diag e^{v(x_b)}) with (μ, h) = module(x_b) and v = h (log-variance),
/// 2h (log-sd) or 2 log softplus(h) (softplus-sd, core/variational/encoder_scale.hpp). The
/// approximation is a DiagonalGaussian (closed-form KL, ∇ log q, sampling).
class TorchScriptEncoder final : public AmortizedApproximation {
 public:
  /// Loads encoder.path (load_torchscript_module's errors).
  TorchScriptEncoder(const TorchScriptEncoderEntry& encoder, Index data_dim, Index latent_dim);
  ~TorchScriptEncoder() override;

  Index data_dim() const override { return data_dim_; }
  Index latent_dim() const override { return latent_dim_; }
  /// "amortized FFG (TorchScript encoder)".
  std::string describe() const override;
  std::unique_ptr<PosteriorApproximation> posterior(const MatrixF& X) const override;
  /// Throws std::invalid_argument naming the module file and the shapes when the output has the
  /// wrong shape or structure, or naming the datapoint when it is NaN or ±inf.
  DiagonalGaussian gaussian_base(const MatrixF& X) const override;
  bool is_diagonal_gaussian() const override { return true; }

  struct Impl;

 private:
  TorchScriptEncoderEntry encoder_;
  Index data_dim_;
  Index latent_dim_;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace vigap
