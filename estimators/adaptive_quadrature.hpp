#pragma once
// Adaptive, batched trapezoid quadrature over the latent space (d <= 3): the machinery shared
// by exact_marginal_likelihood, ExactPosterior and kl_divergence_by_quadrature.
//
// The scheme. Datapoint b's integrand f_b(z) (p(x_b, z), or q(z|x_b)) is integrated on a
// per-datapoint affine image of one reference grid: z = c_b + L_b u, u on a trapezoid grid of
// the cube [-k, k]^d, c_b and L_b (lower-triangular) the mean and Cholesky factor of f_b's
// normalized mass estimated by the previous pass ("adaptive Gauss-Hermite" placement, with the
// trapezoid rule). In the whitened coordinates u the mass is near N(0, I): the tensor rule's
// error depends on the per-axis widths only, which whitening equalizes even for strongly
// correlated posteriors, and k = 7 standard deviations truncates nothing measurable.
// A pass yields, per datapoint, log ∫ f_b, its mean and covariance, and an error estimate
//   |log I_h - log I_2h| + (2/h)·(share of the mass on the faces),
// infinite when the mass is narrower than half a cell in some direction (unresolved), the
// first term the difference to the half rule on every other node (free), the second a conservative
// truncation term (it bounds the mass beyond the faces for tails decaying at least like
// e^{-|u|} in whitened units). Refinement repeats passes on the datapoints whose estimate
// exceeds the tolerance, each pass re-centred and re-scaled on the previous pass's moments; a
// datapoint whose passes stop improving moves to a grid twice as fine per dimension, up to the
// budget max_refined_nodes_per_dimension; an unresolved spike (mass on a single node) is caught
// by the half rule and shrinks the next box to a few cells around it, 4x finer per pass.
// Datapoints still above the tolerance at the end are listed, with their estimates and why
// refinement stopped (QuadratureRefinementResult::over_tolerance).
//
// Batching: a refined pass evaluates datapoint b on its own nodes, so it is one call of the
// model (or approximation) with Z = d x (B·G), the G nodes of datapoint b in columns
// b·G ... b·G+G-1 (the GenerativeModel layout), split into calls of at most
// max_latent_columns_per_call columns (by grid blocks and by datapoints) to bound memory.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "estimators/quadrature_grid.hpp"

namespace vigap {

/// Settings of quadrature over the latent space. Node counts of 0 pick a default by dimension.
struct QuadratureOptions {
  /// Half-width of the box [-a, a]^d of the coarse pass, in prior standard deviations
  /// (p(z) = N(0, I) puts 2.6e-12 of its mass per coordinate beyond 7).
  double prior_half_width = 7.0;
  /// Nodes per dimension of the coarse grid, shared by all datapoints (odd, >= 3).
  /// 0: 1401 (d = 1), 141 (d = 2), 41 (d = 3), i.e. spacing 0.01, 0.1, 0.35.
  Index coarse_nodes_per_dimension = 0;
  /// Nodes per dimension of each refined per-datapoint grid (odd, >= 3). 0: 65, 33, 29
  /// (spacing 0.22, 0.44, 0.5 standard deviations: half-rule differences ~1e-8 or less for Gaussian-like mass).
  Index refined_nodes_per_dimension = 0;
  /// Half-width k of a refined box in standard deviations of the integrand's mass (whitened units).
  double refined_half_width = 7.0;
  /// A datapoint is done once its error estimate (nats) is at most this. Float decoders put a
  /// floor of ~1e-6 (small D) to ~1e-5 (D = 784) under any grid: their log p(x|z) is rounded.
  double tolerance = 1e-5;
  /// Refined passes at most per datapoint after the coarse pass; the pass with the smallest
  /// error estimate is kept and datapoints still above tolerance are listed in the settings.
  Index max_refinements = 12;
  /// The refinement budget: a datapoint whose passes stop improving moves to grids of
  /// 2n - 1, 4n - 3, ... nodes per dimension (n = refined_nodes_per_dimension), never more
  /// than this many (>= refined nodes). 0: 4097 (d = 1), 257 (d = 2), 57 (d = 3), i.e. at most
  /// 4097, 66049 and 185193 nodes per datapoint and pass (with a 200-200-784 decoder a 257² pass
  /// costs ~3e10 flops, a few seconds, per datapoint).
  Index max_refined_nodes_per_dimension = 0;
  /// Datapoints per all-pairs call of the coarse pass.
  Index datapoint_chunk_size = 4096;
  /// Coarse-grid nodes per all-pairs call: one call holds datapoint_chunk_size x grid_block_size doubles.
  Index grid_block_size = 4096;
  /// Latent columns per model or approximation call in refined passes (the decoder holds its
  /// activations for this many columns). With a 784-pixel decoder, 16384 columns put the peak
  /// resident memory of exact_marginal_likelihood at 236 MB for 1,000 datapoints and 549 MB for
  /// 10,000 (65536: 713 and 746 MB), for 4-9% more time.
  Index max_latent_columns_per_call = Index{1} << 14;

