// vigap-posterior-2d spread over Open MPI ranks and resumed after a crash (distributed/,
// analyses/posterior_2d_block): the JSON `results` and the SVG picture are byte-identical without
// mpirun in one block, in blocks of 1, and with mpirun -np 1, 2, 3; a run killed with SIGKILL at a
// random point (seeded) ends, after --resume on other ranks, with the uninterrupted run's results
// and picture, having computed only the blocks the journal lacked; a resume with another HMC
// setting or --json-draws is refused naming the difference, leaving the journal as it was.
// The journal machinery itself (torn and damaged records, unwritable journals, rank errors) is
// tested by datapoint_block_run_test.cpp.
// A tiny random-weight 2-D-latent VAE on synthetic 6 x 6 IDX images (tests/support/random_weight_vae.hpp;
// mpirun and kill helpers: tests/support/mpi_test_run.hpp), small grids and short HMC.
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

constexpr Index kImages = 12;

std::string binary() { return std::string(VIGAP_BINARY_DIR) + "/vigap-posterior-2d"; }

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
  static std::string arguments(const std::string& datapoints, Index hmc, const std::string& more = "") {
    return "--checkpoint " + scratch_->file("vae.safetensors") + " --dataset idx --data-dir " +
           scratch_->path().string() + " --datapoints " + datapoints + " --grid-nodes 21 --hmc-chains 2 --hmc-warmup " +
           std::to_string(hmc) + " --hmc-draws " + std::to_string(hmc) +
           " --local-max-steps 200 --mmd-samples 60 --json-draws 30 --picture-draws 20 --threads 1 --seed " +
           testing::test_seed_argument(152) + " " + more;
  }
  /// " --out <name>.json --picture <name>.svg" in the scratch directory.
  static std::string outputs(const std::string& name) {
    return " --out " + scratch_->file(name + ".json") + " --picture " + scratch_->file(name + ".svg");
  }

  static std::string results(const std::string& name) {
    return testing::read_json(scratch_->file(name + ".json"))["results"].dump();
  }
  static std::string picture(const std::string& name) { return testing::read_text(scratch_->file(name + ".svg")); }

  static testing::TemporaryDirectory* scratch_;
};

testing::TemporaryDirectory* Posterior2dOverRanks::scratch_ = nullptr;

