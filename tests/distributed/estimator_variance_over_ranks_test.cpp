// vigap-estimator-variance spread over Open MPI ranks and resumed after a crash (distributed/,
// analyses/estimator_variance_block): the JSON `results` (both sweeps, per-datapoint values and
// log-log slopes, the IWAE sweep on the first datapoints only) are byte-identical without mpirun
// in one block, in blocks of 1, and with mpirun -np 1, 2, 3; a run killed with SIGKILL at a random
// point (seeded) ends, after --resume, with the uninterrupted run's results, having computed only
// the blocks the journal lacked; a resume with another option is refused naming the difference.
// A tiny random-weight 2-D-latent VAE on synthetic 6 x 6 IDX images (tests/support/random_weight_vae.hpp;
// mpirun and kill helpers: tests/support/mpi_test_run.hpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/random.hpp"
#include "support/mpi_test_run.hpp"
#include "support/random_weight_vae.hpp"
#include "support/run_binary.hpp"
#include "support/temporary_directory.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::complete_journal_records;
using testing::mpirun_prefix;
using testing::read_json;
using testing::read_text;
using testing::run_command;
using testing::start_and_kill;
using testing::TemporaryDirectory;

constexpr Index kImages = 17, kKilledRun = 16;  // test images; datapoints #1 ... #16 of the killed run

std::string binary() { return std::string(VIGAP_BINARY_DIR) + "/vigap-estimator-variance"; }

class EstimatorVarianceOverRanks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new TemporaryDirectory();
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
  /// " --out <name>.json --picture <name>.svg" in the scratch directory.
  static std::string outputs(const std::string& name) {
    return " --out " + scratch_->file(name + ".json") + " --picture " + scratch_->file(name + ".svg");
  }

  static std::string results(const std::string& name) { return read_json(scratch_->file(name + ".json"))["results"].dump(); }

  static TemporaryDirectory* scratch_;
};

TemporaryDirectory* EstimatorVarianceOverRanks::scratch_ = nullptr;

TEST_F(EstimatorVarianceOverRanks, ResultsAreByteIdenticalOnAnyRanksAndBlocks) {
  // 7 datapoints, the IWAE sweep on the first 4: blocks of 3 hold all, some and none of theirs in it.
  const std::string args = arguments(7, 4, "--samples 1,4 --iwae-samples 1,3 --replicates 6");
  const auto one_block = run_command(binary() + " " + args + outputs("single"));
  ASSERT_EQ(one_block.exit_code, 0) << one_block.output;
  const std::string expected = results("single");
  const nlohmann::json document = read_json(scratch_->file("single.json"));
  EXPECT_EQ(document["execution"]["blocks"], 1);  // the default block (10) holds all 7
  const nlohmann::json& iwae = document["results"]["iwae_vs_samples"];
  ASSERT_EQ(iwae.size(), 2u);
  EXPECT_EQ(iwae[1]["iwae_dreg"]["encoder"]["mean_snr"]["per_datapoint"].size(), 4u);
  EXPECT_EQ(document["results"]["elbo_vs_samples"][1]["elbo_stl"]["objective_variance"]["num_datapoints"], 7);
  EXPECT_FALSE(document["results"]["log_log_slopes"]["decoder_mean_snr_vs_K"].is_null());
  EXPECT_FALSE(std::filesystem::exists(scratch_->file("single.json.journal")));

  const auto blocks_of_one = run_command(binary() + " " + args + " --block-size 1" + outputs("ones"));
  ASSERT_EQ(blocks_of_one.exit_code, 0) << blocks_of_one.output;
  EXPECT_EQ(results("ones"), expected) << "blocks of 1";
  EXPECT_EQ(read_json(scratch_->file("ones.json"))["execution"]["blocks"], 7);
  EXPECT_EQ(read_text(scratch_->file("ones.svg")), read_text(scratch_->file("single.svg")));
  for (int ranks : {1, 2, 3}) {
    const std::string name = "ranks" + std::to_string(ranks);
    const auto r = run_command(mpirun_prefix(ranks) + binary() + " " + args + " --block-size 3" + outputs(name));
    ASSERT_EQ(r.exit_code, 0) << ranks << " ranks:\n" << r.output;
    EXPECT_EQ(results(name), expected) << ranks << " ranks";
    const nlohmann::json execution = read_json(scratch_->file(name + ".json"))["execution"];
    EXPECT_EQ(execution["ranks"], ranks);
    EXPECT_EQ(execution["blocks_computed"], 3);
    EXPECT_FALSE(std::filesystem::exists(scratch_->file(name + ".json.journal")));
    // One table, printed by rank 0.
    const std::size_t first = r.output.find("ELBO estimator against S");
    ASSERT_NE(first, std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("ELBO estimator against S", first + 1), std::string::npos) << r.output;
  }
  // Another seed gives other results: the comparisons above can fail.
  const auto reseeded =
      run_command(binary() + " " + arguments(7, 4, "--samples 1,4 --iwae-samples 1,3 --replicates 6", 143) +
                  outputs("reseeded"));
  ASSERT_EQ(reseeded.exit_code, 0) << reseeded.output;
  EXPECT_NE(results("reseeded"), expected);
}

