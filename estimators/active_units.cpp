#include "estimators/active_units.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace vigap {

ActiveUnits active_units(const MatrixD& posterior_means, double threshold) {
  if (posterior_means.cols() < 2)
    throw std::invalid_argument("active_units: needs at least 2 datapoints to estimate a variance, found " +
                                std::to_string(posterior_means.cols()));
  if (!(threshold >= 0.0) || !std::isfinite(threshold))
    throw std::invalid_argument("active_units: threshold must be finite and >= 0, found " + std::to_string(threshold));
  ActiveUnits units;
  units.threshold = threshold;
  const VectorD mean = posterior_means.rowwise().mean();
  const MatrixD centered = posterior_means.colwise() - mean;
  units.activity = centered.rowwise().squaredNorm() / static_cast<double>(posterior_means.cols() - 1);
  units.active.resize(static_cast<size_t>(units.activity.size()));
  for (Index j = 0; j < units.activity.size(); ++j) {
    units.active[static_cast<size_t>(j)] = units.activity(j) > threshold;
    if (units.activity(j) > threshold) ++units.count;
  }
  return units;
}

nlohmann::ordered_json to_json(const ActiveUnits& units) {
  nlohmann::ordered_json activity = nlohmann::ordered_json::array(), active = nlohmann::ordered_json::array();
  for (Index j = 0; j < units.activity.size(); ++j) {
    activity.push_back(units.activity(j));
    active.push_back(static_cast<bool>(units.active[static_cast<size_t>(j)]));
  }
  return {{"threshold", units.threshold},
          {"count", units.count},
          {"latent_dim", units.activity.size()},
          {"definition", "unit j active iff Cov_x(E_q[z_j | x]) > threshold (Burda et al. 2015)"},
          {"activity", activity},
          {"active", active}};
}

}  // namespace vigap
