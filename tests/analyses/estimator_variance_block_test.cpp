// The estimator-variance study in blocks, in process, on the linear-Gaussian VAE: the results
// assembled from blocks of 1, 2, 3 or all 7 datapoints (the IWAE sweep on the first 4, so that a
// block holds all, some or none of its datapoints in it) are the JSON of
// compute_estimator_variance_study over all of them, byte for byte, per-datapoint values and
// log-log slopes included, also after each block went through its JSON; blocks that are not
// consecutive, disagree, or whose records are damaged are refused.
#include "analyses/estimator_variance_block.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/expect_throw_message.hpp"
#include "support/linear_gaussian_vae.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

constexpr Index kLatent = 2, kData = 6, kB = 7, kRunFirst = 5;  // datapoints 5 ... 11 of the dataset

EstimatorVarianceStudyOptions small_options() {
  EstimatorVarianceStudyOptions o;
  o.elbo_samples = {1, 4};
  o.iwae_samples = {1, 3};
  o.iwae_datapoints = 4;
  o.replicates = 8;
  return o;
}

/// The study of every datapoint in blocks of block_size, each block sent through its JSON when
/// through_json, then assembled.
EstimatorVarianceStudy in_blocks(const testing::LinearGaussianVae& v, const EstimatorVarianceStudyOptions& options,
                                 std::uint64_t seed, Index block_size, bool through_json) {
  std::vector<EstimatorVarianceBlock> blocks;
  const Index iwae_count = options.iwae_count(kB);
  for (Index at = 0; at < kB; at += block_size) {
    const Index count = std::min(block_size, kB - at), first = kRunFirst + at;
    EstimatorVarianceBlock block = compute_estimator_variance_block(
        v.encoder, v.decoder, v.X.middleCols(at, count), options,
        RandomStreams::consecutive(seed, static_cast<std::uint64_t>(first), count), first,
        iwae_datapoints_of_block(kRunFirst, iwae_count, first, count));
    if (through_json)
      block = estimator_variance_block_from_json(nlohmann::ordered_json::parse(block.to_json().dump()), "block");
    blocks.push_back(std::move(block));
  }
  return assemble_estimator_variance_study(blocks);
}

TEST(EstimatorVarianceBlock, AnySplitIntoBlocksGivesTheResultsOfOneBatchByteForByte) {
  const auto v = testing::make_linear_gaussian_vae(kLatent, kData, kB, 81, 0.8, 1.5);
  const std::uint64_t seed = testing::test_seed(82);
  for (bool with_iwae : {true, false}) {
    EstimatorVarianceStudyOptions options = small_options();
    if (!with_iwae) options.iwae_samples.clear();
    const EstimatorVarianceStudy whole = compute_estimator_variance_study(
        v.encoder, v.decoder, v.X, options, RandomStreams::consecutive(seed, kRunFirst, kB));
    const std::string expected = whole.results_json(true).dump();
    EXPECT_EQ(whole.iwae_datapoints, 4);
    EXPECT_EQ(whole.results_json(true).contains("iwae_vs_samples"), with_iwae);
    if (with_iwae) {
      EXPECT_EQ(whole.iwae.results[0][0].objective_mean.per_datapoint.size(), 4);
      EXPECT_TRUE(std::isfinite(whole.log_log_slopes.back().value));
    }
    for (Index block_size : {1, 2, 3, 7})
      for (bool through_json : {false, true}) {
        const EstimatorVarianceStudy split = in_blocks(v, options, seed, block_size, through_json);
        EXPECT_EQ(split.results_json(true).dump(), expected)
            << (with_iwae ? "" : "no IWAE, ") << "blocks of " << block_size << (through_json ? ", through JSON" : "");
        EXPECT_EQ(split.to_markdown(), whole.to_markdown());
        EXPECT_EQ(split.num_datapoints, kB);
        EXPECT_EQ(split.iwae_datapoints, 4);
      }
  }
  // The split must matter to the test: another seed gives other results.
  const EstimatorVarianceStudy other = in_blocks(v, small_options(), seed + 1, 3, false);
  const EstimatorVarianceStudy same = in_blocks(v, small_options(), seed, 3, false);
  EXPECT_NE(other.results_json(true).dump(), same.results_json(true).dump());
}

TEST(EstimatorVarianceBlock, BlocksOutOfOrderOrOfAnotherRunAreRefused) {
  const auto v = testing::make_linear_gaussian_vae(kLatent, kData, 4, 83, 0.8, 1.5);
  const auto block = [&](Index first, const EstimatorVarianceStudyOptions& o, Index iwae_datapoints) {
    return compute_estimator_variance_block(v.encoder, v.decoder, v.X.middleCols(first, 2), o,
                                            RandomStreams::consecutive(1, static_cast<std::uint64_t>(first), 2), first,
                                            iwae_datapoints);
  };
  const EstimatorVarianceStudyOptions options = small_options();
  const EstimatorVarianceBlock a = block(0, options, 1), b = block(2, options, 0);
  EXPECT_NO_THROW(assemble_estimator_variance_study({a, b}));
  testing::expect_throw_message<std::invalid_argument>([&] { assemble_estimator_variance_study({}); }, {"no blocks"});
  testing::expect_throw_message<std::invalid_argument>([&] { assemble_estimator_variance_study({b, a}); },
                                                       {"starts at datapoint 0", "expected 4", "consecutive"});
  // IWAE datapoints after a block that ended the IWAE range.
  testing::expect_throw_message<std::invalid_argument>(
      [&] { assemble_estimator_variance_study({a, block(2, options, 2)}); }, {"block at datapoint 2", "IWAE"});
  EstimatorVarianceStudyOptions other = options;
  other.replicates = 9;
  testing::expect_throw_message<std::invalid_argument>(
      [&] { assemble_estimator_variance_study({a, block(2, other, 0)}); }, {"block at datapoint 2", "settings"});
  other = options;
  other.elbo_samples = {1, 5};
  testing::expect_throw_message<std::invalid_argument>(
      [&] { assemble_estimator_variance_study({a, block(2, other, 0)}); }, {"block at datapoint 2", "S counts"});
  testing::expect_throw_message<std::invalid_argument>([&] { block(0, options, 3); }, {"3 IWAE datapoints", "of 2"});

  // Damaged records: fewer values than the block's datapoints, a missing field, another variant.
  nlohmann::ordered_json damaged = a.to_json();
  damaged["elbo"]["results"][1][2]["objective_variance"]["per_datapoint"].erase(0);
  damaged["elbo"]["results"][1][2]["objective_variance"]["per_datapoint_standard_error"].erase(0);
  testing::expect_throw_message<std::invalid_argument>(
      [&] { estimator_variance_block_from_json(damaged, "record 2"); },
      {"record 2.elbo.results[1][2]", "has 1 values for 2 datapoints"});
  damaged = a.to_json();
  damaged["iwae"].erase("datapoints");
  testing::expect_throw_message<std::invalid_argument>([&] { estimator_variance_block_from_json(damaged, "record 2"); },
                                                       {"record 2.iwae", "datapoints"});
  damaged = a.to_json();
  damaged["iwae"]["variants"][2] = "iwae_other";
  testing::expect_throw_message<std::invalid_argument>([&] { estimator_variance_block_from_json(damaged, "record 2"); },
                                                       {"record 2.iwae.variants", "iwae_dreg"});
  EXPECT_EQ(estimator_variance_block_from_json(a.to_json(), "a").to_json().dump(), a.to_json().dump());
}

}  // namespace
}  // namespace vigap
