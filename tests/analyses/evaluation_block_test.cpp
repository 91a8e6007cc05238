// The evaluation in blocks, in process, on the 2-D linear-Gaussian model: every estimator's
// results assembled from blocks of 1, 2, 3 or 4 datapoints (with BDMC's simulated pairs more or
// fewer than the datapoints, so that some blocks hold only datapoints or only pairs) are the JSON
// of compute_evaluation over all of them, byte for byte, also after each block went through its
// JSON; blocks that are not consecutive or disagree are refused.
#include "analyses/evaluation_block.hpp"

#include <gtest/gtest.h>

#include "support/expect_throw_message.hpp"
#include "support/linear_gaussian_posteriors.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

constexpr Index kB = 7;

EvaluationOptions every_estimator(Index bdmc_pairs) {
  EvaluationOptions o;
  o.estimators = {EvaluationEstimator::elbo, EvaluationEstimator::iwae, EvaluationEstimator::importance_sampling,
                  EvaluationEstimator::bdmc, EvaluationEstimator::ais, EvaluationEstimator::quadrature};
  o.elbo.samples = 10;
  o.iwae_ks = {3, 20};
  o.importance.samples = 30;
  o.ais.num_annealing_steps = 8;
  o.ais.chains = 3;
  o.ais.leapfrog_steps = 2;
  o.bdmc_datapoints = bdmc_pairs;
  return o;
}

/// Datapoints [first, first + count) of q, under q's name.
DiagonalGaussian columns(const DiagonalGaussian& q, Index first, Index count) {
  return DiagonalGaussian(q.mean().middleCols(first, count), q.log_variance().middleCols(first, count), q.describe());
}

/// The evaluation of every datapoint in blocks of block_size, each block sent through its JSON
/// when through_json, then assembled.
Evaluation in_blocks(const testing::LinearGaussianPosteriors& problem, const DiagonalGaussian& q,
                     const EvaluationOptions& options, std::uint64_t seed, Index block_size, bool through_json) {
  std::vector<EvaluationBlock> blocks;
  const Index span = evaluation_span(options, kB), pairs = bdmc_pairs(options, kB);
  for (Index first = 0; first < span; first += block_size) {
    const Index count = std::min(block_size, span - first);
    const Index datapoints = std::clamp<Index>(kB - first, 0, count);
    const DiagonalGaussian block_q = columns(q, std::min(first, kB), datapoints);
    EvaluationBlock block = compute_evaluation_block(
        problem.model, &block_q, problem.X.middleCols(std::min(first, kB), datapoints), options,
        RandomStreams::consecutive(seed, static_cast<std::uint64_t>(first), datapoints), first,
        std::clamp<Index>(pairs - first, 0, count));
    EXPECT_EQ(block.span(), count);
    if (through_json)
      block = evaluation_block_from_json(nlohmann::ordered_json::parse(block.to_json().dump()), "block");
    blocks.push_back(std::move(block));
  }
  return assemble_evaluation(blocks);
}

TEST(EvaluationBlock, AnySplitIntoBlocksGivesTheResultsOfOneBatchByteForByte) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, kB, 91);
  const DiagonalGaussian q = problem.shifted_diagonal(0.3, 1.5);
  const std::uint64_t seed = testing::test_seed(92);
  for (Index pairs : {Index{0}, Index{3}, Index{10}}) {  // 0: as many pairs as datapoints
    const EvaluationOptions options = every_estimator(pairs);
    const Evaluation whole =
        compute_evaluation(problem.model, &q, problem.X, options, RandomStreams::consecutive(seed, 0, kB), 0);
    const std::string expected = whole.results_json(true).dump();
    ASSERT_TRUE(whole.kl_to_posterior);
    ASSERT_TRUE(whole.bdmc_sandwich_width);
    EXPECT_EQ(whole.bdmc_sandwich_width->num_datapoints, pairs > 0 ? pairs : kB);
    for (Index block_size : {1, 2, 3, 4})
      for (bool through_json : {false, true}) {
        const Evaluation split = in_blocks(problem, q, options, seed, block_size, through_json);
        EXPECT_EQ(split.results_json(true).dump(), expected)
            << pairs << " pairs, blocks of " << block_size << (through_json ? ", through JSON" : "");
        EXPECT_EQ(split.to_markdown().substr(0, 100), whole.to_markdown().substr(0, 100));
      }
  }
}

TEST(EvaluationBlock, BlocksOutOfOrderOrOfAnotherRunAreRefused) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, 4, 93);
  const DiagonalGaussian q = problem.shifted_diagonal(0.3, 1.5);
  EvaluationOptions options = every_estimator(0);
  options.estimators = {EvaluationEstimator::elbo, EvaluationEstimator::iwae};
  const auto block = [&](Index first, const EvaluationOptions& o) {
    const DiagonalGaussian block_q = columns(q, first, 2);
    return compute_evaluation_block(problem.model, &block_q, problem.X.middleCols(first, 2), o,
                                    RandomStreams::consecutive(1, static_cast<std::uint64_t>(first), 2), first, 0);
  };
  const EvaluationBlock a = block(0, options), b = block(2, options);
  EXPECT_NO_THROW(assemble_evaluation({a, b}));
  testing::expect_throw_message<std::invalid_argument>([&] { assemble_evaluation({}); }, {"no blocks"});
  testing::expect_throw_message<std::invalid_argument>([&] { assemble_evaluation({b, a}); },
                                                       {"starts at datapoint 0", "expected 4", "consecutive"});
  EvaluationOptions other = options;
  other.iwae_ks = {4};
  testing::expect_throw_message<std::invalid_argument>([&] { assemble_evaluation({a, block(2, other)}); },
                                                       {"block at datapoint 2", "iwae_3"});
  other = options;
  other.elbo.samples = 11;
  testing::expect_throw_message<std::invalid_argument>([&] { assemble_evaluation({a, block(2, other)}); },
                                                       {"elbo"});
  // A damaged record: a row with fewer values than its block's datapoints.
  nlohmann::ordered_json damaged = b.to_json();
  damaged["rows"][0]["estimate"]["per_datapoint"].erase(0);
  damaged["rows"][0]["estimate"]["per_datapoint_standard_error"].erase(0);
  testing::expect_throw_message<std::invalid_argument>([&] { evaluation_block_from_json(damaged, "record 2"); },
                                                       {"record 2", "row elbo has 1 values", "2 datapoints"});
  damaged = b.to_json();
  damaged.erase("num_pairs");
  testing::expect_throw_message<std::invalid_argument>([&] { evaluation_block_from_json(damaged, "record 2"); },
                                                       {"record 2", "num_pairs"});
  // Pairs without BDMC, and a block with nothing in it.
  testing::expect_throw_message<std::invalid_argument>(
      [&] {
        const DiagonalGaussian block_q = columns(q, 0, 2);
        compute_evaluation_block(problem.model, &block_q, problem.X.leftCols(2), options,
                                 RandomStreams::consecutive(1, 0, 2), 0, 3);
      },
      {"BDMC pairs", "bdmc"});
  options.estimators = {EvaluationEstimator::bdmc};
  testing::expect_throw_message<std::invalid_argument>(
      [&] {
        compute_evaluation_block(problem.model, nullptr, MatrixF(2, 0), options, RandomStreams::consecutive(1, 0, 0), 0, 0);
      },
      {"no datapoints"});
}

}  // namespace
}  // namespace vigap
