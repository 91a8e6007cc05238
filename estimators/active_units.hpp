#pragma once
// Active latent units (Burda, Grosse & Salakhutdinov 2015): the coordinates of z whose posterior
// mean varies across the data.
#include <nlohmann/json.hpp>
#include <vector>

#include "core/types.hpp"

namespace vigap {

/// Per-unit activity A_j = Cov_x(E_{q(z|x)}[z_j]) and the units above a threshold.
struct ActiveUnits {
  VectorD activity;          ///< d: A_j, the sample variance (N - 1 denominator) of the posterior means
  double threshold = 0.01;   ///< unit j is active iff A_j > threshold
  std::vector<bool> active;  ///< d
  Index count = 0;           ///< number of active units
};

/// A_j = (1/(N-1)) Σ_n (m_nj - m̄_j)², m_n = E_{q(z|x_n)}[z] the columns of posterior_means (d x N,
/// N >= 2), and the units with A_j > threshold (Burda et al. use 0.01). Exact for the given data
/// (no Monte Carlo: the mean of a Gaussian q is its parameter). Throws std::invalid_argument for
/// N < 2 or a negative or non-finite threshold.
ActiveUnits active_units(const MatrixD& posterior_means, double threshold = 0.01);

/// {"threshold", "count", "latent_dim", "activity": [...], "active": [...]}.
nlohmann::ordered_json to_json(const ActiveUnits& units);

}  // namespace vigap
