#include "estimators/quadrature_grid.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace vigap {

void QuadratureGrid::cell(Index g, VectorD& cell_lower, VectorD& cell_upper) const {
  cell_lower = (nodes.col(g) - 0.5 * spacing).cwiseMax(lower);
  cell_upper = (nodes.col(g) + 0.5 * spacing).cwiseMin(upper);
}

QuadratureGrid trapezoid_grid(const VectorD& lower, const VectorD& upper, Index n) {
  const Index d = lower.size();
  if (d < 1 || d > 3)
    throw std::invalid_argument("trapezoid_grid: dimension must be 1, 2 or 3, found " + std::to_string(d));
  if (upper.size() != d)
    throw std::invalid_argument("trapezoid_grid: lower has " + std::to_string(d) + " entries, upper " +
                                std::to_string(upper.size()));
  if (!lower.allFinite() || !upper.allFinite() || !(upper.array() > lower.array()).all())
    throw std::invalid_argument("trapezoid_grid: expected finite bounds with lower < upper in every dimension");
  if (n < 3 || n % 2 == 0)
    throw std::invalid_argument("trapezoid_grid: nodes_per_dimension must be odd and >= 3 (so every other node "
                                "is again a trapezoid rule), found " + std::to_string(n));
  QuadratureGrid grid;
  grid.lower = lower;
  grid.upper = upper;
  grid.nodes_per_dimension = n;
  grid.spacing = (upper - lower) / static_cast<double>(n - 1);
  Index G = 1;
  for (Index j = 0; j < d; ++j) G *= n;
  grid.nodes.resize(d, G);
  grid.log_weights.resize(G);
  grid.half_rule_log_weights.resize(G);
  grid.on_boundary.resize(G);
  const bool has_quarter = (n - 1) % 4 == 0;
  if (has_quarter) grid.quarter_rule_log_weights.resize(G);
  const double minus_infinity = -std::numeric_limits<double>::infinity();
  for (Index g = 0; g < G; ++g) {
    Index rest = g;
    double log_w = 0.0, log_w_half = 0.0, log_w_quarter = 0.0;
    bool boundary = false;
    for (Index j = 0; j < d; ++j) {
      const Index i = rest % n;
      rest /= n;
      grid.nodes(j, g) = i == n - 1 ? upper(j) : lower(j) + static_cast<double>(i) * grid.spacing(j);
      const bool face = i == 0 || i == n - 1;
      boundary = boundary || face;
      log_w += std::log(grid.spacing(j)) + (face ? -std::log(2.0) : 0.0);
      log_w_half = i % 2 == 1 ? minus_infinity : log_w_half + std::log(2.0 * grid.spacing(j)) + (face ? -std::log(2.0) : 0.0);
      log_w_quarter =
          i % 4 != 0 ? minus_infinity : log_w_quarter + std::log(4.0 * grid.spacing(j)) + (face ? -std::log(2.0) : 0.0);
    }
    grid.log_weights(g) = log_w;
    grid.half_rule_log_weights(g) = log_w_half;
    grid.on_boundary(g) = boundary ? 1.0 : 0.0;
    if (has_quarter) grid.quarter_rule_log_weights(g) = log_w_quarter;
  }
  return grid;
}

QuadratureGrid trapezoid_grid(Index dimension, double half_width, Index n) {
  if (!(half_width > 0.0) || !std::isfinite(half_width))
    throw std::invalid_argument("trapezoid_grid: half_width must be positive and finite, found " +
                                std::to_string(half_width));
  if (dimension < 1 || dimension > 3)
    throw std::invalid_argument("trapezoid_grid: dimension must be 1, 2 or 3, found " + std::to_string(dimension));
  return trapezoid_grid(VectorD::Constant(dimension, -half_width), VectorD::Constant(dimension, half_width), n);
}

}  // namespace vigap