TEST_F(EstimatorVarianceOverRanks, ARunKilledAtARandomPointResumesToTheUninterruptedResults) {
  const std::string args =
      arguments(kKilledRun, 5, "--samples 1,10,60 --iwae-samples 2,20 --replicates 300") + " --block-size 1";  // 16 blocks
  const std::string journal = scratch_->file("killed.json.journal"), pid = scratch_->file("pid");
  const auto uninterrupted = run_command(binary() + " " + args + outputs("uninterrupted"));
  ASSERT_EQ(uninterrupted.exit_code, 0) << uninterrupted.output;
  const std::string expected = results("uninterrupted");
  std::printf("uninterrupted: %.3f s computing\n",
              read_json(scratch_->file("uninterrupted.json"))["timings"]["total_seconds"].get<double>());

  // Killed on 2 ranks after 1 to 4 records, a random 0-15 ms after the record showed.
  Rng rng(testing::test_seed(144));
  const long kill_after = 1 + static_cast<long>(uniform_below(4, rng));
  start_and_kill(mpirun_prefix(2) + binary() + " " + args + outputs("killed"), journal, kill_after,
                 static_cast<int>(uniform_below(16, rng)), pid);
  ASSERT_FALSE(std::filesystem::exists(scratch_->file("killed.json")))
      << "the run finished before it was killed:\n" << read_text(pid + ".log");
  const long recorded = complete_journal_records(journal);
  std::printf("killed after %ld records (%ld journaled)\n", kill_after, recorded);
  ASSERT_GE(recorded, kill_after);
  ASSERT_LT(recorded, kKilledRun);
  std::filesystem::copy_file(journal, scratch_->file("saved.journal"));
  const bool torn_tail = read_text(journal).back() != '\n';

  // A resume of another run (another --replicates) is refused naming it, and leaves the journal.
  const std::string other = arguments(kKilledRun, 5, "--samples 1,10,60 --iwae-samples 2,20 --replicates 301");
  const auto refused = run_command(binary() + " " + other + " --block-size 1 --resume" + outputs("killed"));
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("records another run"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("replicates: recorded 300, now 301"), std::string::npos) << refused.output;
  EXPECT_FALSE(std::filesystem::exists(scratch_->file("killed.json")));
  EXPECT_EQ(read_text(journal), read_text(scratch_->file("saved.journal"))) << "the journal must stay as it was";

  // Resumed on 3 ranks: the uninterrupted results, only the missing blocks computed.
  const auto resumed = run_command(mpirun_prefix(3) + binary() + " " + args + " --resume" + outputs("killed"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(results("killed"), expected);
  const nlohmann::json execution = read_json(scratch_->file("killed.json"))["execution"];
  EXPECT_EQ(execution["blocks_resumed"], recorded);
  EXPECT_EQ(execution["blocks_computed"], kKilledRun - recorded);
  EXPECT_EQ(execution["journal_lines_dropped"], torn_tail ? 1 : 0);
  EXPECT_FALSE(std::filesystem::exists(journal));
}

}  // namespace
}  // namespace vigap
