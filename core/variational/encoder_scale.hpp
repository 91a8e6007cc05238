#pragma once
// How an amortized Gaussian encoder's second d outputs give the variance of q(z|x).
#include <string>

#include "core/types.hpp"

namespace vigap {

/// The parametrization of the encoder's variance outputs h (one per latent coordinate).
enum class EncoderScale {
  log_variance,  ///< v = h: the outputs are log σ² (vigap's own encoders)
  softplus_sd,   ///< σ = softplus(h) = log(1 + e^h), so v = log σ² = 2 log softplus(h)
};

/// Parses "log-variance" or "softplus-sd"; throws std::invalid_argument naming the accepted names.
EncoderScale parse_encoder_scale(const std::string& name);
/// The name parse_encoder_scale accepts.
std::string to_string(EncoderScale scale);

/// In place: raw outputs H -> log-variances v(H), elementwise.
/// softplus-sd: v = 2 log softplus(h), for h < -15 as 2 (h - e^h / 2) (log softplus(h) = h - e^h/2 + O(e^{2h})).
void apply_encoder_scale(EncoderScale scale, MatrixF& H);

/// In place: G <- G ⊙ dv/dh at the raw outputs H. softplus-sd: dv/dh = 2 σ(h) / softplus(h)
/// (= 2 (1 - e^h / 2 + ...) for h < -15, where both underflow).
void multiply_by_encoder_scale_derivative(EncoderScale scale, const MatrixF& H, MatrixF& G);

}  // namespace vigap
