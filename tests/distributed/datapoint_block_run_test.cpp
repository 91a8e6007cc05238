// vigap-gap-table spread over Open MPI ranks and resumed after a crash (distributed/): the JSON
// `results` are byte-identical without mpirun and with mpirun -np 1, 2, 3; a run killed with
// SIGKILL after some blocks were journaled, resumed with --resume, ends with the uninterrupted
// run's results and computes only the missing blocks; torn and damaged journal lines are
// recomputed; a resume of another run is refused naming the difference; an error on rank 1 ends
// the job with a message and exit 2. A tiny random-weight 2-D-latent VAE on synthetic 6 x 6 IDX
// images (tests/support/synthetic_idx_dataset.hpp), as tests/experiments/same_results_any_split_test.cpp.
// mpirun runs as root here, hence --allow-run-as-root; --oversubscribe lets 3 ranks share 2 cores.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/io/result_journal.hpp"
#include "support/mpi_test_run.hpp"
#include "support/random_weight_vae.hpp"
#include "support/run_binary.hpp"
#include "support/temporary_directory.hpp"

namespace vigap {
namespace {

using testing::read_json;
using testing::read_text;
using testing::TemporaryDirectory;

constexpr Index kImages = 24;
constexpr Index kSide = 6;

std::string binary() { return std::string(VIGAP_BINARY_DIR) + "/vigap-gap-table"; }

Index journal_records(const std::string& path) {
  std::ifstream in(path);
  Index lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines > 0 ? lines - 1 : 0;  // the header
}

class DatapointBlockRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new TemporaryDirectory();
    testing::write_small_idx_dataset(scratch_->path(), kImages, kSide);
    testing::save_random_weight_vae(scratch_->file("vae.safetensors"), kSide * kSide, 2, 91);
    testing::save_random_weight_vae(scratch_->file("other.safetensors"), kSide * kSide, 2, 92);
  }
  static void TearDownTestSuite() {
    delete scratch_;
    scratch_ = nullptr;
  }

  /// The gap table's arguments (without --out): every q* row, few steps.
  static std::string arguments(Index count, Index max_steps = 40, const std::string& checkpoint = "vae.safetensors",
                               int seed = 5) {
    return "--checkpoint " + scratch_->file(checkpoint) + " --dataset idx --data-dir " + scratch_->path().string() +
           " --num-datapoints " + std::to_string(count) + " --families ffg,full,flow --qstar-samples 4 --qstar-max-steps " +
           std::to_string(max_steps) + " --qstar-check-interval 10 --qstar-patience 2 --flow-max-steps 20 --per-datapoint" +
           " --threads 1 --seed " + std::to_string(seed);
  }

  static std::string results(const std::string& path) { return read_json(path)["results"].dump(); }

  static TemporaryDirectory* scratch_;
};

TemporaryDirectory* DatapointBlockRun::scratch_ = nullptr;

TEST_F(DatapointBlockRun, ResultsAreByteIdenticalWithoutMpirunAndOnOneTwoAndThreeRanks) {
  const std::string args = arguments(10) + " --block-size 3";
  const auto single = testing::run_command(binary() + " " + args + " --out " + scratch_->file("single.json"));
  ASSERT_EQ(single.exit_code, 0) << single.output;
  const std::string expected = results(scratch_->file("single.json"));
  EXPECT_EQ(read_json(scratch_->file("single.json"))["execution"]["blocks"], 4);
  EXPECT_FALSE(std::filesystem::exists(scratch_->file("single.json.journal")));
  // One block of all ten: the same results as four blocks.
  const auto whole = testing::run_command(binary() + " " + arguments(10) + " --block-size 10 --out " + scratch_->file("whole.json"));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  EXPECT_EQ(results(scratch_->file("whole.json")), expected);
  for (int ranks : {1, 2, 3}) {
    const std::string out = scratch_->file("ranks" + std::to_string(ranks) + ".json");
    const auto r = testing::run_command(testing::mpirun_prefix(ranks) + binary() + " " + args + " --out " + out);
    ASSERT_EQ(r.exit_code, 0) << ranks << " ranks:\n" << r.output;
    EXPECT_EQ(results(out), expected) << ranks << " ranks";
    const nlohmann::json execution = read_json(out)["execution"];
    EXPECT_EQ(execution["ranks"], ranks);
    EXPECT_EQ(execution["blocks_computed"], 4);
    EXPECT_FALSE(std::filesystem::exists(out + ".journal"));
  }
}

