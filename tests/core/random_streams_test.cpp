#include "core/random_streams.hpp"

#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/full_covariance_gaussian.hpp"
#include "support/expect_throw_message.hpp"

namespace vigap {
namespace {

using testing::expect_throw_message;

TEST(StreamSeed, IsTheDocumentedSplitMix64Chain) {
  // SplitMix64's first output for state 0 is mix(0) = 0xE220A8397B1DCDAF (Vigna's reference).
  EXPECT_EQ(splitmix64_mix(0), 0xE220A8397B1DCDAFULL);
  const std::uint64_t h0 = splitmix64_mix(7);
  const std::uint64_t h1 = splitmix64_mix(h0 ^ 4);
  const std::uint64_t h2 = splitmix64_mix(h1 ^ 123);
  EXPECT_EQ(stream_seed(7, StreamPurpose::ais, 123, 5), splitmix64_mix(h2 ^ 5));
  EXPECT_EQ(stream_seed(7, StreamPurpose::ais, 123), stream_seed(7, StreamPurpose::ais, 123, 0));
}

TEST(StreamSeed, PurposeNumbersAreFixed) {
  // Renumbering a purpose changes every result of that purpose: these are part of a seed's meaning.
  EXPECT_EQ(static_cast<std::uint64_t>(StreamPurpose::elbo), 1u);
  EXPECT_EQ(static_cast<std::uint64_t>(StreamPurpose::iwae), 2u);
  EXPECT_EQ(static_cast<std::uint64_t>(StreamPurpose::importance_sampling), 3u);
  EXPECT_EQ(static_cast<std::uint64_t>(StreamPurpose::ais), 4u);
  EXPECT_EQ(static_cast<std::uint64_t>(StreamPurpose::ais_pilot), 5u);
  EXPECT_EQ(static_cast<std::uint64_t>(StreamPurpose::reverse_ais), 6u);
  EXPECT_EQ(static_cast<std::uint64_t>(StreamPurpose::hmc), 7u);
  EXPECT_EQ(static_cast<std::uint64_t>(StreamPurpose::reverse_ais_pilot), 20u);
  EXPECT_EQ(static_cast<std::uint64_t>(StreamPurpose::local_optimization_selection), 21u);
  EXPECT_EQ(static_cast<std::uint64_t>(StreamPurpose::local_flow_selection), 22u);
}

TEST(StreamSeed, DistinctKeysGiveDistinctSeedsAndStreams) {
  std::set<std::uint64_t> seeds;
  std::set<std::uint64_t> first_draws;
  Index keys = 0;
  for (std::uint64_t run : {0ULL, 1ULL, 2ULL})
    for (std::uint64_t purpose = 1; purpose <= 20; ++purpose)
      for (std::uint64_t index : {0ULL, 1ULL, 2ULL, 1000ULL})
        for (std::uint64_t substream : {0ULL, 1ULL, 7ULL}) {
          const std::uint64_t seed = stream_seed(run, static_cast<StreamPurpose>(purpose), index, substream);
          seeds.insert(seed);
          Rng rng(seed);
          first_draws.insert(rng());
          ++keys;
        }
  EXPECT_EQ(static_cast<Index>(seeds.size()), keys);
  EXPECT_EQ(static_cast<Index>(first_draws.size()), keys);
}

TEST(RandomStreams, GeneratorBIsSeededFromTheDatasetIndexNotThePosition) {
  const RandomStreams streams(11, {40, 3, 17}, 2);
  BatchRng generators = streams.generators(StreamPurpose::elbo);
  ASSERT_EQ(generators.size(), 3);
  const std::uint64_t indices[] = {40, 3, 17};
  for (Index b = 0; b < 3; ++b) {
    Rng expected(stream_seed(11, StreamPurpose::elbo, indices[b], 2));
    EXPECT_EQ(generators[b](), expected());
  }
  BatchRng explicit_substream = streams.generators(StreamPurpose::elbo, 9);
  Rng expected(stream_seed(11, StreamPurpose::elbo, 40, 9));
  EXPECT_EQ(explicit_substream[0](), expected());
}

TEST(RandomStreams, SlicesGiveTheGeneratorsOfTheWhole) {
  const RandomStreams whole = RandomStreams::consecutive(5, 100, 40);
  EXPECT_EQ(whole.dataset_indices().front(), 100u);
  EXPECT_EQ(whole.dataset_indices().back(), 139u);
  const RandomStreams first = whole.slice(0, 20), second = whole.slice(20, 20);
  const RandomStreams separate = RandomStreams::consecutive(5, 120, 20);
  BatchRng all = whole.generators(StreamPurpose::hmc, 3);
  BatchRng a = first.generators(StreamPurpose::hmc, 3);
  BatchRng b = second.generators(StreamPurpose::hmc, 3);
  BatchRng c = separate.generators(StreamPurpose::hmc, 3);
  for (Index i = 0; i < 20; ++i) {
    const std::uint64_t x = all[i](), y = all[20 + i]();
    EXPECT_EQ(a[i](), x);
    EXPECT_EQ(b[i](), y);
    EXPECT_EQ(c[i](), y);
  }
  const RandomStreams with = whole.with_substream(4).slice(3, 2);
  EXPECT_EQ(with.substream(), 4u);
  EXPECT_EQ(with.dataset_indices(), (std::vector<std::uint64_t>{103, 104}));
}

TEST(RandomStreams, RejectsSlicesOutsideTheBatchAndMismatchedSizes) {
  const RandomStreams streams = RandomStreams::consecutive(1, 0, 4);
  expect_throw_message<std::invalid_argument>([&] { (void)streams.slice(3, 2); }, {"[3, 5)", "batch of 4"});
  expect_throw_message<std::invalid_argument>([&] { (void)streams.slice(-1, 1); }, {"not inside"});
  expect_throw_message<std::invalid_argument>([&] { streams.check_size(5, "caller_name"); },
                                              {"caller_name", "cover 4", "has 5"});
  BatchRng generators = streams.generators(StreamPurpose::elbo);
  MatrixD m(2, 6);
  expect_throw_message<std::invalid_argument>([&] { fill_standard_normal(m, generators); },
                                              {"6 columns", "4 per-datapoint generators"});
}

TEST(BatchRng, DatapointBDrawsItsOwnColumnsInOrder) {
  const RandomStreams streams = RandomStreams::consecutive(9, 0, 3);
  BatchRng generators = streams.generators(StreamPurpose::elbo);
  const MatrixD m = standard_normal_matrix(2, 3 * 4, generators);  // S = 4
  for (Index b = 0; b < 3; ++b) {
    BatchRng alone = streams.slice(b, 1).generators(StreamPurpose::elbo);
    const MatrixD own = standard_normal_matrix(2, 4, alone);
    EXPECT_EQ(m.middleCols(b * 4, 4), own) << "datapoint " << b;
  }
  // Drawing S = 4 at once equals four draws of S = 1 in a row (the sweep's order).
  BatchRng again = streams.generators(StreamPurpose::elbo);
  MatrixD by_sample(2, 12);
  for (Index s = 0; s < 4; ++s) {
    const MatrixD one = standard_normal_matrix(2, 3, again);
    for (Index b = 0; b < 3; ++b) by_sample.col(b * 4 + s) = one.col(b);
  }
  EXPECT_EQ(by_sample, m);
}

TEST(BatchRng, SubsetDrawsMatchEachDatapointsOwnStream) {
  const RandomStreams streams = RandomStreams::consecutive(3, 10, 4);
  BatchRng generators = streams.generators(StreamPurpose::local_optimization_gradient);
  const MatrixD subset = standard_normal_matrix_for(3, 2, {1, 3}, generators);
  for (Index k = 0; k < 2; ++k) {
    BatchRng alone = streams.slice(k == 0 ? 1 : 3, 1).generators(StreamPurpose::local_optimization_gradient);
    EXPECT_EQ(subset.middleCols(2 * k, 2), standard_normal_matrix(3, 2, alone));
  }
}

TEST(PosteriorApproximationSampling, EachFamilyDrawsDatapointBFromGeneratorB) {
  MatrixD mean(2, 3), log_variance(2, 3);
  mean << 0.0, 1.0, -2.0, 0.5, 0.25, 3.0;
  log_variance << 0.0, -1.0, 0.5, 0.2, -0.3, 1.0;
  const DiagonalGaussian diagonal(mean, log_variance);
  std::vector<MatrixD> factors(3, MatrixD::Identity(2, 2));
  factors[1](1, 0) = 0.7;
  const FullCovarianceGaussian full(mean, factors);
  const RandomStreams streams = RandomStreams::consecutive(21, 50, 3);
  for (const PosteriorApproximation* q : {static_cast<const PosteriorApproximation*>(&diagonal),
                                          static_cast<const PosteriorApproximation*>(&full)}) {
    BatchRng all = streams.generators(StreamPurpose::elbo);
    VectorD log_q_all;
    const MatrixD Z = q->sample_with_log_density(5, all, log_q_all);
    for (Index b = 0; b < 3; ++b) {
      const DiagonalGaussian one_diagonal(mean.col(b), log_variance.col(b));
      const FullCovarianceGaussian one_full(mean.col(b), {factors[static_cast<size_t>(b)]});
      const PosteriorApproximation& one = q == &diagonal ? static_cast<const PosteriorApproximation&>(one_diagonal)
                                                         : static_cast<const PosteriorApproximation&>(one_full);
      BatchRng alone = streams.slice(b, 1).generators(StreamPurpose::elbo);
      VectorD log_q;
      EXPECT_EQ(one.sample_with_log_density(5, alone, log_q), Z.middleCols(b * 5, 5)) << q->describe() << " " << b;
      EXPECT_EQ(log_q, log_q_all.segment(b * 5, 5));
    }
  }
}

TEST(PosteriorApproximationSampling, RejectsTheWrongNumberOfGenerators) {
  const DiagonalGaussian q(MatrixD::Zero(2, 3), MatrixD::Zero(2, 3));
  BatchRng two = RandomStreams::consecutive(1, 0, 2).generators(StreamPurpose::elbo);
  expect_throw_message<std::invalid_argument>([&] { (void)q.sample(4, two); },
                                              {"one generator per datapoint (3)", "found 2"});
  Rng rng(1);
  EXPECT_EQ(q.sample(4, rng).cols(), 12);  // the Rng& convenience form seeds one generator per datapoint
}

}  // namespace
}  // namespace vigap
