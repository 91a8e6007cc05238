// vigap-estimator-variance spread over Open MPI ranks and resumed after a crash (distributed/,
// analyses/estimator_variance_block): the JSON `results` (both sweeps, per-datapoint values and
// log-log slopes, the IWAE sweep on the first datapoints only) are byte-identical without mpirun
// in one block, in blocks of 1, and with mpirun -np 1, 2, 3; a run killed with SIGKILL at a random
// point (seeded) ends, after --resume, with the uninterrupted run's results, having computed only
// the blocks the journal lacked; a resume with another option is refused naming the difference.
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

constexpr Index kImages = 17, kKilledRun = 16;  // test images; datapoints #1 ... #16 of the killed run

class EstimatorVarianceOverRanks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new testing::TemporaryDirectory();
    testing::write_small_idx_dataset(scratch_->path(), kImages, 6);
    testing::save_random_weight_vae(scratch_->file("vae.safetensors"), 36, 2, testing::test_seed(141));
  }
  static void TearDownTestSuite() {
    delete scratch_;
    scratch_ = nullptr;
  }

  /// vigap-estimator-variance's arguments (without --out, --picture and --block-size) on `count`
  /// datapoints from #1, the IWAE sweep on the first iwae_count of them.
  static std::string arguments(Index count, Index iwae_count, const std::string& more, int seed = 142) {
    return "--checkpoint " + scratch_->file("vae.safetensors") + " --dataset idx --data-dir " +
           scratch_->path().string() + " --num-datapoints " + std::to_string(count) + " --first-datapoint 1" +
           " --iwae-num-datapoints " + std::to_string(iwae_count) + " --per-datapoint --threads 1 --seed " +
           std::to_string(testing::test_seed(seed)) + " " + more;
  }

  static testing::OverRanksBinary binary() {
    return {std::string(VIGAP_BINARY_DIR) + "/vigap-estimator-variance", scratch_, true, "ELBO estimator against S"};
  }

  static testing::TemporaryDirectory* scratch_;
};

testing::TemporaryDirectory* EstimatorVarianceOverRanks::scratch_ = nullptr;

TEST_F(EstimatorVarianceOverRanks, ResultsAreByteIdenticalOnAnyRanksAndBlocks) {
  // 7 datapoints, the IWAE sweep on the first 4: blocks of 3 hold all, some and none of theirs in it;
  // the default block (10) holds all 7.
  const std::string sweeps = "--samples 1,4 --iwae-samples 1,3 --replicates 6";
  nlohmann::json single;
  testing::expect_identical_over_ranks_and_blocks(binary(), arguments(7, 4, sweeps), arguments(7, 4, sweeps, 143),
                                                  {.blocks_of_one = 7, .rank_block_size = 3, .rank_blocks = 3}, &single);
  if (HasFatalFailure()) return;
  const nlohmann::json& iwae = single["results"]["iwae_vs_samples"];
  ASSERT_EQ(iwae.size(), 2u);
  EXPECT_EQ(iwae[1]["iwae_dreg"]["encoder"]["mean_snr"]["per_datapoint"].size(), 4u);
  EXPECT_EQ(single["results"]["elbo_vs_samples"][1]["elbo_stl"]["objective_variance"]["num_datapoints"], 7);
  EXPECT_FALSE(single["results"]["log_log_slopes"]["decoder_mean_snr_vs_K"].is_null());
}

TEST_F(EstimatorVarianceOverRanks, ARunKilledAtARandomPointResumesToTheUninterruptedResults) {
  // 16 blocks; killed after 1 to 4 records; a resume with another --replicates is refused.
  const std::string sweeps = "--samples 1,10,60 --iwae-samples 2,20 --replicates ";
  testing::expect_killed_run_resumes(binary(), arguments(kKilledRun, 5, sweeps + "300") + " --block-size 1", kKilledRun,
                                     testing::test_seed(144), 4,
                                     {{arguments(kKilledRun, 5, sweeps + "301"), "replicates: recorded 300, now 301"}});
}

}  // namespace
}  // namespace vigap
