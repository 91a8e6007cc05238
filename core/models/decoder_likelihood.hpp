#pragma once
// log p(x|z) from a decoder's output η = decoder(z): the likelihood's value, its gradient with
// respect to η, all datapoint-latent pairs at once, and draws of x. Shared by every backend whose
// network outputs the parameters of a Likelihood (MlpDecoderModel, the TorchScript backend), so
// that they compute the same numbers from the same outputs.
#include "core/models/likelihood.hpp"
#include "core/random.hpp"
#include "core/types.hpp"

namespace vigap {

/// Scratch matrices of decoder_log_likelihood and decoder_output_gradient (reused across calls).
struct DecoderLikelihoodScratch {
  MatrixF terms;                 ///< elementwise log-likelihood terms
  MatrixF means, log_variances;  ///< Gaussian: the output's two halves, contiguous
  MatrixF scratch;
};

/// Per column c: Σ_i t_ic in double (fixed_order_column_sums) of the float terms
///   Bernoulli (output = logits l, D x N): t = x l - softplus(l);
///   Gaussian (output = (m; s), 2D x N):   t = -½ [log 2π + s + (x - m)² e^{-s}],
/// with data the D x N matrix of each column's x. Keeps in `scratch` what the gradient needs.
VectorD decoder_log_likelihood(Likelihood likelihood, const MatrixF& output, const MatrixF& data,
                               DecoderLikelihoodScratch& scratch);

/// After decoder_log_likelihood on the same output and data: grad_output = ∂F/∂output for
/// F = Σ_c w_c log p(x_c|z_c): Bernoulli (x - σ(l)) w_c; Gaussian ∂/∂m = (x - m) e^{-s} w_c,
/// ∂/∂s = (½ (x - m)² e^{-s} - ½) w_c.
void decoder_output_gradient(Likelihood likelihood, const MatrixF& output, const MatrixF& data,
                             const VectorF& column_weights, DecoderLikelihoodScratch& scratch, MatrixF& grad_output);

/// log p(x_b | z_g) for every column x_b of X (D x B) and every output column g (the decoder's
/// output at z_g): a B x G matrix, in double, by matrix products on fixed datapoint blocks (a
/// datapoint's row is the same bits whatever datapoints share the call). Bernoulli
/// Xᵀ L - 1ᵀ softplus(L); Gaussian by expanding the square.
MatrixD decoder_log_likelihood_all_pairs(Likelihood likelihood, const MatrixF& output, const MatrixF& X);

/// x_n ~ p(x | output column n), D x N: Bernoulli pixels by uniform_01 < σ(l), Gaussian m + e^{s/2} ε,
/// pixel by pixel in column order from `rng`.
MatrixF sample_from_decoder_output(Likelihood likelihood, const MatrixF& output, Rng& rng);

}  // namespace vigap
