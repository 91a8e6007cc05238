// vigap-hmc-vs-vi spread over Open MPI ranks and resumed after a crash (distributed/,
// analyses/hmc_vs_vi_block): the JSON `results` (every method at every budget, per-datapoint values,
// `details` and `settings`) are byte-identical without mpirun in one block, in blocks of 1, and with
// mpirun -np 1, 2, 3; a run killed with SIGKILL at a random point (seeded) ends, after --resume,
// with the uninterrupted run's results, having computed only the blocks the journal lacked; a
// resume with another option is refused naming the difference.
// A tiny random-weight 2-D-latent VAE on synthetic 6 x 6 IDX images (tests/support/random_weight_vae.hpp;
// the identity and kill-resume checks: tests/support/over_ranks_checks.hpp).
#include <gtest/gtest.h>

#include <string>

#include "support/over_ranks_checks.hpp"
#include "support/random_weight_vae.hpp"
#include "support/temporary_directory.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

constexpr Index kImages = 13, kKilledRun = 12;  // test images; datapoints #1 ... #12 of the killed run

class HmcVsViOverRanks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new testing::TemporaryDirectory();
    testing::write_small_idx_dataset(scratch_->path(), kImages, 6);
    testing::save_random_weight_vae(scratch_->file("vae.safetensors"), 36, 2, testing::test_seed(151));
  }
  static void TearDownTestSuite() {
    delete scratch_;
    scratch_ = nullptr;
  }

  /// vigap-hmc-vs-vi's arguments (without --out, --picture and --block-size) on `count` datapoints
  /// from #1: two budgets (HMC infeasible at the first), a small grid, few draws.
  static std::string arguments(Index count, int vi_draws = 100, int seed = 152) {
    return "--checkpoint " + scratch_->file("vae.safetensors") + " --dataset idx --data-dir " +
           scratch_->path().string() + " --num-datapoints " + std::to_string(count) + " --first-datapoint 1" +
           " --budgets 30,300 --grid-nodes 21 --grid-half-width 4 --tv-cells-per-bin 4 --ais-chains 3 --flow-layers 2" +
           " --vi-draws " + std::to_string(vi_draws) + " --threads 1 --seed " + std::to_string(testing::test_seed(seed));
  }

  static testing::OverRanksBinary binary() {
    return {std::string(VIGAP_BINARY_DIR) + "/vigap-hmc-vs-vi", scratch_, true, "Binned total variation"};
  }

  static testing::TemporaryDirectory* scratch_;
};

testing::TemporaryDirectory* HmcVsViOverRanks::scratch_ = nullptr;

TEST_F(HmcVsViOverRanks, ResultsAreByteIdenticalOnAnyRanksAndBlocks) {
  // 5 datapoints: the default block (5) holds them all; blocks of 2 on the ranks.
  nlohmann::json single;
  testing::expect_identical_over_ranks_and_blocks(binary(), arguments(5), arguments(5, 100, 153),
                                                  {.blocks_of_one = 5, .rank_block_size = 2, .rank_blocks = 3}, &single);
  if (HasFatalFailure()) return;
  const nlohmann::json& hmc = single["results"]["posterior"]["hmc"];
  ASSERT_EQ(hmc.size(), 2u);
  EXPECT_EQ(hmc[1]["feasible"], true);
}

TEST_F(HmcVsViOverRanks, ARunKilledAtARandomPointResumesToTheUninterruptedResults) {
  // 12 blocks; killed after 1 to 4 records; a resume with another --vi-draws is refused.
  testing::expect_killed_run_resumes(binary(), arguments(kKilledRun) + " --block-size 1", kKilledRun,
                                     testing::test_seed(154), 4,
                                     {{arguments(kKilledRun, 101), "vi_draws: recorded 100, now 101"}});
}

}  // namespace
}  // namespace vigap
