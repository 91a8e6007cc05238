#include "core/variational/encoder_scale.hpp"

#include <cmath>
#include <stdexcept>

namespace vigap {

namespace {
constexpr double kTail = -15.0;  // below it, softplus(h) = e^h (1 - e^h/2 + ...) to double rounding

double log_softplus(double h) {
  if (h < kTail) return h - 0.5 * std::exp(h);
  return std::log(h > 0 ? h + std::log1p(std::exp(-h)) : std::log1p(std::exp(h)));
}

/// d/dh log softplus(h) = σ(h) / softplus(h).
double log_softplus_derivative(double h) {
  if (h < kTail) return 1.0 - 0.5 * std::exp(h);
  const double softplus = h > 0 ? h + std::log1p(std::exp(-h)) : std::log1p(std::exp(h));
  const double sigmoid = h >= 0 ? 1.0 / (1.0 + std::exp(-h)) : std::exp(h) / (1.0 + std::exp(h));
  return sigmoid / softplus;
}
}  // namespace

EncoderScale parse_encoder_scale(const std::string& name) {
  if (name == "log-variance") return EncoderScale::log_variance;
  if (name == "softplus-sd") return EncoderScale::softplus_sd;
  throw std::invalid_argument("encoder scale must be log-variance or softplus-sd, found '" + name + "'");
}

std::string to_string(EncoderScale scale) {
  return scale == EncoderScale::softplus_sd ? "softplus-sd" : "log-variance";
}

void apply_encoder_scale(EncoderScale scale, MatrixF& H) {
  if (scale == EncoderScale::log_variance) return;
  H = H.unaryExpr([](float h) { return static_cast<float>(2.0 * log_softplus(h)); });
}

void multiply_by_encoder_scale_derivative(EncoderScale scale, const MatrixF& H, MatrixF& G) {
  if (scale == EncoderScale::log_variance) return;
  G = G.binaryExpr(H, [](float g, float h) { return static_cast<float>(g * 2.0 * log_softplus_derivative(h)); });
}

}  // namespace vigap
