#pragma once
// KL(q(z|x) ‖ p(z|x)) and the ELBO of any approximation with a density, by quadrature
// (latent dimension d <= 3).
#include "core/models/generative_model.hpp"
#include "core/random.hpp"
#include "core/variational/posterior_approximation.hpp"
#include "estimators/adaptive_quadrature.hpp"
#include "estimators/estimate.hpp"

namespace vigap {

/// Settings of kl_divergence_by_quadrature.
struct KlQuadratureOptions {
  /// Grids and tolerance; the grid follows q's mass, and log p(x) (when not given) uses the same settings.
  QuadratureOptions quadrature;
  /// Draws from q per datapoint whose mean and covariance place the first grid (default 1024).
  Index initial_samples = 1024;
  /// Throws std::invalid_argument naming the offending option (and as QuadratureOptions::validate).
  void validate(Index latent_dim) const;
};

/// KL, ELBO and log p(x) per datapoint, all "exact" (quadrature).
struct QuadratureKlDivergence {
  /// KL(q ‖ p(z|x_b)); per_datapoint_standard_error is the quadrature error estimate.
  Estimate kl_divergence;
  /// ELBO_b = log p(x_b) - KL_b = Σ_g w_g q (log p(x_b, z_g) - log q) + (1 - mass_b) log p(x_b): the
  /// error of log p(x_b) cancels except for the (1 - mass) share.
  Estimate elbo;
  Estimate log_marginal_likelihood;  ///< the log p(x_b) used
  /// Σ_g w_g q(z_g | x_b): q's mass on its grid, ≈ 1 (settings hold max |mass - 1|).
  VectorD approximation_mass;
};

/// KL_b = ∫ q(z|x_b) [log q(z|x_b) - log p(z|x_b)] dz
///      ≈ Σ_g w_g q(z_g|x_b) [log q(z_g|x_b) - log p(x_b, z_g) + log p(x_b)],
/// on a per-datapoint trapezoid grid whitened by q's mean and covariance: first estimated from
/// initial_samples draws of q (the only use of rng), then refined by quadrature of q's own
/// density until q's mass on the grid passes the tolerance (adaptive_quadrature.hpp). Each pass
/// is one q.log_density call and the final pass one q.log_density and one model.log_joint call
/// per max_latent_columns_per_call columns (q's interface takes the whole batch, so calls split
/// the grid, never the datapoints). log p(x_b) comes from `log_marginal_likelihood`
/// (per_datapoint and its error estimates, e.g. from exact_marginal_likelihood).
/// Error estimate per datapoint: |KL_h - KL_2h| (half rule) + (2/h)·Σ_faces w q (1 + |log q/p|)
/// (truncation) + the error estimate of log p(x_b). Bias direction: exact.
/// Throws std::invalid_argument if q has no density, its latent dimension or batch size differ
/// from the model's and X's, the data dimension mismatches, or latent dimension > 3.
/// Randomness: datapoint b's initial draws come from streams' StreamPurpose::kl_quadrature
/// generator of b.
QuadratureKlDivergence kl_divergence_by_quadrature(const GenerativeModel& model, const PosteriorApproximation& q,
                                                   const MatrixF& X, const Estimate& log_marginal_likelihood,
                                                   const KlQuadratureOptions& options, const RandomStreams& streams);

/// As above with the single stream rng (the draws of earlier versions: they depend on the batch).
QuadratureKlDivergence kl_divergence_by_quadrature(const GenerativeModel& model, const PosteriorApproximation& q,
                                                   const MatrixF& X, const Estimate& log_marginal_likelihood,
                                                   const KlQuadratureOptions& options, Rng& rng);

/// As above, computing log p(x) first with exact_marginal_likelihood(model, X, options.quadrature).
QuadratureKlDivergence kl_divergence_by_quadrature(const GenerativeModel& model, const PosteriorApproximation& q,
                                                   const MatrixF& X, const KlQuadratureOptions& options,
                                                   const RandomStreams& streams);

/// As above with the single stream rng (the draws of earlier versions: they depend on the batch).
QuadratureKlDivergence kl_divergence_by_quadrature(const GenerativeModel& model, const PosteriorApproximation& q,
                                                   const MatrixF& X, const KlQuadratureOptions& options, Rng& rng);

}  // namespace vigap
