#include "core/math/column_sums.hpp"

namespace vigap {

VectorD fixed_order_column_sums(const MatrixF& M) {
  const Index rows = M.rows();
  VectorD out(M.cols());
  for (Index c = 0; c < M.cols(); ++c) {
    const float* p = M.data() + c * rows;
    double partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    Index i = 0;
    for (; i + 8 <= rows; i += 8)
      for (int j = 0; j < 8; ++j) partial[j] += static_cast<double>(p[i + j]);
    for (int j = 0; i < rows; ++i, ++j) partial[j] += static_cast<double>(p[i]);
    out(c) = ((partial[0] + partial[1]) + (partial[2] + partial[3])) + ((partial[4] + partial[5]) + (partial[6] + partial[7]));
  }
  return out;
}

}  // namespace vigap
