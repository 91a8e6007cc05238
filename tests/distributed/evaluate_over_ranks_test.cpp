// vigap-evaluate spread over Open MPI ranks and resumed after a crash (distributed/,
// analyses/evaluation_block): the JSON `results` of every estimator (ELBO, IWAE, IS, AIS,
// quadrature, BDMC with more simulated pairs than datapoints) are byte-identical without mpirun
// in one block, in blocks of 1, and with mpirun -np 1, 2, 3; runs killed with SIGKILL at random
// points (seeded; the resumed run killed again) end, after --resume, with the uninterrupted run's
// results, having computed only the blocks the journal lacked; a torn last record (a crash during
// a write) and a damaged one are recomputed; a resume with another estimator option, estimator
// list, checkpoint, seed, range or block size is refused naming the difference, leaving the
// journal as it was.
// A tiny random-weight 2-D-latent VAE on synthetic 6 x 6 IDX images (tests/support/random_weight_vae.hpp; mpirun and kill helpers: tests/support/mpi_test_run.hpp; the identity check: tests/support/over_ranks_checks.hpp).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "core/random.hpp"
#include "support/mpi_test_run.hpp"
#include "support/over_ranks_checks.hpp"
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

constexpr Index kImages = 24;

std::string binary() { return std::string(VIGAP_BINARY_DIR) + "/vigap-evaluate"; }

class EvaluateOverRanks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new TemporaryDirectory();
    testing::write_small_idx_dataset(scratch_->path(), kImages, 6);
    testing::save_random_weight_vae(scratch_->file("vae.safetensors"), 36, 2, testing::test_seed(131));
    testing::save_random_weight_vae(scratch_->file("other.safetensors"), 36, 2, testing::test_seed(131) + 1);
  }
  static void TearDownTestSuite() {
    delete scratch_;
    scratch_ = nullptr;
  }

  /// vigap-evaluate's arguments (without --out and --block-size) on `count` datapoints.
  static std::string arguments(Index count, const std::string& estimators, const std::string& more = "",
                               const std::string& checkpoint = "vae.safetensors", int seed = 5) {
    return "--checkpoint " + scratch_->file(checkpoint) + " --dataset idx --data-dir " + scratch_->path().string() +
           " --num-datapoints " + std::to_string(count) + " --estimators " + estimators +
           " --elbo-samples 8 --iwae-k 3,20 --is-samples 20 --ais-chains 3 --ais-leapfrog-steps 2 --per-datapoint" +
           " --threads 1 --seed " + std::to_string(testing::test_seed(seed)) + " " + more;
  }

  static std::string results(const std::string& path) { return read_json(path)["results"].dump(); }

  static TemporaryDirectory* scratch_;
};

TemporaryDirectory* EvaluateOverRanks::scratch_ = nullptr;

TEST_F(EvaluateOverRanks, EveryEstimatorsResultsAreByteIdenticalOnAnyRanksAndBlocks) {
  // 10 datapoints and 13 simulated pairs: the default block (100) holds all 13 indices; blocks of 3
  // end with one of pairs only.
  const std::string estimators = "elbo,iwae,is,ais,quadrature,bdmc", more = "--ais-steps 10 --bdmc-datapoints 13";
  const testing::OverRanksBinary evaluate{binary(), scratch_, false, "| ELBO (S=8)"};
  nlohmann::json single;
  testing::expect_identical_over_ranks_and_blocks(evaluate, arguments(10, estimators, more),
                                                  arguments(10, estimators, more, "vae.safetensors", 6),
                                                  {.blocks_of_one = 13, .rank_block_size = 3, .rank_blocks = 5}, &single);
  if (HasFatalFailure()) return;
  for (const char* key : {"elbo", "iwae_3", "iwae_20", "importance_sampling", "ais", "quadrature", "elbo_quadrature",
                          "bdmc_lower", "bdmc_upper", "bdmc_sandwich_width", "kl_encoder_to_posterior"})
    EXPECT_TRUE(single["results"].contains(key)) << key;
  EXPECT_EQ(single["results"]["bdmc_lower"]["num_datapoints"], 13);
  EXPECT_EQ(single["results"]["ais"]["per_datapoint"].size(), 10u);
}

