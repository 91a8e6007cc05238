// The 2-D posterior comparison in blocks, in process, on the 2-D linear-Gaussian model: the
// comparison assembled from blocks of 1, 2 or 3 datapoints (datapoints out of dataset order) is
// compute_posterior_2d_comparison over all of them, byte for byte in its JSON and table and bit
// for bit in every HMC draw, also after each block went through its JSON; a block's JSON gives
// back every field (non-finite log densities included); blocks that are not consecutive, disagree
// or are damaged are refused naming what is wrong.
#include "analyses/posterior_2d_block.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "support/expect_throw_message.hpp"
#include "support/linear_gaussian_posteriors.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

constexpr Index kB = 5;

/// Small settings: a 15 x 15 grid, 2 short HMC chains, a short q* fit.
Posterior2dOptions small_options() {
  Posterior2dOptions o;
  o.grid_nodes = 15;
  o.hmc.chains = 2;
  o.hmc.warmup = 60;
  o.hmc.draws = 60;
  o.local.max_steps = 200;
  o.mmd_samples = 50;
  o.json_draws = 40;
  return o;
}

/// The datapoints' dataset indices: not in order, as --datapoints may give them.
const std::vector<std::uint64_t> kIndices{7, 2, 9, 4, 11};

/// Datapoints [first, first + count) of q, under q's name.
DiagonalGaussian columns(const DiagonalGaussian& q, Index first, Index count) {
  return DiagonalGaussian(q.mean().middleCols(first, count), q.log_variance().middleCols(first, count), q.describe());
}

/// The blocks of block_size datapoints of the problem.
std::vector<Posterior2dBlock> in_blocks(const testing::LinearGaussianPosteriors& problem, const DiagonalGaussian& q,
                                        const Posterior2dOptions& options, const RandomStreams& streams,
                                        Index block_size) {
  std::vector<Posterior2dBlock> blocks;
  for (Index first = 0; first < kB; first += block_size) {
    const Index count = std::min(block_size, kB - first);
    blocks.push_back(compute_posterior_2d_block(problem.model, columns(q, first, count),
                                                problem.X.middleCols(first, count), options,
                                                streams.slice(first, count), first));
  }
  return blocks;
}

TEST(Posterior2dBlock, AnySplitIntoBlocksGivesTheComparisonOfOneBatchByteForByte) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, kB, 161);
  const DiagonalGaussian q = problem.shifted_diagonal(0.6, 1.8);
  const RandomStreams streams(testing::test_seed(162), kIndices);
  const Posterior2dOptions options = small_options();
  const std::vector<int> labels{3, 1, 4, 1, 5};
  const Posterior2dComparison whole = compute_posterior_2d_comparison(problem.model, q, problem.X, options, streams);
  const std::string expected = whole.results_json(labels).dump();
  ASSERT_EQ(whole.datapoints.size(), static_cast<std::size_t>(kB));
  EXPECT_EQ(whole.datapoints[2].datapoint, 9);
  EXPECT_GT(whole.hmc_gradient_evaluations_per_datapoint, 0);
  EXPECT_GT(whole.q_star_gradient_evaluations_per_datapoint, 0);
  for (Index block_size : {1, 2, 3}) {
    const std::vector<Posterior2dBlock> blocks = in_blocks(problem, q, options, streams, block_size);
    std::vector<Posterior2dBlock> through_json;
    for (const Posterior2dBlock& b : blocks) {
      const std::string text = b.to_json().dump();
      through_json.push_back(posterior_2d_block_from_json(nlohmann::ordered_json::parse(text), "block"));
      EXPECT_EQ(through_json.back().to_json().dump(), text) << "a block's JSON gives back every field";
    }
    for (bool json : {false, true}) {
      const Posterior2dComparison split = assemble_posterior_2d(json ? through_json : blocks);
      const std::string what = "blocks of " + std::to_string(block_size) + (json ? ", through JSON" : "");
      EXPECT_EQ(split.results_json(labels).dump(), expected) << what;
      EXPECT_EQ(split.to_markdown(), whole.to_markdown()) << what;
      for (std::size_t b = 0; b < whole.datapoints.size(); ++b)
        EXPECT_EQ(split.datapoints[b].hmc_draws, whole.datapoints[b].hmc_draws) << what << ", datapoint " << b;
    }
  }
}