TEST_F(DatapointBlockRun, KilledRunResumesComputingOnlyTheMissingBlocksAndDamagedRecordsAreRecomputed) {
  const std::string args = arguments(kImages, 400) + " --block-size 2";  // 12 blocks
  const std::string out = scratch_->file("killed.json"), journal = out + ".journal";
  const auto uninterrupted = testing::run_command(binary() + " " + args + " --out " + scratch_->file("uninterrupted.json"));
  ASSERT_EQ(uninterrupted.exit_code, 0) << uninterrupted.output;
  const std::string expected = results(scratch_->file("uninterrupted.json"));

  // Two ranks in a process group of their own; SIGKILL to all of it once two blocks are journaled.
  const std::string pid_file = scratch_->file("pid");
  ASSERT_EQ(std::system(("setsid " + testing::mpirun_prefix(2) + binary() + " " + args + " --out " + out + " > " +
                         scratch_->file("killed.log") + " 2>&1 & echo $! > " + pid_file)
                            .c_str()),
            0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const pid_t group = static_cast<pid_t>(std::stol(read_text(pid_file)));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (journal_records(journal) < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  testing::kill_session(group);
  ASSERT_FALSE(std::filesystem::exists(out)) << "the run finished before it was killed:\n" << read_text(scratch_->file("killed.log"));
  const Index recorded = journal_records(journal);
  ASSERT_GE(recorded, 2);
  ASSERT_LT(recorded, 12);
  std::filesystem::copy_file(journal, scratch_->file("saved.journal"));

  // Resumed (on one process, not two): the uninterrupted results, only the missing blocks computed.
  const auto resumed = testing::run_command(binary() + " " + args + " --resume --out " + out);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(results(out), expected);
  nlohmann::json execution = read_json(out)["execution"];
  EXPECT_EQ(execution["blocks_resumed"], recorded);
  EXPECT_EQ(execution["blocks_computed"], 12 - recorded);
  EXPECT_FALSE(std::filesystem::exists(journal));

  // A torn last line (a crash during a write) and a flipped byte in the first record: both dropped.
  std::string text = read_text(scratch_->file("saved.journal"));
  const std::size_t second_line = text.find('\n') + 1, third_line = text.find('\n', second_line) + 1;
  text[second_line + (third_line - second_line) / 2] ^= 0x01;  // inside the first block's record
  const std::string torn = text + text.substr(third_line, (text.find('\n', third_line) - third_line) / 2);
  std::ofstream(journal, std::ios::binary) << torn;
  const auto repaired = testing::run_command(testing::mpirun_prefix(2) + binary() + " " + args + " --resume --out " + out);
  ASSERT_EQ(repaired.exit_code, 0) << repaired.output;
  EXPECT_EQ(results(out), expected);
  execution = read_json(out)["execution"];
  EXPECT_EQ(execution["blocks_resumed"], recorded - 1);
  EXPECT_EQ(execution["journal_lines_dropped"], 2);
  EXPECT_NE(repaired.output.find("torn or damaged"), std::string::npos) << repaired.output;

  // A resume of another run is refused naming what differs, and writes nothing.
  std::filesystem::remove(out);
  const std::vector<std::pair<std::string, std::string>> others = {
      {arguments(kImages, 400, "vae.safetensors", 6) + " --block-size 2", "seed: recorded"},
      {arguments(kImages, 400, "other.safetensors") + " --block-size 2", "checkpoint_sha256"},
      {arguments(kImages - 2, 400) + " --block-size 2", "num_datapoints: recorded 24, now 22"},
      {arguments(kImages, 400) + " --block-size 3", "block_size: recorded 2, now 3"}};
  for (const auto& [other, fragment] : others) {
    std::filesystem::copy_file(scratch_->file("saved.journal"), journal, std::filesystem::copy_options::overwrite_existing);
    const auto refused = testing::run_command(binary() + " " + other + " --resume --out " + out);
    EXPECT_EQ(refused.exit_code, 2) << refused.output;
    EXPECT_NE(refused.output.find("records another run"), std::string::npos) << refused.output;
    EXPECT_NE(refused.output.find(fragment), std::string::npos) << fragment << ":\n" << refused.output;
    EXPECT_FALSE(std::filesystem::exists(out));
    EXPECT_EQ(read_text(journal), read_text(scratch_->file("saved.journal"))) << "the journal must stay as it was";
  }
  std::filesystem::remove(journal);
  const auto missing = testing::run_command(binary() + " " + args + " --resume --out " + out);
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("no journal"), std::string::npos) << missing.output;
}

TEST_F(DatapointBlockRun, MoreRanksThanDatapointsLeavesRanksIdleAndGivesTheSameResults) {
  // Two datapoints: one block of two (the default --block-size 10) and two blocks of one, on three
  // ranks: the ranks without a block idle until rank 0 tells them none is left.
  for (const char* block_size : {"10", "1"}) {
    const std::string args = arguments(2) + " --block-size " + block_size;
    const std::string single = scratch_->file(std::string("idle_single_") + block_size + ".json"),
                      three = scratch_->file(std::string("idle_three_") + block_size + ".json");
    const auto one = testing::run_command(binary() + " " + args + " --out " + single);
    ASSERT_EQ(one.exit_code, 0) << one.output;
    const auto r = testing::run_command(testing::mpirun_prefix(3) + binary() + " " + args + " --out " + three);
    ASSERT_EQ(r.exit_code, 0) << "3 ranks, 2 datapoints, --block-size " << block_size << ":\n" << r.output;
    EXPECT_EQ(results(three), results(single)) << "--block-size " << block_size;
    const nlohmann::json execution = read_json(three)["execution"];
    EXPECT_EQ(execution["ranks"], 3);
    ASSERT_EQ(execution["per_rank"].size(), 3u) << execution.dump();
    Index computed = 0;
    for (const auto& rank : execution["per_rank"]) computed += rank["blocks"].get<Index>();
    EXPECT_EQ(computed, execution["blocks"].get<Index>()) << execution.dump();
    EXPECT_FALSE(std::filesystem::exists(three + ".journal"));
  }
}

TEST_F(DatapointBlockRun, AnOutputDirectoryThatCannotBeWrittenFailsBeforeAnyWorkNamingThePath) {
  // A parent that is a file, a parent that does not exist, and (unless root, whom permissions do
  // not stop) a directory without write permission: exit 2 before the checkpoint is read, with the
  // path in the message, and nothing written (no result, no journal), with and without mpirun.
  std::vector<std::string> outs = {scratch_->file("a-file") + "/gap.json", scratch_->file("missing-dir") + "/gap.json"};
  std::ofstream(scratch_->file("a-file")) << "not a directory\n";
  const std::filesystem::path locked = scratch_->path() / "locked";
  std::filesystem::create_directory(locked);
  std::filesystem::permissions(locked, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  if (::geteuid() != 0) outs.push_back((locked / "gap.json").string());
  for (const std::string& out : outs)
    for (const std::string& launcher : {std::string(), testing::mpirun_prefix(2)}) {
      // The checkpoint does not exist: a run that read it (or did any work) would fail on it instead.
      const auto r = testing::run_command(launcher + binary() + " " + arguments(6, 40, "missing.safetensors") + " --out " + out);
      EXPECT_EQ(r.exit_code, 2) << launcher << out << ":\n" << r.output;
      EXPECT_NE(r.output.find("output path '" + out + "'"), std::string::npos) << r.output;
      EXPECT_EQ(r.output.find("missing.safetensors"), std::string::npos) << "the checkpoint was read first:\n" << r.output;
      EXPECT_FALSE(std::filesystem::exists(out));
      EXPECT_FALSE(std::filesystem::exists(out + ".journal"));
    }
  std::filesystem::permissions(locked, std::filesystem::perms::owner_all);
}

TEST_F(DatapointBlockRun, AJournalThatCannotBeWrittenMidRunKeepsItsRecordsAndAnotherVersionIsRefused) {
  // The journal stops accepting writes after a few blocks (a file size limit, which binds root too,
  // stands in for a full disk): the run fails with exit 1 saying how much the journal keeps, and a
  // --resume computes only the rest and ends with the uninterrupted run's results.
  const std::string args = arguments(kImages, 400) + " --block-size 2";  // 12 blocks
  const std::string out = scratch_->file("limited.json"), journal = out + ".journal";
  const auto uninterrupted = testing::run_command(binary() + " " + args + " --out " + scratch_->file("unlimited.json"));
  ASSERT_EQ(uninterrupted.exit_code, 0) << uninterrupted.output;
  const std::string expected = results(scratch_->file("unlimited.json"));
  // bash's ulimit -f counts 1024-byte blocks; SIGXFSZ ignored, so a write past the limit fails with EFBIG.
  const auto limited = testing::run_command("bash -c 'trap \"\" XFSZ; ulimit -f 24; exec " + binary() + " " + args +
                                            " --out " + out + "'");
  ASSERT_EQ(limited.exit_code, 1) << limited.output;
  EXPECT_NE(limited.output.find("cannot append a record"), std::string::npos) << limited.output;
  EXPECT_NE(limited.output.find("the journal keeps the"), std::string::npos) << limited.output;
  EXPECT_NE(limited.output.find("rerun with --resume"), std::string::npos) << limited.output;
  EXPECT_FALSE(std::filesystem::exists(out));
  ASSERT_TRUE(std::filesystem::exists(journal));
  const std::string left = read_text(journal);  // the header, complete records, maybe a torn one (no '\n')
  const Index recorded = static_cast<Index>(std::count(left.begin(), left.end(), '\n')) - 1;
  ASSERT_GE(recorded, 1) << "raise the limit: no block fitted";
  ASSERT_LT(recorded, 12) << "lower the limit: every block fitted";
  EXPECT_NE(limited.output.find("keeps the " + std::to_string(recorded) + " of 12 blocks"), std::string::npos)
      << limited.output;
  std::filesystem::copy_file(journal, scratch_->file("limited.saved"));

  // The journal's header edited to name another vigap version (checksum recomputed): refused.
  std::string text = read_text(journal);
  const std::size_t header_end = text.find('\n');
  nlohmann::ordered_json header = parse_journal_line(text.substr(0, header_end));
  ASSERT_TRUE(header.contains("identity")) << text.substr(0, header_end);
  header["identity"]["vigap_version"] = "0.0.0-other";
  const std::string edited = format_journal_line(header) + text.substr(header_end + 1);
  std::ofstream(journal, std::ios::binary | std::ios::trunc) << edited;
  const auto refused = testing::run_command(binary() + " " + args + " --resume --out " + out);
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("records another run"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("vigap_version: recorded \"0.0.0-other\""), std::string::npos) << refused.output;
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_EQ(read_text(journal), edited) << "a refused journal must stay as it was";

  // The journal as the failed run left it: resumed, nothing recorded is computed again.
  std::filesystem::copy_file(scratch_->file("limited.saved"), journal, std::filesystem::copy_options::overwrite_existing);
  const auto resumed = testing::run_command(binary() + " " + args + " --resume --out " + out);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(results(out), expected);
  const nlohmann::json execution = read_json(out)["execution"];
  EXPECT_EQ(execution["blocks_resumed"], recorded);
  EXPECT_EQ(execution["blocks_computed"], 12 - recorded);
}

TEST_F(DatapointBlockRun, AnErrorOnRankOneEndsTheJobWithExitTwoAndAMessage) {
  const std::string out = scratch_->file("failed.json");
  // Rank 1 reads another checkpoint: rank 0 refuses it, naming the difference.
  const auto mismatch = testing::run_command(testing::mpirun_prefix(1) + binary() + " " + arguments(6) + " --out " + out + " : -np 1 " + binary() +
                                  " " + arguments(6, 40, "other.safetensors") + " --out " + out);
  EXPECT_EQ(mismatch.exit_code, 2) << mismatch.output;
  EXPECT_NE(mismatch.output.find("rank 1 runs another configuration than rank 0"), std::string::npos) << mismatch.output;
  EXPECT_NE(mismatch.output.find("checkpoint_sha256"), std::string::npos) << mismatch.output;
  EXPECT_FALSE(std::filesystem::exists(out));
  // Rank 1 cannot read its checkpoint at all: it ends the job, with the exit code a single process
  // would have (1: the file cannot be read).
  const auto single = testing::run_command(binary() + " " + arguments(6, 40, "missing.safetensors") + " --out " + out);
  const auto broken = testing::run_command(testing::mpirun_prefix(1) + binary() + " " + arguments(6) + " --out " + out + " : -np 1 " + binary() +
                                " " + arguments(6, 40, "missing.safetensors") + " --out " + out);
  EXPECT_NE(broken.exit_code, 0) << broken.output;
  EXPECT_EQ(broken.exit_code, single.exit_code) << broken.output;
  EXPECT_NE(broken.output.find("vigap-gap-table (rank 1): error:"), std::string::npos) << broken.output;
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace vigap