TEST_F(EvaluateOverRanks, RunsKilledAtRandomPointsResumeToTheUninterruptedResults) {
  const std::string args = arguments(kImages, "elbo,iwae,ais", "--ais-steps 300") + " --block-size 1";  // 24 blocks
  const std::string out = scratch_->file("killed.json"), journal = out + ".journal", pid = scratch_->file("pid");
  const auto uninterrupted = run_command(binary() + " " + args + " --out " + scratch_->file("uninterrupted.json"));
  ASSERT_EQ(uninterrupted.exit_code, 0) << uninterrupted.output;
  const std::string expected = results(scratch_->file("uninterrupted.json"));

  Rng rng(testing::test_seed(137));
  // Kill points: a first run on 2 ranks killed after 1 to 3 records, its resume (on 3 ranks)
  // killed a few records later, each kill a random 0-15 ms after the record showed (the next
  // block's record may be under way then).
  const long first_kill = 1 + static_cast<long>(uniform_below(3, rng));
  start_and_kill(mpirun_prefix(2) + binary() + " " + args + " --out " + out, journal, first_kill,
                 static_cast<int>(uniform_below(16, rng)), pid);
  ASSERT_FALSE(std::filesystem::exists(out)) << "the run finished before it was killed:\n" << read_text(pid + ".log");
  const long after_first = complete_journal_records(journal);
  ASSERT_GE(after_first, first_kill);
  ASSERT_LT(after_first, 24);
  const long second_kill = after_first + 2 + static_cast<long>(uniform_below(3, rng));
  start_and_kill(mpirun_prefix(3) + binary() + " " + args + " --resume --out " + out, journal, second_kill,
                 static_cast<int>(uniform_below(16, rng)), pid);
  ASSERT_FALSE(std::filesystem::exists(out)) << "the resumed run finished before it was killed:\n"
                                             << read_text(pid + ".log");
  const long recorded = complete_journal_records(journal);
  std::printf("kills: after %ld records (%ld journaled), after %ld (%ld)\n", first_kill, after_first, second_kill, recorded);
  ASSERT_GE(recorded, second_kill);
  ASSERT_LT(recorded, 24);
  std::filesystem::copy_file(journal, scratch_->file("saved.journal"));
  // A record is one write(2), so a kill leaves no torn line in practice; one would be dropped.
  const bool torn_tail = read_text(journal).back() != '\n';

  // Resumed in one process, on 2 threads (no part of a run's identity): the uninterrupted results,
  // only the missing blocks computed.
  const std::string on_two_threads = testing::substitute_placeholders(args, {{"--threads 1", "--threads 2"}});
  const auto resumed = run_command(binary() + " " + on_two_threads + " --resume --out " + out);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(results(out), expected);
  nlohmann::json execution = read_json(out)["execution"];
  EXPECT_EQ(execution["blocks_resumed"], recorded);
  EXPECT_EQ(execution["blocks_computed"], 24 - recorded);
  EXPECT_EQ(execution["journal_lines_dropped"], torn_tail ? 1 : 0);
  EXPECT_FALSE(std::filesystem::exists(journal));

  // A crash during a write (the last record torn at a random byte) and a byte flipped at random in
  // another record: both dropped and recomputed.
  std::string text = read_text(scratch_->file("saved.journal"));
  text.resize(text.rfind('\n') + 1);  // complete lines only
  std::vector<std::size_t> starts;  // of each record line (the header is line 0)
  for (std::size_t at = text.find('\n'); at + 1 < text.size(); at = text.find('\n', at + 1)) starts.push_back(at + 1);
  ASSERT_EQ(static_cast<long>(starts.size()), recorded);
  const std::size_t last = starts.back(), last_length = text.size() - last;
  const std::size_t victim = starts[uniform_below(starts.size() - 1, rng)];
  const std::size_t victim_length = text.find('\n', victim) - victim;
  text[victim + uniform_below(victim_length, rng)] ^= 0x04;
  text.resize(last + 1 + uniform_below(last_length - 2, rng));  // not the whole line, never its '\n'
  std::ofstream(journal, std::ios::binary) << text;
  const auto repaired = run_command(mpirun_prefix(2) + binary() + " " + args + " --resume --out " + out);
  ASSERT_EQ(repaired.exit_code, 0) << repaired.output;
  EXPECT_EQ(results(out), expected);
  execution = read_json(out)["execution"];
  EXPECT_EQ(execution["blocks_resumed"], recorded - 2);
  EXPECT_EQ(execution["blocks_computed"], 26 - recorded);
  EXPECT_EQ(execution["journal_lines_dropped"], 2);
  EXPECT_NE(repaired.output.find("torn or damaged"), std::string::npos) << repaired.output;

  // A resume of another run is refused naming what differs, writes nothing, and leaves the
  // journal as it was.
  std::filesystem::remove(out);
  const std::vector<std::pair<std::string, std::string>> others = {
      {arguments(kImages, "elbo,iwae,ais", "--ais-steps 301"), "ais.num_annealing_steps: recorded 300, now 301"},
      {testing::substitute_placeholders(arguments(kImages, "elbo,iwae,ais", "--ais-steps 300"),
                                        {{"--elbo-samples 8", "--elbo-samples 9"}}),
       "elbo.samples: recorded 8, now 9"},
      {arguments(kImages, "elbo,ais", "--ais-steps 300"), "estimators"},
      {arguments(kImages, "elbo,iwae,ais", "--ais-steps 300", "other.safetensors"), "checkpoint_sha256"},
      {arguments(kImages, "elbo,iwae,ais", "--ais-steps 300", "vae.safetensors", 6), "seed: recorded"},
      {arguments(kImages - 2, "elbo,iwae,ais", "--ais-steps 300"), "num_datapoints: recorded 24, now 22"},
      {arguments(kImages, "elbo,iwae,ais", "--ais-steps 300 --block-size 3"), "block_size: recorded 1, now 3"}};
  for (const auto& [other, fragment] : others) {
    const std::string other_args = other.find("--block-size") == std::string::npos ? other + " --block-size 1" : other;
    std::filesystem::copy_file(scratch_->file("saved.journal"), journal, std::filesystem::copy_options::overwrite_existing);
    const auto refused = run_command(binary() + " " + other_args + " --resume --out " + out);
    EXPECT_EQ(refused.exit_code, 2) << refused.output;
    EXPECT_NE(refused.output.find("records another run"), std::string::npos) << refused.output;
    EXPECT_NE(refused.output.find(fragment), std::string::npos) << fragment << ":\n" << refused.output;
    EXPECT_FALSE(std::filesystem::exists(out));
    EXPECT_EQ(read_text(journal), read_text(scratch_->file("saved.journal"))) << "the journal must stay as it was";
  }
}

}  // namespace
}  // namespace vigap