TEST(Posterior2dBlock, NonFiniteValuesSurviveTheJsonAndBadBlocksAreRefused) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, 4, 163);
  const DiagonalGaussian q = problem.shifted_diagonal(0.4, 1.5);
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(164), 0, 4);
  Posterior2dOptions options = small_options();
  options.hmc.warmup = options.hmc.draws = 20;
  const auto block = [&](Index first, const Posterior2dOptions& o) {
    return compute_posterior_2d_block(problem.model, columns(q, first, 2), problem.X.middleCols(first, 2), o,
                                      streams.slice(first, 2), first);
  };
  const Posterior2dBlock a = block(0, options), b = block(2, options);
  EXPECT_NO_THROW(assemble_posterior_2d({a, b}));

  // An underflowed log density and a NaN come back as the same values.
  Posterior2dBlock odd = a;
  odd.datapoints[1].log_q(3) = -std::numeric_limits<double>::infinity();
  odd.datapoints[0].kl_q_error = std::numeric_limits<double>::quiet_NaN();
  const Posterior2dBlock back = posterior_2d_block_from_json(nlohmann::ordered_json::parse(odd.to_json().dump()), "b");
  EXPECT_EQ(back.datapoints[1].log_q(3), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(back.datapoints[0].kl_q_error));

  testing::expect_throw_message<std::invalid_argument>([&] { assemble_posterior_2d({}); }, {"no blocks"});
  testing::expect_throw_message<std::invalid_argument>([&] { assemble_posterior_2d({b, a}); },
                                                       {"starts at 0", "expected 4", "consecutive"});
  testing::expect_throw_message<std::invalid_argument>([&] { assemble_posterior_2d({a, a}); },
                                                       {"starts at 0", "expected 2"});
  Posterior2dOptions other = options;
  other.json_draws = 7;
  testing::expect_throw_message<std::invalid_argument>([&] { assemble_posterior_2d({a, block(2, other)}); },
                                                       {"block at 2", "another model or settings", "7 kept"});
  testing::expect_throw_message<std::invalid_argument>(
      [&] {
        compute_posterior_2d_block(problem.model, columns(q, 0, 2), problem.X.leftCols(2), options, streams.slice(0, 2),
                                   -1);
      },
      {"first must be >= 0"});

  // Damaged records: a missing field, a grid with too few densities, a matrix of the wrong size,
  // acceptance rates of another number of chains.
  nlohmann::ordered_json damaged = b.to_json();
  damaged.erase("hmc_divergences");
  testing::expect_throw_message<std::invalid_argument>([&] { posterior_2d_block_from_json(damaged, "record 1"); },
                                                       {"record 1", "hmc_divergences"});
  damaged = b.to_json();
  damaged["datapoints"][1]["log_exact"].erase(0);
  testing::expect_throw_message<std::invalid_argument>([&] { posterior_2d_block_from_json(damaged, "record 1"); },
                                                       {"record 1.datapoints[1]", "15 x 15", "224"});
  damaged = b.to_json();
  damaged["datapoints"][0]["hmc_covariance"]["rows"] = 3;
  testing::expect_throw_message<std::invalid_argument>(
      [&] { posterior_2d_block_from_json(damaged, "record 1"); },
      {"record 1.datapoints[0].hmc_covariance", "4 values for a 3 x 2"});
  damaged = b.to_json();
  damaged["hmc_acceptance_rate"].erase(0);
  testing::expect_throw_message<std::invalid_argument>(
      [&] { posterior_2d_block_from_json(damaged, "record 1"); },
      {"record 1", "3 HMC acceptance rates", "2 datapoints of 2 chains"});
}

}  // namespace
}  // namespace vigap
