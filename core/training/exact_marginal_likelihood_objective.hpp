#pragma once
// Training a decoder by its exact marginal likelihood: log p(x) by quadrature on one grid of
// latent nodes shared by the whole batch (latent dimension <= 3), and its gradient.
//
// Why one shared grid. On fixed nodes z_g the decoder's logits L_g = decoder(z_g) do not depend on
// x, so one decoder pass over the G nodes serves every datapoint of the batch, and
//   log p(x_b | z_g) = x_bᵀ L_g - Σ_i softplus(L_ig)                  (Bernoulli)
// for all b and g is ONE matrix product Xᵀ L. The gradient of log p(x_b) with respect to L_g is
// r_bg (x_b - σ(L_g)), r_bg = p(z_g | x_b) on the grid (the posterior responsibilities), so the
// batch's gradient with respect to all logits is again one product X R - σ(L) diag(1ᵀ R),
// which the decoder's hand-written backward pass takes to the parameters.
#include <vector>

#include "core/models/trainable_decoder.hpp"
#include "core/random.hpp"

namespace vigap {

/// Settings of the grid of exact_marginal_likelihood_objective.
struct ExactMarginalLikelihoodObjectiveOptions {
  /// Half-width a of the box [-a, a]^d integrated over, in prior standard deviations. > 0.
  /// Mass outside the box is lost (the objective then undershoots log p(x)), and an undertrained
  /// decoder does put posteriors far out: its hidden units extrapolate (ELU: linearly) into
  /// sharper images than it can draw near the origin, worth more than the prior's |z|²/2 for some
  /// images. 8 costs the prior 32 nats at the faces.
  double half_width = 8.0;
  /// n cells per dimension, spacing h = 2a / n (default 16/128 = 0.125). The midpoint rule on a
  /// Gaussian of standard deviation s errs by ~2 exp(-2π² s² / h²) relative: 1e-8 at h = s,
  /// 1.4e-2 at h = 2s, 0.6 at h = 4s. The posteriors of 2-D Fashion-MNIST decoders have
  /// s ~ 0.02-0.3 (sharper with training), so a fixed grid this coarse could be exploited
  /// (posteriors placed on nodes); the random shift removes the incentive (see random_shift) at
  /// the price of a noisier p̂(x). The grid has n^d nodes (16,384 by default: the cost grows
  /// with it). >= 1; n^d <= 2^26.
  Index cells_per_dimension = 128;
  /// Whether each grid (draw_grid_shift) is moved by one uniform shift u ~ U[-h/2, h/2]^d of all
  /// its nodes. Shifted, node g is uniform on its cell, so Σ_g h^d p(z_g) p(x|z_g) is an unbiased
  /// estimate of ∫_{[-a,a]^d} p(z) p(x|z) dz <= p(x): a decoder cannot gain by placing its
  /// posteriors on fixed nodes, and the log is a stochastic lower bound on log p(x) (Jensen).
  /// Unshifted (false), the nodes are the cell centres (midpoint rule, deterministic).
  bool random_shift = true;
  /// Grid nodes per decoder call: the work unit of a thread (memory: its activations). >= 1.
  Index nodes_per_block = 2048;
  /// Throws std::invalid_argument naming the option, what was expected and what was found
  /// (also for latent_dim > 3: the grid grows as n^d).
  void validate(Index latent_dim) const;
  /// h = 2a / n.
  double spacing() const { return 2.0 * half_width / static_cast<double>(cells_per_dimension); }
};

/// A tensor grid of latent nodes with weights, the prior included:
/// log_weights(g) = log h^d + log p(z_g), so ∫ p(z) f(z) dz ≈ Σ_g exp(log_weights(g)) f(z_g).
struct LatentGrid {
  MatrixF nodes;        ///< d x G, the first coordinate fastest
  VectorD log_weights;  ///< G
  VectorD shift;        ///< d: the shift u of every node from its cell centre

  Index size() const { return nodes.cols(); }
};

/// The n^d cell centres of [-a, a]^d moved by `shift` (d entries, each in [-h/2, h/2]), with
/// log-weights log h^d + log N(z_g; 0, I). Throws std::invalid_argument for invalid options or a
/// shift of another dimension or beyond half a cell.
LatentGrid shifted_latent_grid(Index latent_dim, const ExactMarginalLikelihoodObjectiveOptions& options,
                               const VectorD& shift);

/// u ~ U[-h/2, h/2]^d when options.random_shift, else 0 (no draw from rng).
VectorD draw_grid_shift(Index latent_dim, const ExactMarginalLikelihoodObjectiveOptions& options, Rng& rng);

/// F = (1/B) Σ_b log p̂(x_b),  log p̂(x_b) = log Σ_g exp(log_weights(g) + log p(x_b | z_g)),
/// the grid's quadrature of log p(x_b) = log ∫ p(z) p(x_b|z) dz for every column x_b of X (D x B),
/// for a Bernoulli decoder. With ∂F/∂L_g = (1/B) Σ_b r_bg (x_b - σ(L_g)),
/// r_bg = exp(log_weights(g) + log p(x_b|z_g) - log p̂(x_b)), writes ∂F/∂θ (the gradient of the
/// objective to maximize, layout of decoder.parameters()) into *grad_decoder when
/// non-null, overwriting it; log p̂(x_b) into *per_datapoint when non-null.
/// Bias direction: with a fixed grid fine enough for every posterior and a box holding its mass,
/// exact (to ~1e-4 nats: the products run in float); with a randomly shifted grid a stochastic
/// lower bound on log p(x) (the log of an unbiased estimate of the box's share of p(x)), tight
/// once h is below the posterior standard deviations.
/// Nodes whose responsibilities sum to at most 1e-10 (over the batch, after the 1/B) are left out
/// of the gradient (all of them together carry at most G · 1e-10 of the posterior mass).
/// Cost: one decoder forward over the G nodes, one float product B x D x G, and for the gradient,
/// over the nodes some posterior reaches, a second forward, one product and one backward; blocks of nodes_per_block nodes
/// are split over OpenMP threads, and the per-block gradients are summed in block order (the
/// same result for any number of threads).
/// Throws std::invalid_argument for a Gaussian decoder, mismatched dimensions or no data.
double exact_marginal_likelihood_objective(const TrainableDecoder& decoder, const MatrixF& X, const LatentGrid& grid,
                                           Index nodes_per_block, VectorF* grad_decoder,
                                           VectorD* per_datapoint = nullptr);

}  // namespace vigap
