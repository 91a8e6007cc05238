// The HMC-vs-VI study in blocks, in process, on the 2-D linear-Gaussian model: the study assembled
// from blocks of 1, 2 or 3 datapoints (each also sent through its JSON) is the JSON of one block
// over all of them, byte for byte (every method, every budget, `details` and `settings` included);
// blocks that are not consecutive or a malformed payload are refused.
#include "analyses/hmc_vs_vi_block.hpp"

#include <gtest/gtest.h>

#include "support/expect_throw_message.hpp"
#include "support/linear_gaussian_posteriors.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

constexpr Index kB = 5;

/// Tiny budgets (one infeasible for HMC) and a small grid: the merge rules, not the methods.
HmcVsViOptions tiny_options() {
  HmcVsViOptions o;
  o.budgets = {30, 200};
  o.grid_nodes = 21;
  o.grid_half_width = 4.0;
  o.cells_per_bin = 2;
  o.vi_draws = 200;
  o.flow.flow.num_layers = 2;
  o.flow.flow.hidden_sizes = {4};
  o.ais.chains = 3;
  return o;
}

DiagonalGaussian columns(const DiagonalGaussian& q, Index first, Index count) {
  return DiagonalGaussian(q.mean().middleCols(first, count), q.log_variance().middleCols(first, count), q.describe());
}

/// The study of every datapoint in blocks of block_size, each sent through its JSON when through_json.
HmcVsVi in_blocks(const testing::LinearGaussianPosteriors& problem, const DiagonalGaussian& q,
                  const HmcVsViOptions& options, std::uint64_t seed, Index block_size, bool through_json) {
  std::vector<HmcVsViBlock> blocks;
  for (Index first = 0; first < kB; first += block_size) {
    const Index count = std::min(block_size, kB - first);
    const DiagonalGaussian block_q = columns(q, first, count);
    HmcVsViBlock block = compute_hmc_vs_vi_block(problem.model, block_q, block_q, problem.X.middleCols(first, count),
                                                 options, RandomStreams::consecutive(seed, first, count), first);
    if (through_json) block = hmc_vs_vi_block_from_json(nlohmann::ordered_json::parse(block.to_json().dump()), "block");
    blocks.push_back(std::move(block));
  }
  return assemble_hmc_vs_vi(blocks);
}

TEST(HmcVsViBlock, AnySplitIntoBlocksGivesTheResultsOfOneBlockByteForByte) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, kB, 81);
  const DiagonalGaussian q = problem.shifted_diagonal(0.5, 1.5);
  const std::uint64_t seed = testing::test_seed(82);
  const HmcVsViOptions options = tiny_options();
  const std::string whole = in_blocks(problem, q, options, seed, kB, false).results_json().dump();
  // The one-block assembly is compute_hmc_vs_vi itself.
  EXPECT_EQ(whole, compute_hmc_vs_vi(problem.model, q, problem.X, options, RandomStreams::consecutive(seed, 0, kB))
                       .results_json()
                       .dump());
  for (Index block_size : {1, 2, 3})
    for (bool through_json : {false, true})
      EXPECT_EQ(in_blocks(problem, q, options, seed, block_size, through_json).results_json().dump(), whole)
          << "blocks of " << block_size << (through_json ? " through JSON" : "");
  // A different seed changes the results (the comparison can fail).
  EXPECT_NE(in_blocks(problem, q, options, seed + 1, 2, false).results_json().dump(), whole);
}

// The quadrature refines per datapoint, so blocks can differ in samples per datapoint (coarse
// nodes + their refinement nodes / their datapoints; on trained decoders they do): the assembly
// joins them from the totals, coarse + ceil(all refinement nodes / all datapoints), as one block
// over every datapoint would report, instead of refusing the blocks.
TEST(HmcVsViBlock, BlocksThatRefinedDifferentlyJoinTheirQuadratureNodeCounts) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, kB, 81);
  const DiagonalGaussian q = problem.shifted_diagonal(0.5, 1.5);
  const HmcVsViOptions options = tiny_options();
  std::vector<HmcVsViBlock> blocks;
  const Index first_of[] = {0, 2}, count_of[] = {2, 3}, refinement[] = {0, 700};
  for (int i = 0; i < 2; ++i) {
    const DiagonalGaussian block_q = columns(q, first_of[i], count_of[i]);
    HmcVsViBlock block = compute_hmc_vs_vi_block(
        problem.model, block_q, block_q, problem.X.middleCols(first_of[i], count_of[i]), options,
        RandomStreams::consecutive(testing::test_seed(83), first_of[i], count_of[i]), first_of[i]);
    HmcVsVi& s = block.study;
    s.exact_refinement_nodes = refinement[i];
    s.exact_log_px.samples_per_datapoint = s.exact_coarse_nodes + (refinement[i] + count_of[i] - 1) / count_of[i];
    blocks.push_back(std::move(block));
  }
  ASSERT_EQ(blocks.size(), 2u);
  ASSERT_GT(blocks[0].study.exact_coarse_nodes, 0);
  ASSERT_NE(blocks[0].study.exact_log_px.samples_per_datapoint, blocks[1].study.exact_log_px.samples_per_datapoint);
  const HmcVsVi joined = assemble_hmc_vs_vi(blocks);
  EXPECT_EQ(joined.exact_refinement_nodes, 700);
  EXPECT_EQ(joined.exact_log_px.samples_per_datapoint, blocks[0].study.exact_coarse_nodes + (700 + kB - 1) / kB);
  EXPECT_EQ(joined.exact_log_px.per_datapoint.size(), kB);
}

TEST(HmcVsViBlock, RefusesBlocksThatAreNotConsecutiveAndMalformedPayloads) {
  const auto problem = testing::make_linear_gaussian_posteriors(2, 2, 83);
  const DiagonalGaussian q = problem.shifted_diagonal(0.5, 1.5);
  const std::uint64_t seed = testing::test_seed(84);
  HmcVsViOptions options = tiny_options();
  options.budgets = {30};
  const auto block = [&](Index first) {
    const DiagonalGaussian block_q = columns(q, first, 1);
    return compute_hmc_vs_vi_block(problem.model, block_q, block_q, problem.X.middleCols(first, 1), options,
                                   RandomStreams::consecutive(seed, first, 1), first);
  };
  const HmcVsViBlock a = block(0), b = block(1);
  testing::expect_throw_message<std::invalid_argument>([&] { assemble_hmc_vs_vi({b, a}); }, {"not where the previous one ends"});
  testing::expect_throw_message<std::invalid_argument>([&] { assemble_hmc_vs_vi({}); }, {"no blocks"});
  nlohmann::ordered_json broken = a.to_json();
  broken.erase("exact_log_px");
  testing::expect_throw_message<std::invalid_argument>([&] { hmc_vs_vi_block_from_json(broken, "journal x, block 0"); }, {"journal x, block 0: missing field 'exact_log_px'"});
}

}  // namespace
}  // namespace vigap
