#pragma once
// The two checks every distributed per-datapoint binary passes (test support of
// tests/distributed/*_over_ranks_test.cpp):
//  - expect_identical_over_ranks_and_blocks: the JSON `results` (and the picture, where the binary
//    draws one) are byte-identical without mpirun in one block, in blocks of 1 and with mpirun
//    -np 1, 2, 3; rank 0 alone prints the table; no journal is left behind; another seed changes
//    the results (so the comparisons can fail);
//  - expect_killed_run_resumes: a run SIGKILLed on 2 ranks at a random (seeded) point leaves no
//    output; a resume of another run is refused naming what differs and leaves the journal as it
//    was; a resume on 3 ranks ends with the uninterrupted run's results, computing only the blocks
//    the journal lacked.
// The journal machinery itself (torn and damaged records, unwritable journals, rank errors) is
// tested by tests/distributed/datapoint_block_run_test.cpp.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/random.hpp"
#include "support/mpi_test_run.hpp"
#include "support/run_binary.hpp"
#include "support/temporary_directory.hpp"

namespace vigap::testing {

/// A distributed binary under test and where its outputs go: run `name` writes <name>.json (and
/// <name>.svg when the binary draws a picture) in the scratch directory.
struct OverRanksBinary {
  std::string path;                            ///< the executable
  const TemporaryDirectory* scratch = nullptr;  ///< where every output goes
  bool draws_picture = false;                  ///< passes --picture <name>.svg beside --out
  std::string table_marker;                    ///< a fragment of the table rank 0 prints once

