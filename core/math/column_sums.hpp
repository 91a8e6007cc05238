#pragma once
// Column sums in double in one fixed order, whatever the matrix's width or alignment.
#include "core/types.hpp"

namespace vigap {

/// out(c) = Σ_i M(i, c) in double, summed as 8 interleaved partial sums (i mod 8) added in a
/// fixed order, so that a column's sum depends on its entries only (not on its address or the
/// matrix width, unlike Eigen's vectorized reductions, which start at the first aligned entry).
VectorD fixed_order_column_sums(const MatrixF& M);

}  // namespace vigap
