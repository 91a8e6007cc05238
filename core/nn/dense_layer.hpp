#pragma once
// An affine layer y = W x + b whose parameters live in a shared flat parameter vector.
#include "core/types.hpp"

namespace vigap {

/// Affine map R^input_dim -> R^output_dim. W (output_dim x input_dim, column-major) starts at
/// `offset` in the flat parameter vector, followed by b (output_dim). Holds no parameters itself,
/// so many layers share one vector and one optimizer state.
class DenseLayer {
 public:
  DenseLayer(Index input_dim, Index output_dim, Index offset);

  Index input_dim() const { return input_dim_; }
  Index output_dim() const { return output_dim_; }
  Index offset() const { return offset_; }
  /// output_dim * input_dim + output_dim.
  Index num_parameters() const { return output_dim_ * (input_dim_ + 1); }

  Eigen::Map<const MatrixF> weight(const VectorF& parameters) const;
  Eigen::Map<MatrixF> weight(VectorF& parameters) const;
  Eigen::Map<const VectorF> bias(const VectorF& parameters) const;
  Eigen::Map<VectorF> bias(VectorF& parameters) const;

  /// Y = W X + b 1ᵀ (Y is resized to output_dim x X.cols()).
  void forward(const VectorF& parameters, const MatrixF& X, MatrixF& Y) const;

  /// Backward pass for an upstream gradient dY = ∂f/∂Y:
  ///   ∂f/∂W += dY Xᵀ and ∂f/∂b += dY 1 (accumulated into `gradient` when it is non-null),
  ///   ∂f/∂X = Wᵀ dY (written to *dX when dX is non-null).
  void backward(const VectorF& parameters, const MatrixF& X, const MatrixF& dY, VectorF* gradient,
                MatrixF* dX) const;

 private:
  Index input_dim_;
  Index output_dim_;
  Index offset_;
};

}  // namespace vigap