  /// Throws std::invalid_argument naming the offending option; for latent_dim > 3 explains that
  /// quadrature cost is exponential in the dimension and points to AIS (estimators/ais).
  void validate(Index latent_dim) const;
  Index coarse_nodes(Index latent_dim) const;
  Index refined_nodes(Index latent_dim) const;
  Index max_refined_nodes(Index latent_dim) const;
  nlohmann::ordered_json to_json(Index latent_dim) const;
};

/// Per-datapoint affine maps z = centers.col(b) + scales[b] u placing a reference grid.
struct QuadratureFrames {
  MatrixD centers;              ///< d x B
  std::vector<MatrixD> scales;  ///< B lower-triangular d x d, positive diagonal

  Index size() const { return centers.cols(); }
  /// Frames with the given centers and Cholesky factors of the given covariances.
  static QuadratureFrames from_moments(const MatrixD& means, const std::vector<MatrixD>& covariances);
  /// log |det scales[b]|.
  double log_jacobian(Index b) const;
  /// d x (B·count): the images of reference nodes first..first+count-1 for every datapoint,
  /// datapoint b's in columns b·count ... b·count+count-1.
  MatrixD nodes(const QuadratureGrid& reference, Index first, Index count) const;
};

/// One quadrature pass over B datapoints.
struct QuadraturePassResult {
  VectorD log_integral;             ///< B: log ∫ f_b ≈ log Σ_g w_g |det L_b| f_b(c_b + L_b u_g)
  VectorD half_rule_log_integral;   ///< B: the same on every other node
  /// B: the same on every fourth node (NaN: the grid has no such rule); tells the integrand's
  /// rounding floor (the nested rules no longer contract) from slow convergence.
  VectorD quarter_rule_log_integral;
  VectorD boundary_mass_fraction;   ///< B: share of Σ_g w_g f_b on the faces of the box
  VectorD error_estimate;           ///< B: |log I_h - log I_2h| + (2 / min h)·boundary share; inf if unresolved
  MatrixD mean;                     ///< d x B: ∫ z f_b / ∫ f_b
  std::vector<MatrixD> covariance;  ///< B: ∫ (z - mean)(z - mean)ᵀ f_b / ∫ f_b
  VectorD spacing;                  ///< B: min_j h_j of the reference grid used (whitened units)
  std::vector<Index> nodes_per_dimension;  ///< B: nodes per dimension of the grid used
  QuadratureFrames frames;          ///< where each datapoint was integrated

  /// Copies datapoint `from` of `other` into datapoint `to` of this summary.
  void assign(Index to, const QuadraturePassResult& other, Index from);
  /// A summary of B datapoints with infinite error estimates (nothing integrated yet).
  static QuadraturePassResult empty(Index latent_dim, Index B);
};

/// The error estimate (nats) of the trapezoid value log I_h: |log I_h - log I_2h| + 1e-12
/// (rounding of the double sums), I_2h the nested rule on every other node; infinite when
/// either is NaN or infinite. It bounds the error of I_h whenever the rule converges at all
/// (error(2h) >= 2 error(h)), and is conservative by 2^p - 1 for an error ~h^p. An
/// extrapolation from the 4h rule as well (Bailey's, error(h) ≈ δ1^(log δ1 / log δ2), tight for
/// the Gaussian-type rate of smooth integrands) was tried and rejected: on the main job's ELU
/// decoder, whose rules converge algebraically and erratically, it reported 1e-12 for an error
/// of 7e-5. Refinement instead makes δ1 itself small (finer grids up to the budget). On that
/// decoder (100 test points against a prior-box rule of 1121² nodes and a refined one of 257²)
/// it bounded the error on all but a few points whose misses were 3e-5 (estimate 9e-6) or
/// where the two references themselves disagreed (1.7e-4 on one point: mass far from the
/// refined box).
double trapezoid_error_estimate(double log_full, double log_half);


/// Streaming per-datapoint sums of w_g e^{log f_bg - m_b} times (1, u, u uᵀ, half rule, face
/// indicator, quarter rule when the grid has one) over blocks of grid nodes, with a running maximum m_b: each block is one GEMM.
class QuadratureAccumulator {
 public:
  QuadratureAccumulator(const QuadratureGrid& grid, Index num_datapoints);
  /// log_values: B x count, log f_b at reference nodes first..first+count-1 (no weights).
  void add(const MatrixD& log_values, Index first);
  /// The summary, mapping moments through frames (B datapoints, in accumulation order).
  QuadraturePassResult finish(const QuadratureFrames& frames) const;

