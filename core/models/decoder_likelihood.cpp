#include "core/models/decoder_likelihood.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/math/column_sums.hpp"
#include "core/nn/column_blocks.hpp"

namespace vigap {

namespace {

const float kLog2PiF = static_cast<float>(std::log(2.0 * std::numbers::pi));

// softplus(l) = max(l, 0) + log1p(exp(-|l|)), elementwise, into `out` (Eigen vectorizes exp and
// log1p; no select(), which Eigen 3.4 evaluates one scalar at a time). Plain matrices, not
// Eigen::Ref: with a runtime stride Eigen vectorizes column by column from each column's first
// aligned entry, so an entry's path (and rounding) would depend on its column's position.
void softplus(const MatrixF& l, MatrixF& out) {
  out.array() = l.array().max(0.0f) + (-l.array().abs()).exp().log1p();
}

/// Aᵀ·Y (B x G for A: D x B, Y: D x G), computed as (Yᵀ·A_k)ᵀ on fixed blocks A_k of
/// kColumnBlockWidth datapoint columns (the last one padded with zeros): the product's blocking and
/// kernel paths then never depend on B, so datapoint b's row has the same bits whatever datapoints
/// share the call and wherever b sits among them.
MatrixD datapoint_blocked_transpose_product(const MatrixD& A, const MatrixD& Y) {
  const Index B = A.cols();
  MatrixD result(B, Y.cols());
  MatrixD block = MatrixD::Zero(A.rows(), kColumnBlockWidth);
  MatrixD product(Y.cols(), kColumnBlockWidth);
  for (Index first = 0; first < B; first += kColumnBlockWidth) {
    const Index count = std::min(kColumnBlockWidth, B - first);
    block.leftCols(count) = A.middleCols(first, count);
    if (count < kColumnBlockWidth) block.rightCols(kColumnBlockWidth - count).setZero();
    product.noalias() = Y.transpose() * block;
    result.middleRows(first, count) = product.leftCols(count).transpose();
  }
  return result;
}

}  // namespace

VectorD decoder_log_likelihood(Likelihood likelihood, const MatrixF& out, const MatrixF& data,
                               DecoderLikelihoodScratch& ws) {
  const Index D = data.rows();
  // Elementwise log-likelihood terms in float (vectorized, on whole contiguous matrices, so that
  // every entry of a fixed column block takes the same path), then per-column sums in double.
  ws.terms.resize(D, out.cols());
  if (likelihood == Likelihood::bernoulli) {
    softplus(out, ws.terms);  // x l - softplus(l)
    ws.terms.array() = out.array() * data.array() - ws.terms.array();
  } else {
    ws.means = out.topRows(D);
    ws.log_variances = out.bottomRows(D);
    ws.terms.array() = -0.5f * (kLog2PiF + ws.log_variances.array() +
                                (ws.means.array() - data.array()).square() * (-ws.log_variances.array()).exp());
  }
  return fixed_order_column_sums(ws.terms);
}

void decoder_output_gradient(Likelihood likelihood, const MatrixF& out, const MatrixF& data, const VectorF& w,
                             DecoderLikelihoodScratch& ws, MatrixF& grad_output) {
  const Index N = out.cols();
  const Index D = data.rows();
  grad_output.resize(out.rows(), N);
  if (likelihood == Likelihood::bernoulli) {
    // ∂/∂l [x l - softplus(l)] = x - σ(l)
    grad_output.array() = data.array() - (1.0f + (-out.array()).exp()).inverse();
    grad_output *= w.asDiagonal();
  } else {
    // ∂/∂m = (x - m) e^{-s},  ∂/∂s = ½ (x - m)² e^{-s} - ½, each times w_c.
    ws.terms.array() = (data.array() - ws.means.array()) * (-ws.log_variances.array()).exp();
    ws.scratch = (0.5f * (data.array() - ws.means.array()) * ws.terms.array() - 0.5f).matrix();
    grad_output.topRows(D) = ws.terms * w.asDiagonal();
    grad_output.bottomRows(D) = ws.scratch * w.asDiagonal();
  }
}

MatrixD decoder_log_likelihood_all_pairs(Likelihood likelihood, const MatrixF& out, const MatrixF& X) {
  const MatrixD Xd = X.cast<double>();
  const Index D = X.rows();
  if (likelihood == Likelihood::bernoulli) {
    const MatrixD logits = out.cast<double>();
    const RowVectorD normalizer =
        (logits.array().max(0.0) + (-logits.array().abs()).exp().log1p()).colwise().sum();
    MatrixD result = datapoint_blocked_transpose_product(Xd, logits);
    result.rowwise() -= normalizer;
    return result;
  }
  // Σ_i -½[log 2π + s_i + (x_i - m_i)² e^{-s_i}] = x²ᵀ(-½e^{-s}) + xᵀ(m e^{-s}) - ½ Σ_i [log 2π + s_i + m_i² e^{-s_i}]
  const MatrixD means = out.topRows(D).cast<double>();
  const MatrixD log_variances = out.bottomRows(D).cast<double>();
  const MatrixD precisions = (-log_variances.array()).exp();
  MatrixD result = datapoint_blocked_transpose_product(Xd.array().square().matrix(), -0.5 * precisions);
  result += datapoint_blocked_transpose_product(Xd, (means.array() * precisions.array()).matrix());
  const RowVectorD constant =
      -0.5 * (std::log(2.0 * std::numbers::pi) + log_variances.array() + means.array().square() * precisions.array())
                 .colwise()
                 .sum();
  result.rowwise() += constant;
  return result;
}

MatrixF sample_from_decoder_output(Likelihood likelihood, const MatrixF& out, Rng& rng) {
  const Index N = out.cols();
  const Index D = likelihood == Likelihood::bernoulli ? out.rows() : out.rows() / 2;
  MatrixF data(D, N);
  for (Index n = 0; n < N; ++n) {
    for (Index i = 0; i < D; ++i) {
      if (likelihood == Likelihood::bernoulli) {
        const double p = 1.0 / (1.0 + std::exp(-static_cast<double>(out(i, n))));
        data(i, n) = uniform_01(rng) < p ? 1.0f : 0.0f;
      } else {
        boost::random::normal_distribution<double> normal(0.0, 1.0);
        data(i, n) = static_cast<float>(out(i, n) + std::exp(0.5 * out(D + i, n)) * normal(rng));
      }
    }
  }
  return data;
}

}  // namespace vigap
