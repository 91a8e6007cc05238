// vigap-posterior-2d spread over Open MPI ranks and resumed after a crash (distributed/,
// analyses/posterior_2d_block): the JSON `results` and the SVG picture are byte-identical without
// mpirun in one block, in blocks of 1, and with mpirun -np 1, 2, 3; a run killed with SIGKILL at a
// random point (seeded) ends, after --resume on other ranks, with the uninterrupted run's results
// and picture, having computed only the blocks the journal lacked; a resume with another HMC
// setting or --json-draws is refused naming the difference, leaving the journal as it was.
// A tiny random-weight 2-D-latent VAE on synthetic 6 x 6 IDX images (tests/support/random_weight_vae.hpp;
// the identity and kill-resume checks: tests/support/over_ranks_checks.hpp), small grids and short HMC.
#include <gtest/gtest.h>

#include <string>

#include "support/over_ranks_checks.hpp"
#include "support/random_weight_vae.hpp"
#include "support/run_binary.hpp"
#include "support/temporary_directory.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

constexpr Index kImages = 12;

class Posterior2dOverRanks : public ::testing::Test {
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

  /// vigap-posterior-2d's arguments (without --out, --picture and --block-size): a 21 x 21 grid,
  /// 2 HMC chains of `hmc` warm-up iterations and `hmc` draws, a short q* fit.
  static std::string arguments(const std::string& datapoints, Index hmc, const std::string& more = "",
                               int seed = 152) {
    return "--checkpoint " + scratch_->file("vae.safetensors") + " --dataset idx --data-dir " +
           scratch_->path().string() + " --datapoints " + datapoints + " --grid-nodes 21 --hmc-chains 2 --hmc-warmup " +
           std::to_string(hmc) + " --hmc-draws " + std::to_string(hmc) +
           " --local-max-steps 200 --mmd-samples 60 --json-draws 30 --picture-draws 20 --threads 1 --seed " +
           testing::test_seed_argument(seed) + " " + more;
  }

  static testing::OverRanksBinary binary() {
    return {std::string(VIGAP_BINARY_DIR) + "/vigap-posterior-2d", scratch_, true, "| datapoint"};
  }

  static testing::TemporaryDirectory* scratch_;
};

testing::TemporaryDirectory* Posterior2dOverRanks::scratch_ = nullptr;

TEST_F(Posterior2dOverRanks, ResultsAndPictureAreByteIdenticalOnAnyRanksAndBlocks) {
  // Datapoints out of dataset order: blocks are runs of positions in --datapoints. The default
  // block (10) holds all 5; blocks of 2 on the ranks.
  nlohmann::json single;
  testing::expect_identical_over_ranks_and_blocks(binary(), arguments("5,0,3,11,7", 40),
                                                  arguments("5,0,3,11,7", 40, "", 153),
                                                  {.blocks_of_one = 5, .rank_block_size = 2, .rank_blocks = 3}, &single);
  if (HasFatalFailure()) return;
  const nlohmann::json& points = single["results"]["datapoints"];
  ASSERT_EQ(points.size(), 5u);
  EXPECT_EQ(points[0]["datapoint"], 5);
  EXPECT_EQ(points[4]["datapoint"], 7);
  EXPECT_EQ(points[2]["hmc"]["draws"]["z1"].size(), 30u);
  EXPECT_EQ(points[2]["log_density"]["exact"].size(), 21u);
  EXPECT_NE(binary().picture("single").find("test datapoint 11"), std::string::npos);
}

TEST_F(Posterior2dOverRanks, ARunKilledAtARandomPointResumesToTheUninterruptedResultsAndPicture) {
  // 12 blocks of one datapoint, long enough HMC that the kill (after 1 to 3 records) comes before
  // the end; a resume with another HMC setting or another number of draws kept in the JSON is refused.
  const std::string all = "0,1,2,3,4,5,6,7,8,9,10,11";
  const std::string args = arguments(all, 400) + " --block-size 1";
  testing::expect_killed_run_resumes(
      binary(), args, kImages, testing::test_seed(153), 3,
      {{arguments(all, 400, "--hmc-leapfrog-steps 9"), "leapfrog_steps: recorded 10, now 9"},
       {testing::substitute_placeholders(args, {{"--json-draws 30", "--json-draws 31"}}),
        "json_draws: recorded 30, now 31"}});
}

}  // namespace
}  // namespace vigap
