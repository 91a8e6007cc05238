#pragma once
// The last step of a local fit that starts from a distribution (q* from the encoder's q, the
// local flow from q*_FFG): keep, per datapoint, the better of the start and the best iterate,
// compared on the SAME evaluation draws (common random numbers), so that a fit never ends worse
// than where it started by more than the noise of that paired comparison.
#include <nlohmann/json.hpp>
#include <vector>

#include "core/types.hpp"

namespace vigap {

/// The paired comparison of a fit's start and its best iterate on E common evaluation draws.
struct StartOrBestSelection {
  Index samples = 0;                  ///< E, evaluation draws per datapoint (the same ε for both)
  VectorD start_elbo;                 ///< B: (1/E) Σ_e [log p(x_b, z_e) - log q_start(z_e)]
  VectorD best_elbo;                  ///< B: the same for the best iterate, on the same ε_e
  /// B: the standard error of best_elbo - start_elbo, sd_e(paired differences) / sqrt(E): far
  /// below either ELBO's own standard error when the two distributions are close.
  VectorD difference_standard_error;
  std::vector<bool> kept_start;       ///< B: the start was kept (best_elbo <= start_elbo)

  Index kept_start_count() const;
  /// {"samples", "datapoints_kept_start", "mean_start_elbo", "mean_best_elbo",
  ///  "mean_difference", "mean_difference_standard_error", "max_difference_standard_error"}.
  nlohmann::ordered_json to_json() const;
};

/// Decides from per-draw ELBO terms: start_terms and best_terms are E x B (column b: datapoint
/// b's terms log p(x_b, z_e) - log q(z_e) at z_e = T(ε_e), the same ε_e for both), E >= 2. The
/// best iterate is kept only where its mean is strictly larger; non-finite means lose.
/// Throws std::invalid_argument for mismatched shapes or E < 2.
StartOrBestSelection select_start_or_best(const MatrixD& start_terms, const MatrixD& best_terms);

}  // namespace vigap
