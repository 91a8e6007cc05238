#pragma once
// A fit problem for the "same bits in a batch of one and of many" tests of the local fits
// (tests/core/variational/local_gaussian_optimization_test.cpp, local_flow_optimization_test.cpp):
// a random-weight MLP decoder with d = 20 latents (a datapoint's parameter column of the full
// family, P = 230, or of a flow, starts at an alignment that depends on its position in the
// batch), B random binary datapoints of dimension 30, and a start q per datapoint.
#include <cstdint>
#include <cstring>

#include "core/models/mlp_decoder_model.hpp"
#include "core/random.hpp"
#include "core/types.hpp"

namespace vigap::testing {

struct BatchPositionProblem {
  static constexpr Index kLatentDim = 20, kDataDim = 30;
  MlpDecoderModel model{kLatentDim, {16}, kDataDim, Activation::elu, Likelihood::bernoulli};
  MatrixF X;             ///< kDataDim x B, entries 0 or 1
  MatrixD mean;          ///< kLatentDim x B, the start's means (N(0, 0.3²))
  MatrixD log_variance;  ///< kLatentDim x B, the start's log variances (N(-0.5, 0.2²))
};

/// The problem for B datapoints, everything drawn from `seed`.
inline BatchPositionProblem make_batch_position_problem(Index B, std::uint64_t seed) {
  Rng rng(seed);
  BatchPositionProblem p;
  p.model.network().initialize(rng);
  p.X.resize(BatchPositionProblem::kDataDim, B);
  for (Index j = 0; j < B; ++j)
    for (Index i = 0; i < BatchPositionProblem::kDataDim; ++i) p.X(i, j) = uniform_01(rng) < 0.5 ? 1.0f : 0.0f;
  p.mean = 0.3 * standard_normal_matrix(BatchPositionProblem::kLatentDim, B, rng);
  p.log_variance = (0.2 * standard_normal_matrix(BatchPositionProblem::kLatentDim, B, rng)).array() - 0.5;
  return p;
}

/// The same bits (NaN equal to NaN, 0 unequal to -0).
inline bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace vigap::testing
