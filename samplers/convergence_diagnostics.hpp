#pragma once
// Convergence diagnostics of several chains: split R-hat and effective sample size.
//
// Implemented as in Vehtari, Gelman, Simpson, Carpenter, Bürkner (2021), "Rank-normalization,
// folding, and localization: an improved R-hat", and Stan's estimator of the autocorrelation
// (Geyer's initial monotone sequence). Reported per datapoint and latent coordinate:
//   r_hat     = max(R̂ of rank-normalized split chains, R̂ of rank-normalized folded split chains)
//   bulk_ess  = ESS of the rank-normalized split chains.
// The plain (not rank-normalized) split versions are provided too.
#include "core/types.hpp"

namespace vigap {

/// Splits each of the C chains (columns of draws, n x C) into its first and second halves,
/// giving (n/2) x 2C; the middle draw is dropped when n is odd.
MatrixD split_chains(const MatrixD& draws);

/// Replaces every draw by Φ⁻¹((r - 3/8) / (S + 1/4)), r its rank among all S draws (ties averaged).
MatrixD rank_normalize(const MatrixD& draws);

/// Potential scale reduction of chains given as columns (no splitting here):
///   R̂ = sqrt(((n-1)/n · W + B/n) / W),  W = mean within-chain variance, B/n = variance of chain means.
/// NaN when n < 2 or W = 0.
double potential_scale_reduction(const MatrixD& chains);

/// Stan's ESS of chains given as columns (no splitting here): S / τ̂ with τ̂ = -1 + 2 Σ ρ̂_t
/// over Geyer's initial monotone sequence of combined-chain autocorrelations (capped at S log10 S).
/// Autocovariances are computed lag by lag only as far as the sequence is summed.
/// NaN when n < 4 or the draws have no variance.
double effective_sample_size_of_chains(const MatrixD& chains);

/// Plain split R-hat: potential_scale_reduction(split_chains(draws)).
double split_r_hat(const MatrixD& draws);
/// Plain split ESS: effective_sample_size_of_chains(split_chains(draws)).
double split_effective_sample_size(const MatrixD& draws);
/// Vehtari et al. (2021) R̂: max of the rank-normalized split R̂ of the draws and of |draws - median|.
double rank_normalized_split_r_hat(const MatrixD& draws);
/// Vehtari et al. (2021) bulk ESS: ESS of the rank-normalized split chains.
double bulk_effective_sample_size(const MatrixD& draws);

/// Per datapoint b and coordinate j (d x B each).
struct ConvergenceDiagnostics {
  MatrixD r_hat;     ///< rank-normalized split R̂ (Vehtari et al. 2021)
  MatrixD bulk_ess;  ///< bulk effective sample size
};

/// The draws of chain c of datapoint b for coordinate j as an n x C matrix, from the sampler
/// layout: draws is d x (B·C·n), draw t of chain c of datapoint b in column (b·C + c)·n + t.
MatrixD chains_of(const MatrixD& draws, Index datapoint, Index coordinate, Index chains, Index draws_per_chain);

/// R̂ and bulk ESS for every datapoint and coordinate of draws in the sampler layout.
ConvergenceDiagnostics convergence_diagnostics(const MatrixD& draws, Index num_datapoints, Index chains,
                                               Index draws_per_chain);

}  // namespace vigap
