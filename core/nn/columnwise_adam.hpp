#pragma once
// Adam (Kingma & Ba 2015) in double precision on the columns of a parameter matrix, each column
// an independent problem (e.g. one datapoint's variational parameters) that can be frozen.
#include <vector>

#include "core/nn/adam.hpp"
#include "core/types.hpp"

namespace vigap {

/// One Adam state for a P x B parameter matrix Θ whose B columns are separate problems. A step
/// updates only the active columns; each column keeps its own step count t_b, so its bias
/// corrections 1 - β^t_b are those of Adam run on that column alone:
///   m_b <- β1 m_b + (1 - β1) g_b,  v_b <- β2 v_b + (1 - β2) g_b²,
///   θ_b <- θ_b - lr · (m_b / (1 - β1^t_b)) / (sqrt(v_b / (1 - β2^t_b)) + ε)     (minimizes).
/// Double precision throughout (parameters of size ~1e-3 relative steps stay exact).
class ColumnwiseAdam {
 public:
  ColumnwiseAdam(Index num_rows, Index num_columns, AdamOptions options = {});

  /// One step on the columns listed in `active_columns` (ascending or not, no repeats):
  /// parameters.col(active_columns[k]) is updated with gradient.col(k) (so the gradient holds
  /// only the active columns, in that order) at learning rate lr > 0.
  void step(MatrixD& parameters, const MatrixD& gradient, const std::vector<Index>& active_columns,
            double learning_rate);

  /// Steps taken by column b.
  Index steps_taken(Index column) const { return step_counts_[static_cast<size_t>(column)]; }

 private:
  AdamOptions options_;
  MatrixD first_moment_;
  MatrixD second_moment_;
  std::vector<Index> step_counts_;
};

}  // namespace vigap
