#pragma once
// The amortized q of a Gaussian encoder, optionally pushed through a global affine coupling flow.
#include <memory>
#include <string>

#include "core/variational/affine_coupling_flow.hpp"
#include "core/variational/amortized_approximation.hpp"
#include "core/variational/gaussian_encoder.hpp"

namespace vigap {

/// q(z|x) = N(μ_φ(x), diag e^{v_φ(x)}) (DiagonalGaussian::from_encoder), or with a flow T the
/// pushforward z = T(z_0), z_0 ~ that Gaussian (FlowPosterior::from_encoder). Shares the encoder
/// and flow it is given (training them through the owner's pointers changes this q too).
class AmortizedEncoderApproximation final : public AmortizedApproximation {
 public:
  /// flow may be null (the Gaussian encoder alone); its latent dimension must be the encoder's
  /// (std::invalid_argument otherwise).
  AmortizedEncoderApproximation(std::shared_ptr<const GaussianEncoder> encoder,
                                std::shared_ptr<const AffineCouplingFlow> flow);

  Index data_dim() const override { return encoder_->data_dim(); }
  Index latent_dim() const override { return encoder_->latent_dim(); }
  /// "amortized FFG (encoder)" or "amortized flow (encoder + global flow)".
  std::string describe() const override;
  std::unique_ptr<PosteriorApproximation> posterior(const MatrixF& X) const override;
  DiagonalGaussian gaussian_base(const MatrixF& X) const override;
  bool is_diagonal_gaussian() const override { return flow_ == nullptr; }

  const GaussianEncoder& encoder() const { return *encoder_; }
  /// The global flow, or nullptr.
  const AffineCouplingFlow* flow() const { return flow_.get(); }

 private:
  std::shared_ptr<const GaussianEncoder> encoder_;
  std::shared_ptr<const AffineCouplingFlow> flow_;
};

}  // namespace vigap
