#include "core/math/log_sum_exp.hpp"

#include <stdexcept>
#include <string>

namespace vigap {

VectorD segment_log_sum_exp(const VectorD& v, Index segment_size) {
  if (segment_size < 1 || v.size() % segment_size != 0)
    throw std::invalid_argument("segment_log_sum_exp: vector of size " + std::to_string(v.size()) +
                                " is not a whole number of segments of size " +
                                std::to_string(segment_size));
  const Index n = v.size() / segment_size;
  VectorD out(n);
  for (Index b = 0; b < n; ++b) out(b) = log_sum_exp(v.segment(b * segment_size, segment_size));
  return out;
}

VectorD segment_log_mean_exp(const VectorD& v, Index segment_size) {
  VectorD out = segment_log_sum_exp(v, segment_size);
  out.array() -= std::log(static_cast<double>(segment_size));
  return out;
}

RowVectorD colwise_log_sum_exp(const MatrixD& m) {
  RowVectorD out(m.cols());
  for (Index j = 0; j < m.cols(); ++j) out(j) = log_sum_exp(m.col(j));
  return out;
}

VectorD rowwise_log_sum_exp(const MatrixD& m) {
  VectorD out(m.rows());
  for (Index i = 0; i < m.rows(); ++i) out(i) = log_sum_exp(m.row(i));
  return out;
}

}  // namespace vigap
