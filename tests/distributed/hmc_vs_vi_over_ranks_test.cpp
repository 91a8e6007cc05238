// vigap-hmc-vs-vi spread over Open MPI ranks and resumed after a crash (distributed/,
// analyses/hmc_vs_vi_block): the JSON `results` (every method at every budget, per-datapoint values,
// `details` and `settings`) are byte-identical without mpirun in one block, in blocks of 1, and with
// mpirun -np 1, 2, 3; a run killed with SIGKILL at a random point (seeded) ends, after --resume,
// with the uninterrupted run's results, having computed only the blocks the journal lacked; a
// resume with another option is refused naming the difference.
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

constexpr Index kImages = 13, kKilledRun = 12;  // test images; datapoints #1 ... #12 of the killed run

std::string binary() { return std::string(VIGAP_BINARY_DIR) + "/vigap-hmc-vs-vi"; }

class HmcVsViOverRanks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new TemporaryDirectory();
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
  /// " --out <name>.json --picture <name>.svg" in the scratch directory.
  static std::string outputs(const std::string& name) {
    return " --out " + scratch_->file(name + ".json") + " --picture " + scratch_->file(name + ".svg");
  }

  static std::string results(const std::string& name) { return read_json(scratch_->file(name + ".json"))["results"].dump(); }

  static TemporaryDirectory* scratch_;
};

TemporaryDirectory* HmcVsViOverRanks::scratch_ = nullptr;

TEST_F(HmcVsViOverRanks, ResultsAreByteIdenticalOnAnyRanksAndBlocks) {
  const std::string args = arguments(5);
  const auto one_block = run_command(binary() + " " + args + outputs("single"));
  ASSERT_EQ(one_block.exit_code, 0) << one_block.output;
  const std::string expected = results("single");
  const nlohmann::json document = read_json(scratch_->file("single.json"));
  EXPECT_EQ(document["execution"]["blocks"], 1);  // the default block (5) holds all 5
  const nlohmann::json& hmc = document["results"]["posterior"]["hmc"];
  ASSERT_EQ(hmc.size(), 2u);
  EXPECT_EQ(hmc[1]["feasible"], true);
  EXPECT_FALSE(std::filesystem::exists(scratch_->file("single.json.journal")));

  const auto blocks_of_one = run_command(binary() + " " + args + " --block-size 1" + outputs("ones"));
  ASSERT_EQ(blocks_of_one.exit_code, 0) << blocks_of_one.output;
  EXPECT_EQ(results("ones"), expected) << "blocks of 1";
  EXPECT_EQ(read_json(scratch_->file("ones.json"))["execution"]["blocks"], 5);
  EXPECT_EQ(read_text(scratch_->file("ones.svg")), read_text(scratch_->file("single.svg")));
  for (int ranks : {1, 2, 3}) {
    const std::string name = "ranks" + std::to_string(ranks);
    const auto r = run_command(mpirun_prefix(ranks) + binary() + " " + args + " --block-size 2" + outputs(name));
    ASSERT_EQ(r.exit_code, 0) << ranks << " ranks:\n" << r.output;
    EXPECT_EQ(results(name), expected) << ranks << " ranks";
    const nlohmann::json execution = read_json(scratch_->file(name + ".json"))["execution"];
    EXPECT_EQ(execution["ranks"], ranks);
    EXPECT_EQ(execution["blocks_computed"], 3);
    EXPECT_FALSE(std::filesystem::exists(scratch_->file(name + ".json.journal")));
    // One table, printed by rank 0.
    const std::size_t first = r.output.find("Binned total variation");
    ASSERT_NE(first, std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("Binned total variation", first + 1), std::string::npos) << r.output;
  }
  // Another seed gives other results: the comparisons above can fail.
  const auto reseeded = run_command(binary() + " " + arguments(5, 100, 153) + outputs("reseeded"));
  ASSERT_EQ(reseeded.exit_code, 0) << reseeded.output;
  EXPECT_NE(results("reseeded"), expected);
}

TEST_F(HmcVsViOverRanks, ARunKilledAtARandomPointResumesToTheUninterruptedResults) {
  const std::string args = arguments(kKilledRun) + " --block-size 1";  // 12 blocks
  const std::string journal = scratch_->file("killed.json.journal"), pid = scratch_->file("pid");
  const auto uninterrupted = run_command(binary() + " " + args + outputs("uninterrupted"));
  ASSERT_EQ(uninterrupted.exit_code, 0) << uninterrupted.output;
  const std::string expected = results("uninterrupted");
  std::printf("uninterrupted: %.3f s computing\n",
              read_json(scratch_->file("uninterrupted.json"))["timings"]["total_seconds"].get<double>());

  // Killed on 2 ranks after 1 to 4 records, a random 0-15 ms after the record showed.
  Rng rng(testing::test_seed(154));
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

  // A resume of another run (another --vi-draws) is refused naming it, and leaves the journal.
  const auto refused = run_command(binary() + " " + arguments(kKilledRun, 101) + " --block-size 1 --resume" + outputs("killed"));
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("records another run"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("vi_draws: recorded 100, now 101"), std::string::npos) << refused.output;
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
