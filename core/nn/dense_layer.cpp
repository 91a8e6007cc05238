#include "core/nn/dense_layer.hpp"

#include <stdexcept>
#include <string>

namespace vigap {

DenseLayer::DenseLayer(Index input_dim, Index output_dim, Index offset)
    : input_dim_(input_dim), output_dim_(output_dim), offset_(offset) {
  if (input_dim < 1 || output_dim < 1)
    throw std::invalid_argument("DenseLayer: dimensions must be positive, found " +
                                std::to_string(input_dim) + " -> " + std::to_string(output_dim));
}

Eigen::Map<const MatrixF> DenseLayer::weight(const VectorF& p) const {
  return Eigen::Map<const MatrixF>(p.data() + offset_, output_dim_, input_dim_);
}
Eigen::Map<MatrixF> DenseLayer::weight(VectorF& p) const {
  return Eigen::Map<MatrixF>(p.data() + offset_, output_dim_, input_dim_);
}
Eigen::Map<const VectorF> DenseLayer::bias(const VectorF& p) const {
  return Eigen::Map<const VectorF>(p.data() + offset_ + output_dim_ * input_dim_, output_dim_);
}
Eigen::Map<VectorF> DenseLayer::bias(VectorF& p) const {
  return Eigen::Map<VectorF>(p.data() + offset_ + output_dim_ * input_dim_, output_dim_);
}

void DenseLayer::forward(const VectorF& p, const MatrixF& X, MatrixF& Y) const {
  Y.resize(output_dim_, X.cols());
  Y.noalias() = weight(p) * X;
  Y.colwise() += bias(p);
}

void DenseLayer::backward(const VectorF& p, const MatrixF& X, const MatrixF& dY, VectorF* gradient,
                          MatrixF* dX) const {
  if (gradient != nullptr) {
    weight(*gradient).noalias() += dY * X.transpose();
    bias(*gradient).noalias() += dY.rowwise().sum();
  }
  if (dX != nullptr) {
    dX->resize(input_dim_, dY.cols());
    dX->noalias() = weight(p).transpose() * dY;
  }
}

}  // namespace vigap