  std::string json_path(const std::string& name) const { return scratch->file(name + ".json"); }
  std::string picture_path(const std::string& name) const { return scratch->file(name + ".svg"); }
  /// " --out <name>.json [--picture <name>.svg]".
  std::string outputs(const std::string& name) const {
    return " --out " + json_path(name) + (draws_picture ? " --picture " + picture_path(name) : "");
  }
  /// `prefix` (e.g. mpirun_prefix(2), or "") + the binary + `arguments` + outputs(name).
  std::string command(const std::string& prefix, const std::string& arguments, const std::string& name) const {
    return prefix + path + " " + arguments + outputs(name);
  }
  BinaryRun run(const std::string& prefix, const std::string& arguments, const std::string& name) const {
    return run_command(command(prefix, arguments, name));
  }
  std::string results(const std::string& name) const { return read_json(json_path(name))["results"].dump(); }
  std::string picture(const std::string& name) const { return draws_picture ? read_text(picture_path(name)) : ""; }
};

/// The block layouts of expect_identical_over_ranks_and_blocks.
struct OverRanksLayout {
  long blocks_of_one = 0;    ///< blocks with --block-size 1 (the run's datapoints)
  long rank_block_size = 0;  ///< --block-size of the mpirun runs
  long rank_blocks = 0;      ///< blocks those runs compute
};

/// Runs `arguments` (without --out, --picture, --block-size) as "single" (the default block must
/// hold them all), "ones" (--block-size 1) and "ranks<N>" (mpirun -np N, N = 1, 2, 3) and expects
/// the single run's results and picture from each; then `reseeded_arguments` (another --seed) must
/// give other results. The single run's document is returned in *single for the caller's own checks.
inline void expect_identical_over_ranks_and_blocks(const OverRanksBinary& binary, const std::string& arguments,
                                                   const std::string& reseeded_arguments, const OverRanksLayout& layout,
                                                   nlohmann::json* single) {
  const auto one_block = binary.run("", arguments, "single");
  ASSERT_EQ(one_block.exit_code, 0) << one_block.output;
  const std::string expected = binary.results("single"), expected_picture = binary.picture("single");
  *single = read_json(binary.json_path("single"));
  EXPECT_EQ((*single)["execution"]["blocks"], 1);
  EXPECT_FALSE(std::filesystem::exists(binary.json_path("single") + ".journal"));

  const auto blocks_of_one = binary.run("", arguments + " --block-size 1", "ones");
  ASSERT_EQ(blocks_of_one.exit_code, 0) << blocks_of_one.output;
  EXPECT_EQ(binary.results("ones"), expected) << "blocks of 1";
  EXPECT_EQ(binary.picture("ones"), expected_picture) << "blocks of 1";
  EXPECT_EQ(read_json(binary.json_path("ones"))["execution"]["blocks"], layout.blocks_of_one);
  for (int ranks : {1, 2, 3}) {
    const std::string name = "ranks" + std::to_string(ranks);
    const auto r =
        binary.run(mpirun_prefix(ranks), arguments + " --block-size " + std::to_string(layout.rank_block_size), name);
    ASSERT_EQ(r.exit_code, 0) << ranks << " ranks:\n" << r.output;
    EXPECT_EQ(binary.results(name), expected) << ranks << " ranks";
    EXPECT_EQ(binary.picture(name), expected_picture) << ranks << " ranks";
    const nlohmann::json execution = read_json(binary.json_path(name))["execution"];
    EXPECT_EQ(execution["ranks"], ranks);
    EXPECT_EQ(execution["blocks_computed"], layout.rank_blocks);
    EXPECT_FALSE(std::filesystem::exists(binary.json_path(name) + ".journal"));
    // One table, printed by rank 0.
    const std::size_t first = r.output.find(binary.table_marker);
    ASSERT_NE(first, std::string::npos) << r.output;
    EXPECT_EQ(r.output.find(binary.table_marker, first + 1), std::string::npos) << r.output;
  }
  // Another seed gives other results: the comparisons above can fail.
  const auto reseeded = binary.run("", reseeded_arguments, "reseeded");
  ASSERT_EQ(reseeded.exit_code, 0) << reseeded.output;
  EXPECT_NE(binary.results("reseeded"), expected);
}

/// A resume that must be refused: another run's arguments and the fragment of the message that
/// names the difference (e.g. "replicates: recorded 300, now 301").
struct RefusedResume {
  std::string arguments;
  std::string fragment;
};

/// `arguments` (with --block-size 1, `blocks` blocks) run uninterrupted, then killed on 2 ranks a
/// random 0-15 ms after the 1st to `max_records_at_kill`-th journal record showed (both drawn
/// from Rng(seed)); each of `refusals` (--resume added, and --block-size 1 if it has none) must exit 2 naming its
/// fragment, write nothing and leave the journal as it was; the resume on 3 ranks must give the
/// uninterrupted results (and picture), resuming the journaled blocks and computing the rest.
inline void expect_killed_run_resumes(const OverRanksBinary& binary, const std::string& arguments, long blocks,
                                      std::uint64_t seed, long max_records_at_kill,
                                      const std::vector<RefusedResume>& refusals) {
  const std::string journal = binary.json_path("killed") + ".journal", pid = binary.scratch->file("pid");
  const std::string saved = binary.scratch->file("saved.journal");
  const auto uninterrupted = binary.run("", arguments, "uninterrupted");
  ASSERT_EQ(uninterrupted.exit_code, 0) << uninterrupted.output;
  const std::string expected = binary.results("uninterrupted"), expected_picture = binary.picture("uninterrupted");
  const nlohmann::json timings = read_json(binary.json_path("uninterrupted"))["timings"];
  if (timings.is_object() && timings.contains("total_seconds"))
    std::printf("uninterrupted: %.3f s computing\n", timings["total_seconds"].get<double>());

  Rng rng(seed);
  const long kill_after = 1 + static_cast<long>(uniform_below(static_cast<std::uint64_t>(max_records_at_kill), rng));
  start_and_kill(binary.command(mpirun_prefix(2), arguments, "killed"), journal, kill_after,
                 static_cast<int>(uniform_below(16, rng)), pid);
  ASSERT_FALSE(std::filesystem::exists(binary.json_path("killed")))
      << "the run finished before it was killed:\n" << read_text(pid + ".log");
  if (binary.draws_picture) {
    ASSERT_FALSE(std::filesystem::exists(binary.picture_path("killed"))) << "rank 0 writes the picture at the end only";
  }
  const long recorded = complete_journal_records(journal);
  std::printf("killed after %ld records (%ld journaled)\n", kill_after, recorded);
  ASSERT_GE(recorded, kill_after);
  ASSERT_LT(recorded, blocks);
  std::filesystem::copy_file(journal, saved, std::filesystem::copy_options::overwrite_existing);
  const bool torn_tail = read_text(journal).back() != '\n';

  for (const RefusedResume& other : refusals) {
    std::filesystem::copy_file(saved, journal, std::filesystem::copy_options::overwrite_existing);
    const bool has_block_size = other.arguments.find("--block-size") != std::string::npos;
    const auto refused =
        binary.run("", other.arguments + (has_block_size ? "" : " --block-size 1") + " --resume", "killed");
    EXPECT_EQ(refused.exit_code, 2) << refused.output;
    EXPECT_NE(refused.output.find("records another run"), std::string::npos) << refused.output;
    EXPECT_NE(refused.output.find(other.fragment), std::string::npos) << other.fragment << ":\n" << refused.output;
    EXPECT_FALSE(std::filesystem::exists(binary.json_path("killed")));
    EXPECT_EQ(read_text(journal), read_text(saved)) << "the journal must stay as it was";
  }

  std::filesystem::copy_file(saved, journal, std::filesystem::copy_options::overwrite_existing);
  const auto resumed = binary.run(mpirun_prefix(3), arguments + " --resume", "killed");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(binary.results("killed"), expected);
  EXPECT_EQ(binary.picture("killed"), expected_picture);
  const nlohmann::json execution = read_json(binary.json_path("killed"))["execution"];
  EXPECT_EQ(execution["blocks_resumed"], recorded);
  EXPECT_EQ(execution["blocks_computed"], blocks - recorded);
  EXPECT_EQ(execution["journal_lines_dropped"], torn_tail ? 1 : 0);
  EXPECT_FALSE(std::filesystem::exists(journal));
}

}  // namespace vigap::testing
