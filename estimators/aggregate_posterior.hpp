#pragma once
// The aggregate posterior q(z) = (1/N) Σ_n q(z|x_n) of an encoder's diagonal Gaussians: an
// N-component mixture whose density, on arbitrary points and on tensor grids, is a matrix product.
#include <functional>

#include "core/types.hpp"
#include "core/variational/diagonal_gaussian.hpp"

namespace vigap {

/// q(z) = (1/N) Σ_n N(z; μ_n, diag σ_n²), the mixture of the N diagonal Gaussians q(z|x_n)
/// (the encoder's outputs on a dataset), with the closed forms every decomposition of
/// (1/N) Σ_n KL(q(z|x_n) ‖ p(z)) needs. p(z) = N(0, I).
class AggregatePosterior {
 public:
  /// The mixture of the datapoints' Gaussians of `components` (mean and log-variance d x N).
  /// Throws std::invalid_argument for N = 0, d = 0 or a non-finite mean or log-variance.
  explicit AggregatePosterior(const DiagonalGaussian& components);

  Index latent_dim() const { return mean_.rows(); }
  Index num_components() const { return mean_.cols(); }
  const MatrixD& mean() const { return mean_; }                      ///< d x N: μ_n
  const MatrixD& standard_deviation() const { return std_dev_; }     ///< d x N: σ_n
  const DiagonalGaussian& components() const { return components_; }  ///< the q(z|x_n)

  /// log q(z_c) = log (1/N) Σ_n N(z_c; μ_n, diag σ_n²) for every column z_c of Z (d x C), exact
  /// (all N components), computed as log-sum-exp over the N x C matrix
  ///   log N(z_c; μ_n, σ_n) = -½ Σ_j z_cj²/σ_nj² + Σ_j z_cj μ_nj/σ_nj² - ½ Σ_j μ_nj²/σ_nj² - Σ_j log σ_nj - (d/2) log 2π,
  /// two matrix products per block of columns; blocks hold at most max_block_entries doubles.
  VectorD log_density(const MatrixD& Z, Index max_block_entries = Index{1} << 22) const;

  /// For a tensor grid with nodes x (n1) on axis 1 and, when d = 2, y (n2) on axis 2 (d = 1: y is
  /// ignored and n2 = 1): the mixture density q(x_i, y_j) = (1/N) Σ_n A[n,i] B[n,j] with
  /// A[n,i] = N(x_i; μ_n1, σ_n1), B[n,j] = N(y_j; μ_n2, σ_n2), i.e. Aᵀ B / N, delivered in
  /// blocks: visit(i0, j0, Q) receives Q(a, b) = q(x_{i0+a}, y_{j0+b}). Each block's product runs
  /// over the components within 12 σ of the block on both axes only (the others' densities there
  /// are below 5e-32 of their peaks), so a block costs what the components reaching it cost.
  /// A and B blocks hold at most max_block_entries doubles each. Throws std::invalid_argument for
  /// d > 2 or empty nodes.
  void visit_density_on_grid(const VectorD& x, const VectorD& y,
                             const std::function<void(Index i0, Index j0, const MatrixD& Q)>& visit,
                             Index max_block_entries = Index{1} << 22) const;

  /// The n1 x n2 matrix of visit_density_on_grid's values q(x_i, y_j) (d = 1: n1 x 1).
  MatrixD density_on_grid(const VectorD& x, const VectorD& y) const;

  /// The mixture's mean density over each cell of an equally spaced grid (cell of node (i, j):
  /// [x_i ± h1/2] x [y_j ± h2/2]), q̄_ij = (1/(h1 h2)) (1/N) Σ_n ΔΦ_n1(i) ΔΦ_n2(j) with
  /// ΔΦ_nk(i) = Φ((x_i + h_k/2 - μ_nk)/σ_nk) - Φ((x_i - h_k/2 - μ_nk)/σ_nk): exact cell masses, so a
  /// picture shows components narrower than a cell without aliasing. n1 x n2 (d = 1: n1 x 1);
  /// at least 2 nodes per axis. Throws std::invalid_argument as visit_density_on_grid.
  MatrixD cell_averaged_density_on_grid(const VectorD& x, const VectorD& y) const;

  /// (1/N) Σ_n KL(q(z|x_n) ‖ N(0, I)), unit j's share ½ (1/N) Σ_n (μ_nj² + σ_nj² - 1 - log σ_nj²): d values, exact.
  VectorD mean_kl_to_prior_per_unit() const;
  /// (1/N) Σ_n KL(q(z|x_n) ‖ N(0, I)) = the sum of mean_kl_to_prior_per_unit(), exact.
  double mean_kl_to_prior() const;
  /// (1/N) Σ_n H[q(z|x_n)] = (1/N) Σ_n Σ_j ½ log(2πe σ_nj²), exact.
  double mean_component_entropy() const;
  /// E_{q(z)}[log p(z)] = (1/N) Σ_n Σ_j -½ (log 2π + μ_nj² + σ_nj²), exact.
  double expected_log_prior() const;

 private:
  /// visit_density_on_grid with point densities or (cell_average) the per-axis cell masses / h.
  void visit_grid(const VectorD& x, const VectorD& y, bool cell_average,
                  const std::function<void(Index i0, Index j0, const MatrixD& Q)>& visit, Index max_block_entries) const;

  DiagonalGaussian components_;
  MatrixD mean_;
  MatrixD std_dev_;
};

}  // namespace vigap
