#pragma once
// A test double of TrainableDecoder: p(x|z) = Π_i Bernoulli(x_i; σ(l_i)), l = W z + b, with its own
// hand-written passes (no Mlp), so training code that works with it works through the interface.
#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/models/trainable_decoder.hpp"
#include "core/random.hpp"

namespace vigap::testing {

/// l = W z + b with θ = (W column-major, D x d, then b, D).
class LinearBernoulliDecoder final : public TrainableDecoder {
 public:
  struct Workspace final : TrainableDecoder::Workspace {
    MatrixF logits;  ///< D x N of the last forward or output pass
  };

  LinearBernoulliDecoder(Index latent_dim, Index data_dim)
      : latent_dim_(latent_dim), data_dim_(data_dim), parameters_(VectorF::Zero(data_dim * latent_dim + data_dim)) {}

  Index latent_dim() const override { return latent_dim_; }
  Index data_dim() const override { return data_dim_; }
  std::string describe() const override { return "linear Bernoulli decoder (test double)"; }
  Likelihood likelihood() const override { return Likelihood::bernoulli; }
  VectorF& parameters() override { return parameters_; }
  const VectorF& parameters() const override { return parameters_; }
  std::unique_ptr<TrainableDecoder::Workspace> make_workspace(ColumnBlocking) const override {
    return std::make_unique<Workspace>();
  }

  const MatrixF& output(const MatrixF& Z, TrainableDecoder::Workspace& workspace) const override {
    Workspace& ws = own(workspace);
    ws.logits = (weight() * Z).colwise() + bias();
    return ws.logits;
  }
  void backward_output(const MatrixF& Z, const MatrixF& grad_output, TrainableDecoder::Workspace&,
                       VectorF* grad_parameters) const override {
    if (grad_parameters == nullptr) return;
    Eigen::Map<MatrixF>(grad_parameters->data(), data_dim_, latent_dim_) += grad_output * Z.transpose();
    grad_parameters->tail(data_dim_) += grad_output.rowwise().sum();
  }

  /// Σ_i x_i l_i - softplus(l_i) per column.
  VectorD forward(const MatrixF& X, const MatrixF& Z, Index S, TrainableDecoder::Workspace& workspace) const override {
    const MatrixF& l = output(Z, workspace);
    VectorD values(Z.cols());
    for (Index c = 0; c < Z.cols(); ++c) {
      double sum = 0.0;
      for (Index i = 0; i < data_dim_; ++i)
        sum += static_cast<double>(X(i, c / S)) * l(i, c) - softplus(l(i, c));
      values(c) = sum;
    }
    return values;
  }
  /// ∂/∂l_c = w_c (x - σ(l_c)); to θ by backward_output, to z by Wᵀ.
  void backward(const MatrixF& X, const MatrixF& Z, Index S, const VectorF& column_weights,
                TrainableDecoder::Workspace& workspace, VectorF* grad_parameters, MatrixF* grad_Z) const override {
    const MatrixF& l = own(workspace).logits;
    MatrixF grad_logits(data_dim_, Z.cols());
    for (Index c = 0; c < Z.cols(); ++c)
      grad_logits.col(c) =
          column_weights(c) * (X.col(c / S).array() - (1.0f + (-l.col(c).array()).exp()).inverse()).matrix();
    backward_output(Z, grad_logits, workspace, grad_parameters);
    if (grad_Z != nullptr) *grad_Z = weight().transpose() * grad_logits;
  }

  VectorD log_likelihood(const MatrixF& X, const MatrixD& Z, Index S) const override {
    check_batch(X, Z, S, "LinearBernoulliDecoder::log_likelihood");
    Workspace ws;
    return forward(X, Z.cast<float>(), S, ws);
  }
  VectorD log_likelihood_with_gradient(const MatrixF& X, const MatrixD& Z, Index S, MatrixD& grad_Z) const override {
    check_batch(X, Z, S, "LinearBernoulliDecoder::log_likelihood_with_gradient");
    Workspace ws;
    const MatrixF Zf = Z.cast<float>();
    const VectorD values = forward(X, Zf, S, ws);
    MatrixF grad;
    backward(X, Zf, S, VectorF::Ones(Z.cols()), ws, nullptr, &grad);
    grad_Z = grad.cast<double>();
    return values;
  }
  ModelSample sample(Index N, Rng& rng) const override {
    ModelSample s;
    s.latents.resize(latent_dim_, N);
    fill_standard_normal(s.latents, rng);
    Workspace ws;
    const MatrixF& l = output(s.latents.cast<float>(), ws);
    s.data.resize(data_dim_, N);
    for (Index c = 0; c < N; ++c)
      for (Index i = 0; i < data_dim_; ++i)
        s.data(i, c) = uniform_01(rng) < 1.0 / (1.0 + std::exp(-static_cast<double>(l(i, c)))) ? 1.0f : 0.0f;
    return s;
  }

 private:
  static Workspace& own(TrainableDecoder::Workspace& workspace) {
    auto* ws = dynamic_cast<Workspace*>(&workspace);
    if (ws == nullptr) throw std::invalid_argument("LinearBernoulliDecoder: a workspace of another decoder");
    return *ws;
  }
  static double softplus(float l) { return std::max(0.0, static_cast<double>(l)) + std::log1p(std::exp(-std::abs(static_cast<double>(l)))); }
  Eigen::Map<const MatrixF> weight() const { return Eigen::Map<const MatrixF>(parameters_.data(), data_dim_, latent_dim_); }
  Eigen::Map<const VectorF> bias() const { return Eigen::Map<const VectorF>(parameters_.data() + data_dim_ * latent_dim_, data_dim_); }

  Index latent_dim_, data_dim_;
  VectorF parameters_;
};

}  // namespace vigap::testing
