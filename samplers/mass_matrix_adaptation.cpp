#include "samplers/mass_matrix_adaptation.hpp"

#include <stdexcept>
#include <string>

namespace vigap {

void WarmupWindowOptions::validate() const {
  if (initial_buffer < 0)
    throw std::invalid_argument("WarmupWindowOptions: initial_buffer must be >= 0, found " +
                                std::to_string(initial_buffer));
  if (terminal_buffer < 0)
    throw std::invalid_argument("WarmupWindowOptions: terminal_buffer must be >= 0, found " +
                                std::to_string(terminal_buffer));
  if (base_window < 1)
    throw std::invalid_argument("WarmupWindowOptions: base_window must be >= 1, found " + std::to_string(base_window));
}

std::vector<WarmupWindow> stan_warmup_windows(Index num_warmup, const WarmupWindowOptions& options) {
  options.validate();
  std::vector<WarmupWindow> windows;
  if (num_warmup < 20) return windows;
  Index initial = options.initial_buffer;
  Index terminal = options.terminal_buffer;
  Index size = options.base_window;
  if (initial + terminal + size > num_warmup) {
    initial = static_cast<Index>(0.15 * static_cast<double>(num_warmup));
    terminal = static_cast<Index>(0.1 * static_cast<double>(num_warmup));
    size = num_warmup - initial - terminal;
  }
  const Index last_end = num_warmup - terminal;
  Index begin = initial;
  while (begin < last_end) {
    Index end = begin + size;
    if (end + 2 * size > last_end) end = last_end;
    windows.push_back({begin, end});
    begin = end;
    size *= 2;
  }
  return windows;
}

DiagonalMassMatrixAdaptation::DiagonalMassMatrixAdaptation(Index dimension, Index num_columns, Index group_size)
    : dimension_(dimension), num_columns_(num_columns), group_size_(group_size) {
  if (dimension < 1 || group_size < 1 || num_columns < 1 || num_columns % group_size != 0)
    throw std::invalid_argument("DiagonalMassMatrixAdaptation: expected dimension >= 1 and num_columns (" +
                                std::to_string(num_columns) + ") a positive multiple of group_size (" +
                                std::to_string(group_size) + ")");
  reset();
}

void DiagonalMassMatrixAdaptation::reset() {
  count_ = 0;
  mean_ = MatrixD::Zero(dimension_, num_columns_ / group_size_);
  m2_ = MatrixD::Zero(dimension_, num_columns_ / group_size_);
}

void DiagonalMassMatrixAdaptation::add_draws(const MatrixD& Z) {
  if (Z.rows() != dimension_ || Z.cols() != num_columns_)
    throw std::invalid_argument("DiagonalMassMatrixAdaptation::add_draws: expected " + std::to_string(dimension_) +
                                " x " + std::to_string(num_columns_) + " draws, found " + std::to_string(Z.rows()) +
                                " x " + std::to_string(Z.cols()));
  // Pooled Welford: the C draws of a group enter one after another.
  const Index groups = num_columns_ / group_size_;
  Index n = count_;
  for (Index c = 0; c < group_size_; ++c) {
    ++n;
    for (Index g = 0; g < groups; ++g) {
      const auto x = Z.col(g * group_size_ + c);
      const VectorD delta = x - mean_.col(g);
      mean_.col(g) += delta / static_cast<double>(n);
      m2_.col(g).array() += delta.array() * (x - mean_.col(g)).array();
    }
  }
  count_ = n;
}

MatrixD DiagonalMassMatrixAdaptation::regularized_inverse_mass() const {
  MatrixD out(dimension_, num_columns_);
  const double n = static_cast<double>(count_);
  const Index groups = num_columns_ / group_size_;
  for (Index g = 0; g < groups; ++g) {
    VectorD inverse_mass = VectorD::Ones(dimension_);
    if (count_ >= 2) {
      const VectorD variance = m2_.col(g) / (n - 1.0);
      inverse_mass = (n / (n + 5.0)) * variance.array() + 1e-3 * (5.0 / (n + 5.0));
    }
    for (Index c = 0; c < group_size_; ++c) out.col(g * group_size_ + c) = inverse_mass;
  }
  return out;
}

}  // namespace vigap