TEST_F(Posterior2dOverRanks, ResultsAndPictureAreByteIdenticalOnAnyRanksAndBlocks) {
  // Datapoints out of dataset order: blocks are runs of positions in --datapoints.
  const std::string args = arguments("5,0,3,11,7", 40);
  const auto one_block = testing::run_command(binary() + " " + args + outputs("single"));  // the default block: 10
  ASSERT_EQ(one_block.exit_code, 0) << one_block.output;
  const std::string expected = results("single"), expected_picture = picture("single");
  const nlohmann::json document = testing::read_json(scratch_->file("single.json"));
  EXPECT_EQ(document["execution"]["blocks"], 1);
  const nlohmann::json& points = document["results"]["datapoints"];
  ASSERT_EQ(points.size(), 5u);
  EXPECT_EQ(points[0]["datapoint"], 5);
  EXPECT_EQ(points[4]["datapoint"], 7);
  EXPECT_EQ(points[2]["hmc"]["draws"]["z1"].size(), 30u);
  EXPECT_EQ(points[2]["log_density"]["exact"].size(), 21u);
  EXPECT_NE(expected_picture.find("test datapoint 11"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(scratch_->file("single.json.journal")));

  const auto blocks_of_one = testing::run_command(binary() + " " + args + " --block-size 1" + outputs("ones"));
  ASSERT_EQ(blocks_of_one.exit_code, 0) << blocks_of_one.output;
  EXPECT_EQ(results("ones"), expected) << "blocks of 1";
  EXPECT_EQ(picture("ones"), expected_picture) << "blocks of 1";
  EXPECT_EQ(testing::read_json(scratch_->file("ones.json"))["execution"]["blocks"], 5);
  for (int ranks : {1, 2, 3}) {
    const std::string name = "ranks" + std::to_string(ranks);
    const auto r =
        testing::run_command(testing::mpirun_prefix(ranks) + binary() + " " + args + " --block-size 2" + outputs(name));
    ASSERT_EQ(r.exit_code, 0) << ranks << " ranks:\n" << r.output;
    EXPECT_EQ(results(name), expected) << ranks << " ranks";
    EXPECT_EQ(picture(name), expected_picture) << ranks << " ranks";
    const nlohmann::json execution = testing::read_json(scratch_->file(name + ".json"))["execution"];
    EXPECT_EQ(execution["ranks"], ranks);
    EXPECT_EQ(execution["blocks_computed"], 3);
    EXPECT_FALSE(std::filesystem::exists(scratch_->file(name + ".json.journal")));
    // One table, printed by rank 0.
    const std::size_t first = r.output.find("| datapoint");
    ASSERT_NE(first, std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("| datapoint", first + 1), std::string::npos) << r.output;
  }
}

TEST_F(Posterior2dOverRanks, ARunKilledAtARandomPointResumesToTheUninterruptedResultsAndPicture) {
  // 12 blocks of one datapoint, long enough HMC that the kill comes before the end.
  const std::string args = arguments("0,1,2,3,4,5,6,7,8,9,10,11", 400) + " --block-size 1";
  const std::string out = scratch_->file("killed.json"), journal = out + ".journal", pid = scratch_->file("pid");
  const std::string killed_outputs = " --out " + out + " --picture " + scratch_->file("killed.svg");
  const auto uninterrupted = testing::run_command(binary() + " " + args + outputs("uninterrupted"));
  ASSERT_EQ(uninterrupted.exit_code, 0) << uninterrupted.output;

  Rng rng(testing::test_seed(153));
  // Killed on 2 ranks a random 0-15 ms after the 1st to 3rd record showed.
  const long kill_after = 1 + static_cast<long>(uniform_below(3, rng));
  testing::start_and_kill(testing::mpirun_prefix(2) + binary() + " " + args + killed_outputs, journal, kill_after,
                          static_cast<int>(uniform_below(16, rng)), pid);
  ASSERT_FALSE(std::filesystem::exists(out)) << "the run finished before it was killed:\n"
                                             << testing::read_text(pid + ".log");
  ASSERT_FALSE(std::filesystem::exists(scratch_->file("killed.svg"))) << "rank 0 writes the picture at the end only";
  const long recorded = testing::complete_journal_records(journal);
  std::printf("killed after %ld records (%ld journaled)\n", kill_after, recorded);
  ASSERT_GE(recorded, kill_after);
  ASSERT_LT(recorded, kImages);
  std::filesystem::copy_file(journal, scratch_->file("saved.journal"));
  const bool torn_tail = testing::read_text(journal).back() != '\n';

  // Resumed on 3 ranks: the uninterrupted results and picture, only the missing blocks computed.
  const auto resumed =
      testing::run_command(testing::mpirun_prefix(3) + binary() + " " + args + " --resume" + killed_outputs);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(results("killed"), results("uninterrupted"));
  EXPECT_EQ(picture("killed"), picture("uninterrupted"));
  const nlohmann::json execution = testing::read_json(out)["execution"];
  EXPECT_EQ(execution["blocks_resumed"], recorded);
  EXPECT_EQ(execution["blocks_computed"], kImages - recorded);
  EXPECT_EQ(execution["journal_lines_dropped"], torn_tail ? 1 : 0);
  EXPECT_FALSE(std::filesystem::exists(journal));

  // A resume with another HMC setting or another number of draws kept in the JSON is refused
  // naming what differs, writes nothing, and leaves the journal as it was.
  std::filesystem::remove(out);
  const std::vector<std::pair<std::string, std::string>> others = {
      {arguments("0,1,2,3,4,5,6,7,8,9,10,11", 400, "--hmc-leapfrog-steps 9"), "leapfrog_steps: recorded 10, now 9"},
      {testing::substitute_placeholders(args, {{"--json-draws 30", "--json-draws 31"}}),
       "json_draws: recorded 30, now 31"}};
  for (const auto& [other, fragment] : others) {
    std::filesystem::copy_file(scratch_->file("saved.journal"), journal,
                               std::filesystem::copy_options::overwrite_existing);
    const std::string other_args = other.find("--block-size") == std::string::npos ? other + " --block-size 1" : other;
    const auto refused = testing::run_command(binary() + " " + other_args + " --resume" + killed_outputs);
    EXPECT_EQ(refused.exit_code, 2) << refused.output;
    EXPECT_NE(refused.output.find("records another run"), std::string::npos) << refused.output;
    EXPECT_NE(refused.output.find(fragment), std::string::npos) << fragment << ":\n" << refused.output;
    EXPECT_FALSE(std::filesystem::exists(out));
    EXPECT_EQ(testing::read_text(journal), testing::read_text(scratch_->file("saved.journal")))
        << "the journal must stay as it was";
  }
}

}  // namespace
}  // namespace vigap
