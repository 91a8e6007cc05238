#include "core/variational/start_or_best_selection.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/math/mean_and_standard_error.hpp"

namespace vigap {

Index StartOrBestSelection::kept_start_count() const {
  return static_cast<Index>(std::count(kept_start.begin(), kept_start.end(), true));
}

nlohmann::ordered_json StartOrBestSelection::to_json() const {
  nlohmann::ordered_json j;
  j["rule"] = "per datapoint, the better of the start and the best iterate on the same evaluation draws";
  j["samples"] = samples;
  j["datapoints_kept_start"] = kept_start_count();
  j["mean_start_elbo"] = start_elbo.mean();
  j["mean_best_elbo"] = best_elbo.mean();
  j["mean_difference"] = (best_elbo - start_elbo).mean();
  j["mean_difference_standard_error"] = difference_standard_error.mean();
  j["max_difference_standard_error"] = difference_standard_error.maxCoeff();
  return j;
}

StartOrBestSelection select_start_or_best(const MatrixD& start_terms, const MatrixD& best_terms) {
  const Index E = start_terms.rows();
  const Index B = start_terms.cols();
  if (best_terms.rows() != E || best_terms.cols() != B || E < 2 || B < 1)
    throw std::invalid_argument("select_start_or_best: expected two E x B term matrices with E >= 2 and B >= 1, found " +
                                std::to_string(E) + " x " + std::to_string(B) + " and " +
                                std::to_string(best_terms.rows()) + " x " + std::to_string(best_terms.cols()));
  StartOrBestSelection s;
  s.samples = E;
  s.start_elbo.resize(B);
  s.best_elbo.resize(B);
  s.difference_standard_error.resize(B);
  s.kept_start.assign(static_cast<size_t>(B), true);
  // Scalar sums in index order: column b of an E x B matrix starts at an alignment that depends on
  // b when E is not a multiple of the packet size, and Eigen's vectorized means start at the first
  // aligned entry, so a datapoint's bits would depend on its position in the batch.
  for (Index b = 0; b < B; ++b) {
    s.start_elbo(b) = mean_and_standard_error(start_terms.col(b)).mean;
    s.best_elbo(b) = mean_and_standard_error(best_terms.col(b)).mean;
    s.difference_standard_error(b) = mean_and_standard_error(best_terms.col(b) - start_terms.col(b)).standard_error;
    const bool best_wins = std::isfinite(s.best_elbo(b)) && (!std::isfinite(s.start_elbo(b)) || s.best_elbo(b) > s.start_elbo(b));
    s.kept_start[static_cast<size_t>(b)] = !best_wins;
  }
  return s;
}

}  // namespace vigap
