#include "core/variational/amortized_encoder_approximation.hpp"

#include <stdexcept>

#include "core/variational/flow_posterior.hpp"

namespace vigap {

AmortizedEncoderApproximation::AmortizedEncoderApproximation(std::shared_ptr<const GaussianEncoder> encoder,
                                                             std::shared_ptr<const AffineCouplingFlow> flow)
    : encoder_(std::move(encoder)), flow_(std::move(flow)) {
  if (encoder_ == nullptr) throw std::invalid_argument("AmortizedEncoderApproximation: no encoder");
  if (flow_ != nullptr && flow_->latent_dim() != encoder_->latent_dim())
    throw std::invalid_argument("AmortizedEncoderApproximation: the flow has latent dimension " +
                                std::to_string(flow_->latent_dim()) + ", the encoder " +
                                std::to_string(encoder_->latent_dim()));
}

std::string AmortizedEncoderApproximation::describe() const {
  return flow_ != nullptr ? "amortized flow (encoder + global flow)" : "amortized FFG (encoder)";
}

std::unique_ptr<PosteriorApproximation> AmortizedEncoderApproximation::posterior(const MatrixF& X) const {
  if (flow_ != nullptr) return std::make_unique<FlowPosterior>(FlowPosterior::from_encoder(*encoder_, *flow_, X));
  return std::make_unique<DiagonalGaussian>(DiagonalGaussian::from_encoder(*encoder_, X));
}

DiagonalGaussian AmortizedEncoderApproximation::gaussian_base(const MatrixF& X) const {
  return DiagonalGaussian::from_encoder(*encoder_, X);
}

}  // namespace vigap
