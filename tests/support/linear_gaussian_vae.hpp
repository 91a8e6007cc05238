#pragma once
// Test helper: a linear-Gaussian model p(z) = N(0, I), p(x|z) = N(Wz + b, σ²I) written as a VAE
// (a linear MlpDecoderModel with a Gaussian likelihood and a linear GaussianEncoder). W has
// orthogonal columns, so the exact posterior N(Λ⁻¹Wᵀ(x - b)/σ², Λ⁻¹), Λ = I + WᵀW/σ², is a
// diagonal Gaussian and the encoder can equal it exactly for every x.
#include <cmath>
#include <cstdint>

#include "core/models/mlp_decoder_model.hpp"
#include "core/random.hpp"
#include "core/variational/gaussian_encoder.hpp"
#include "support/test_seed.hpp"

namespace vigap::testing {

struct LinearGaussianVae {
  GaussianEncoder encoder;
  MlpDecoderModel decoder;
  MatrixD W;                 ///< D x d, orthogonal columns
  VectorD b;                 ///< D
  double sigma = 0.5;        ///< observation noise standard deviation
  VectorD posterior_variance;  ///< diagonal of Λ⁻¹ (the same for every x)
  MatrixF X;                 ///< D x B data drawn from the model

  /// Exact posterior mean of column j of X.
  VectorD posterior_mean(Index j) const {
    return posterior_variance.cwiseProduct(W.transpose() * (X.col(j).cast<double>() - b)) / (sigma * sigma);
  }
};

/// A random instance with latent dimension d, data dimension D and B datapoints. The encoder is
/// the exact posterior; with encoder_shift != 0 its means are moved by encoder_shift posterior
/// standard deviations and its variances multiplied by encoder_variance_factor. Drawn from
/// test_seed(seed) (the seed offset VIGAP_TEST_SEED applies).
inline LinearGaussianVae make_linear_gaussian_vae(Index d, Index D, Index B, std::uint64_t seed,
                                                  double encoder_shift = 0.0, double encoder_variance_factor = 1.0) {
  Rng rng(test_seed(seed));
  LinearGaussianVae v{GaussianEncoder(D, {}, d, Activation::tanh),
                      MlpDecoderModel(d, {}, D, Activation::tanh, Likelihood::gaussian),
                      MatrixD(D, d), VectorD(D), 0.5, VectorD(d), MatrixF(D, B)};
  const MatrixD G = standard_normal_matrix(D, d, rng);
  const MatrixD Q = Eigen::HouseholderQR<MatrixD>(G).householderQ() * MatrixD::Identity(D, d);
  for (Index j = 0; j < d; ++j) v.W.col(j) = Q.col(j) * (0.6 + 0.8 * static_cast<double>(j));
  v.b = 0.3 * standard_normal_matrix(D, 1, rng);
  const double s2 = v.sigma * v.sigma;
  v.posterior_variance = (VectorD::Ones(d) + v.W.colwise().squaredNorm().transpose() / s2).cwiseInverse();

  // Decoder: [means; log-variances] = [W; 0] z + [b; log σ²].
  Mlp& dec = v.decoder.network();
  dec.parameters().setZero();
  dec.layers()[0].weight(dec.parameters()).topRows(D) = v.W.cast<float>();
  dec.layers()[0].bias(dec.parameters()).head(D) = v.b.cast<float>();
  dec.layers()[0].bias(dec.parameters()).tail(D).setConstant(static_cast<float>(std::log(s2)));

  // Encoder: [μ; v] = [A; 0] x + [c; log Λ⁻¹] with A = Λ⁻¹Wᵀ/σ², c = -A b (+ the optional shift).
  const MatrixD A = v.posterior_variance.asDiagonal() * v.W.transpose() / s2;
  const VectorD c = -A * v.b + encoder_shift * v.posterior_variance.cwiseSqrt();
  Mlp& enc = v.encoder.network();
  enc.parameters().setZero();
  enc.layers()[0].weight(enc.parameters()).topRows(d) = A.cast<float>();
  enc.layers()[0].bias(enc.parameters()).head(d) = c.cast<float>();
  enc.layers()[0].bias(enc.parameters()).tail(d) =
      (v.posterior_variance * encoder_variance_factor).array().log().matrix().cast<float>();

  // Data from the model.
  const MatrixD Z = standard_normal_matrix(d, B, rng);
  const MatrixD noise = standard_normal_matrix(D, B, rng);
  v.X = ((v.W * Z).colwise() + v.b + v.sigma * noise).cast<float>();
  return v;
}

}  // namespace vigap::testing
