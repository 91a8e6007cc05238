#pragma once
// Tensor-product trapezoid grids on boxes in d <= 3 dimensions, the nodes of every
// quadrature estimator (exact log p(x), exact posterior, KL by quadrature).
//
// Why the trapezoid rule. The integrands here, p(z) p(x|z) and q(z) [log q - log p(z|x)],
// are smooth and decay at least like a Gaussian away from the posterior mass. For such a
// function the uniform trapezoid rule on a box wide enough that the integrand is negligible
// at the faces converges geometrically, not algebraically, in the spacing h: for a Gaussian
// of standard deviation s the error is ~ exp(-2 π² s² / h²) (the aliased Fourier transform at
// frequency 2π/h), i.e. 1e-34 at h = s/2 and 1e-9 at h = s. Gauss-Legendre on sub-intervals
// would only be as good, and its nodes do not nest. The trapezoid nodes do: with an odd
// number n of nodes per dimension, every other node is itself the trapezoid rule with spacing
// 2h, so the difference between the two rules is an error estimate that costs no extra model
// evaluations (and, the rule converging geometrically, bounds the error of the finer one by a
// wide margin). Each node also owns a cell (its box of side h, halved on the faces) whose
// volume is its weight, which is what the exact posterior samples from.
#include <vector>

#include "core/types.hpp"

namespace vigap {

/// A tensor-product trapezoid rule on the box [lower, upper] with n nodes per dimension:
/// ∫_box f(u) du ≈ Σ_g w_g f(u_g), w_g = Π_j h_j (½ on each face the node lies on),
/// h_j = (upper_j - lower_j) / (n - 1). Nodes are ordered with the first coordinate fastest.
struct QuadratureGrid {
  MatrixD nodes;                  ///< d x G, G = n^d
  VectorD log_weights;            ///< G: log w_g
  /// G: log-weights of the same rule on every other node (spacing 2h); -inf on the dropped nodes.
  VectorD half_rule_log_weights;
  /// G: log-weights of the rule on every fourth node (spacing 4h), -inf on the dropped nodes;
  /// empty when n - 1 is not a multiple of 4 (no such nested rule).
  VectorD quarter_rule_log_weights;
  /// G: 1 for a node on a face of the box, 0 otherwise (mass there signals truncation).
  VectorD on_boundary;
  VectorD lower;    ///< d
  VectorD upper;    ///< d
  VectorD spacing;  ///< d: h_j
  Index nodes_per_dimension = 0;

  Index dimension() const { return nodes.rows(); }
  Index size() const { return nodes.cols(); }
  /// The cell of node g, [u_g - h/2, u_g + h/2] clipped to the box: its volume is w_g.
  void cell(Index g, VectorD& cell_lower, VectorD& cell_upper) const;
};

/// The trapezoid grid on [lower, upper] (d = lower.size() in 1..3, lower < upper) with
/// nodes_per_dimension nodes per dimension, which must be odd and >= 3 (so the half rule
/// exists; when n - 1 is also a multiple of 4, the rule on every fourth node too). Throws
/// std::invalid_argument otherwise.
QuadratureGrid trapezoid_grid(const VectorD& lower, const VectorD& upper, Index nodes_per_dimension);

/// The trapezoid grid on the cube [-half_width, half_width]^dimension.
QuadratureGrid trapezoid_grid(Index dimension, double half_width, Index nodes_per_dimension);

}  // namespace vigap
