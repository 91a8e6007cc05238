#pragma once
// A GenerativeModel wrapper that counts every latent column pushed through the decoder (with or
// without gradient): the check of every decoder-evaluation count the library predicts.
#include <atomic>
#include <string>

#include "core/models/generative_model.hpp"

namespace vigap::testing {

/// Forwards to a model and counts the latent columns evaluated (with or without gradient).
class CountingModel final : public GenerativeModel {
 public:
  explicit CountingModel(const GenerativeModel& model) : model_(model) {}
  Index latent_dim() const override { return model_.latent_dim(); }
  Index data_dim() const override { return model_.data_dim(); }
  std::string describe() const override { return "counting " + model_.describe(); }
  VectorD log_likelihood(const MatrixF& X, const MatrixD& Z, Index S) const override {
    columns_ += Z.cols();
    return model_.log_likelihood(X, Z, S);
  }
  VectorD log_likelihood_with_gradient(const MatrixF& X, const MatrixD& Z, Index S, MatrixD& grad_Z) const override {
    columns_ += Z.cols();
    return model_.log_likelihood_with_gradient(X, Z, S, grad_Z);
  }
  MatrixD log_likelihood_all_pairs(const MatrixF& X, const MatrixD& Z) const override {
    columns_ += X.cols() * Z.cols();
    return model_.log_likelihood_all_pairs(X, Z);
  }
  ModelSample sample(Index N, Rng& rng) const override { return model_.sample(N, rng); }
  /// Columns per datapoint since the last call, and resets the count.
  double take_per_datapoint(Index B) const { return static_cast<double>(take()) / static_cast<double>(B); }
  /// Columns since the last take, and resets the count.
  Index take() const { return columns_.exchange(0); }

 private:
  const GenerativeModel& model_;
  mutable std::atomic<Index> columns_{0};  // models may be called from several threads
};

}  // namespace vigap::testing