 private:
  const QuadratureGrid& grid_;
  MatrixD table_;   // G x K: w_g·(1, u, u_i u_j (i <= j), half/full ratio, face)
  VectorD max_;     // B
  MatrixD sums_;    // B x K
};

/// log f_b at nodes: `datapoints` (indices into the caller's batch) and Z = d x (n·S),
/// datapoint datapoints[i]'s S nodes in columns i·S ... i·S+S-1; returns n·S values.
using LogIntegrand = std::function<VectorD(const std::vector<Index>& datapoints, const MatrixD& Z, Index S)>;

/// One pass of the reference grid placed by `frames` (one frame per entry of `datapoints`),
/// evaluated in calls of at most max_latent_columns_per_call columns. With whole_batch, the
/// integrand accepts only the full batch in order (e.g. PosteriorApproximation::log_density),
/// so calls split the grid, never the datapoints.
QuadraturePassResult integrate_on_frames(const QuadratureGrid& reference, const QuadratureFrames& frames,
                                         const std::vector<Index>& datapoints, const LogIntegrand& log_integrand,
                                         Index max_latent_columns_per_call, bool whole_batch);

/// A datapoint whose best error estimate still exceeds the tolerance after refinement.
struct OverTolerance {
  Index datapoint = 0;             ///< index in the batch (the column of X)
  double log_integral = 0.0;       ///< the value kept
  double error_estimate = 0.0;     ///< its error estimate (nats; inf: unresolved)
  Index passes = 0;                ///< refined passes run
  Index nodes_per_dimension = 0;   ///< of the finest grid tried
  /// Why refinement stopped: "budget" (stalled on the finest grid max_refined_nodes_per_dimension
  /// allows), "rounding floor" (stalled on a grid finer than the first with the nested rules
  /// no longer contracting and differing by less than 1e-4 nats: the integrand's own rounding),
  /// "max_refinements" (passes exhausted).
  std::string reason;
};

/// Passes per datapoint and how many ended above tolerance.
struct QuadratureRefinementResult {
  std::vector<Index> passes;  ///< per datapoint: refined passes run
  Index unconverged = 0;      ///< datapoints whose best error estimate exceeds the tolerance
  Index stalled = 0;          ///< of those, datapoints stopped because passes no longer improved
  std::vector<OverTolerance> over_tolerance;  ///< the unconverged datapoints, in batch order
  Index nodes_evaluated = 0;  ///< refined-pass nodes integrated, summed over datapoints
};

/// The over-tolerance list as JSON: [{"datapoint": first_index + b, "log_integral", "error_estimate",
/// "passes", "nodes_per_dimension", "reason"}, ...] (infinite estimates as the string "inf").
nlohmann::ordered_json to_json(const std::vector<OverTolerance>& over_tolerance, Index first_index = 0);

/// A multi-line warning naming each over-tolerance datapoint (index first_index + b), its value,
/// estimate and reason, for stderr; empty when the list is empty. `what` names the integral
/// (e.g. "log p(x)").
std::string over_tolerance_warning(const std::vector<OverTolerance>& over_tolerance, double tolerance,
                                   const std::string& what, Index first_index = 0);

/// Refines `summary` (a completed pass for every datapoint of the batch, or
/// QuadraturePassResult::empty with `summary.frames` set to starting frames) in place: while a
/// datapoint's error estimate exceeds options.tolerance and fewer than max_refinements passes
/// ran, places the refined reference grid on the last pass's mean and covariance (plus
/// (h/2)² of the last grid's cell, doubled in scale when mass sits on the faces, the spread
/// clipped to [1e-12, 4] per axis, the centre to ±2·prior_half_width) and integrates again.
/// A datapoint whose resolved pass does not halve its best error estimate moves to a grid
/// twice as fine (2n - 1, then 4n - 3, ... nodes per dimension, at most
/// max_refined_nodes_per_dimension); it stops on a stall at the budget, or on a stall beyond
/// the first grid whose nested rules no longer contract while their difference is below 1e-4
/// nats (rounding floor of the integrand).
/// Keeps per datapoint the pass with the smallest error estimate and lists those still above
/// the tolerance in record.over_tolerance.
QuadratureRefinementResult refine_quadrature(QuadraturePassResult& summary, const LogIntegrand& log_integrand,
                                             const QuadratureOptions& options, Index latent_dim, bool whole_batch);

}  // namespace vigap
