#pragma once
// Random streams keyed by (run seed, purpose, dataset index, substream): every draw made for a
// datapoint is a function of the run's seed, the datapoint's index in the dataset (not in the
// batch), what the draw is for, and its position in that stream. So a datapoint's figures do
// not depend on which datapoints share its batch, on chunk sizes or on the thread count.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/random.hpp"
#include "core/types.hpp"

namespace vigap {

/// What a stream is for. The numbers are part of the results' definition: never renumber or
/// reuse one; add new purposes at the end with new numbers.
enum class StreamPurpose : std::uint64_t {
  elbo = 1,                           ///< ELBO samples z ~ q
  iwae = 2,                           ///< IWAE-K samples
  importance_sampling = 3,            ///< importance-sampling log p̂(x) from q
  ais = 4,                            ///< forward AIS from the prior: initial states, momenta, accept/reject
  ais_pilot = 5,                      ///< the pilot run that sets AIS's step-size schedule
  reverse_ais = 6,                    ///< reverse AIS (BDMC's upper bound)
  hmc = 7,                            ///< HMC sampling of p(z|x): initial states, momenta, jitter, accept/reject
  local_optimization_gradient = 8,    ///< q* fits: the reparameterization noise of each Adam step
  local_optimization_check = 9,       ///< q* fits: the ELBO checks of the stopping rule
  flow_initialization = 10,           ///< a local flow's initial parameters
  exact_posterior_sampling = 11,      ///< draws from the exact (quadrature) posterior
  kl_quadrature = 12,                 ///< the draws of q that locate KL-by-quadrature's box
  ais_from_q = 13,                    ///< forward AIS from a posterior approximation q
  ais_from_q_pilot = 14,              ///< the pilot run of AIS from q
  bdmc_simulation = 15,               ///< BDMC: the simulated (z, x) pairs
  gradient_variance = 16,             ///< replicated gradient estimates (estimator-variance study)
  local_flow_draws = 17,              ///< a local flow fit: its Adam steps' draws
  approximation_draws = 18,           ///< plain draws of q (pictures, discrepancies, HMC starts)
  elbo_variance = 19,                 ///< replicated ELBO estimates (estimator-variance study)
  reverse_ais_pilot = 20,             ///< the pilot run of reverse AIS
  local_optimization_selection = 21,  ///< q* fits: the common draws that compare the start with the best iterate
  local_flow_selection = 22,          ///< local flow fits: the common draws that compare the start with the best check
};

/// The SplitMix64 finalizer (Steele, Lea & Flood 2014; the mixing step of java.util.SplittableRandom):
///   z = x + 0x9E3779B97F4A7C15;  z = (z ^ (z >> 30)) · 0xBF58476D1CE4E5B9;
///   z = (z ^ (z >> 27)) · 0x94D049BB133111EB;  return z ^ (z >> 31)   (arithmetic mod 2^64).
/// A bijection of 64-bit words with full avalanche.
constexpr std::uint64_t splitmix64_mix(std::uint64_t x) {
  std::uint64_t z = x + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// The seed of one stream:
///   h₀ = mix(run_seed),  h₁ = mix(h₀ ⊕ purpose),  h₂ = mix(h₁ ⊕ datapoint_index),
///   stream_seed = mix(h₂ ⊕ substream),
/// with mix = splitmix64_mix and ⊕ bitwise exclusive or. Each step is a bijection of its input,
/// so for a fixed prefix distinct last keys give distinct seeds; keys differing earlier collide
/// with probability about 2^-64. The stream itself is Rng (boost mt19937_64) seeded with it.
/// The formula is part of what a seed means: changing it changes every result.
constexpr std::uint64_t stream_seed(std::uint64_t run_seed, StreamPurpose purpose, std::uint64_t datapoint_index,
                                    std::uint64_t substream = 0) {
  std::uint64_t h = splitmix64_mix(run_seed);
  h = splitmix64_mix(h ^ static_cast<std::uint64_t>(purpose));
  h = splitmix64_mix(h ^ datapoint_index);
  return splitmix64_mix(h ^ substream);
}

/// One generator per datapoint of a batch. Generator b draws only for datapoint b: for S samples
/// (or chains) per datapoint, the columns b·S ... b·S+S-1 of a d x (B·S) matrix, filled column by
/// column, each column's entries in row order. A BatchRng of ONE generator serves every datapoint
/// in batch order (the legacy Rng& interfaces: their draws are those of the one rng, as before).
class BatchRng {
 public:
  BatchRng() = default;
  explicit BatchRng(std::vector<Rng> generators) : generators_(std::move(generators)) {}

  /// B generators, seeded with successive raw draws of rng (for the legacy Rng& interfaces:
  /// the draws then depend on the batch, as they always did there).
  static BatchRng seeded_from(Rng& rng, Index num_datapoints);

  Index size() const { return static_cast<Index>(generators_.size()); }
  Rng& operator[](Index datapoint) { return generators_[static_cast<size_t>(datapoint)]; }
  const Rng& operator[](Index datapoint) const { return generators_[static_cast<size_t>(datapoint)]; }
  /// The generator that draws for datapoint b: generator b, or the only one.
  Rng& for_datapoint(Index datapoint) { return generators_[generators_.size() == 1 ? 0 : static_cast<size_t>(datapoint)]; }
  /// True when there is one generator per datapoint of a batch of B, or one for all.
  bool serves(Index num_datapoints) const { return size() == num_datapoints || size() == 1; }

  /// Columns per datapoint of a matrix with `columns` columns: columns / size(). Throws
  /// std::invalid_argument (naming caller) unless size() >= 1 divides columns.
  Index columns_per_datapoint(Index columns, const char* caller) const;

 private:
  std::vector<Rng> generators_;
};

/// Fills m (rows x B·S, B = generators.size()) with N(0, 1) draws: column c from generator c / S,
/// column by column, so datapoint b's columns come from generator b in order.
template <typename Derived>
void fill_standard_normal(Eigen::MatrixBase<Derived>& m, BatchRng& generators) {
  const Index per = generators.columns_per_datapoint(m.cols(), "fill_standard_normal");
  boost::random::normal_distribution<double> normal(0.0, 1.0);
  using Scalar = typename Derived::Scalar;
  for (Index j = 0; j < m.cols(); ++j) {
    Rng& rng = generators[j / per];
    for (Index i = 0; i < m.rows(); ++i) m(i, j) = static_cast<Scalar>(normal(rng));
  }
}

/// A rows x cols matrix of N(0, 1) draws, cols = B·S, filled as fill_standard_normal does.
inline MatrixD standard_normal_matrix(Index rows, Index cols, BatchRng& generators) {
  MatrixD m(rows, cols);
  fill_standard_normal(m, generators);
  return m;
}

/// A rows x (n·S) matrix of N(0, 1) draws for a subset of the batch: columns k·S ... k·S+S-1
/// from generator datapoints[k] (n = datapoints.size()), column by column. For loops that keep
/// drawing for the datapoints still active: each datapoint's draws are its own stream, in order.
inline MatrixD standard_normal_matrix_for(Index rows, Index samples_per_datapoint, const std::vector<Index>& datapoints,
                                          BatchRng& generators) {
  boost::random::normal_distribution<double> normal(0.0, 1.0);
  const Index S = samples_per_datapoint;
  MatrixD m(rows, static_cast<Index>(datapoints.size()) * S);
  for (size_t k = 0; k < datapoints.size(); ++k) {
    Rng& rng = generators.for_datapoint(datapoints[k]);
    for (Index s = 0; s < S; ++s)
      for (Index i = 0; i < rows; ++i) m(i, static_cast<Index>(k) * S + s) = normal(rng);
  }
  return m;
}

/// The run seed and the dataset indices of a batch's datapoints (and a substream, 0 unless
/// chosen): what every per-datapoint generator is derived from.
///
/// An estimator takes `const RandomStreams&` and asks for generators(purpose) with the purposes
/// it needs (distinct purposes for its distinct uses). A caller that runs the same estimator more
/// than once on the same datapoints and needs independent noise (rows of a table, replicates)
/// passes with_substream(k) with a distinct k each time.
class RandomStreams {
 public:
  /// dataset_indices[b] is the index in the dataset of datapoint b of the batch.
  RandomStreams(std::uint64_t run_seed, std::vector<std::uint64_t> dataset_indices, std::uint64_t substream = 0);

  /// Datapoints first_index, first_index + 1, ..., first_index + count - 1 of the dataset.
  static RandomStreams consecutive(std::uint64_t run_seed, std::uint64_t first_index, Index count);

  /// For the legacy Rng& interfaces: run seed rng(), datapoints 0 ... count - 1 (one draw of rng).
  static RandomStreams from_rng(Rng& rng, Index count);

  std::uint64_t run_seed() const { return run_seed_; }
  std::uint64_t substream() const { return substream_; }
  Index size() const { return static_cast<Index>(dataset_indices_.size()); }
  const std::vector<std::uint64_t>& dataset_indices() const { return dataset_indices_; }

  /// Generator b seeded with stream_seed(run_seed, purpose, dataset_indices[b], substream()).
  BatchRng generators(StreamPurpose purpose) const { return generators(purpose, substream_); }
  /// As above with an explicit substream.
  BatchRng generators(StreamPurpose purpose, std::uint64_t substream) const;

  /// The same streams for batch datapoints first ... first + count - 1: its generators are those
  /// of the whole batch's datapoints first ... first + count - 1. Throws std::invalid_argument
  /// when the range is not inside the batch.
  RandomStreams slice(Index first, Index count) const;

  /// The same datapoints with another substream.
  RandomStreams with_substream(std::uint64_t substream) const;

  /// Throws std::invalid_argument (naming caller) unless size() == num_datapoints.
  void check_size(Index num_datapoints, const char* caller) const;

 private:
  std::uint64_t run_seed_;
  std::vector<std::uint64_t> dataset_indices_;
  std::uint64_t substream_;
};

}  // namespace vigap
