// The softplus-sd parametrization of the encoder's variance outputs: its values against the
// formula in double (including the tails), and the encoder's backward pass through it against
// finite differences of F = Σ a ⊙ μ + Σ c ⊙ v.
#include "core/variational/encoder_scale.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/variational/gaussian_encoder.hpp"
#include "support/finite_difference.hpp"

namespace vigap {
namespace {

TEST(EncoderScale, SoftplusSdGivesTwiceTheLogOfSoftplus) {
  MatrixF H(1, 7);
  H << -40.0f, -16.0f, -3.0f, 0.0f, 0.5f, 8.0f, 40.0f;
  MatrixF V = H;
  apply_encoder_scale(EncoderScale::softplus_sd, V);
  for (Index i = 0; i < H.cols(); ++i) {
    const double h = H(0, i);
    const double expected = h < -30 ? 2.0 * h : 2.0 * std::log(std::log1p(std::exp(h)));
    EXPECT_NEAR(V(0, i), expected, 4e-7 * std::max(1.0, std::abs(expected))) << "h = " << h;
  }
  MatrixF same = H;
  apply_encoder_scale(EncoderScale::log_variance, same);
  EXPECT_EQ(same, H);
  EXPECT_EQ(parse_encoder_scale(to_string(EncoderScale::softplus_sd)), EncoderScale::softplus_sd);
  EXPECT_THROW(parse_encoder_scale("log-sd"), std::invalid_argument);
}

TEST(EncoderScale, EncoderBackwardThroughSoftplusSdMatchesFiniteDifferences) {
  Rng rng(8);
  const Index D = 7, d = 3, B = 5;
  GaussianEncoder encoder(D, {6}, d, Activation::tanh, EncoderScale::softplus_sd);
  encoder.network().initialize(rng);
  encoder.network().parameters() *= 3.0f;  // raw scale outputs over a wide range of h
  MatrixF X(D, B), a(d, B), c(d, B);
  fill_standard_normal(X, rng);
  fill_standard_normal(a, rng);
  fill_standard_normal(c, rng);
  auto objective = [&](const VectorF& parameters) {
    GaussianEncoder copy = encoder;
    copy.network().parameters() = parameters;
    GaussianEncoder::Workspace ws;
    MatrixF mean, log_variance;
    copy.forward(X, ws, mean, log_variance);
    return (a.cast<double>().cwiseProduct(mean.cast<double>())).sum() +
           (c.cast<double>().cwiseProduct(log_variance.cast<double>())).sum();
  };
  GaussianEncoder::Workspace ws;
  MatrixF mean, log_variance;
  encoder.forward(X, ws, mean, log_variance);
  VectorF gradient = VectorF::Zero(encoder.network().num_parameters());
  encoder.backward(X, a, c, ws, &gradient);
  testing::expect_gradient_matches_finite_differences<VectorF>(objective, encoder.network().parameters(), gradient,
                                                               1e-2, 2e-3, 2e-2, 40, "softplus-sd encoder");
}

}  // namespace
}  // namespace vigap
