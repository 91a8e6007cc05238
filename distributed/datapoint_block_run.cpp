#include "distributed/datapoint_block_run.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>

#include "core/elapsed_seconds.hpp"
#include "core/io/result_journal.hpp"
#include "core/io/sha256.hpp"
#include "core/progress_reporter.hpp"
#include "core/version.hpp"
#include "distributed/block_distribution.hpp"
#include "distributed/mpi_session.hpp"

namespace po = boost::program_options;

namespace vigap {

Index DatapointBlocks::block_count(Index block) const {
  return std::min(block_size, count - block * block_size);
}

void add_block_run_options(po::options_description& description, BlockRunSettings& settings,
                           const std::string& exception) {
  const std::string help = "datapoints per block: the unit handed to MPI ranks and recorded in <out>.journal (results "
                           "do not depend on it" + (exception.empty() ? "" : ", except " + exception) + ")";
  description.add_options()
      ("block-size", po::value(&settings.block_size)->default_value(settings.block_size), help.c_str())
      ("resume", po::bool_switch(&settings.resume),
       "continue the run recorded in <out>.journal: compute only the blocks it lacks");
}

void validate(const BlockRunSettings& settings) {
  if (settings.block_size < 1)
    throw std::invalid_argument("--block-size must be >= 1, found " + std::to_string(settings.block_size));
}

double BlockRunReport::compute_share() const {
  double compute = 0.0;
  for (const RankTimings& t : rank_timings) compute += t.compute_seconds;
  return wall_seconds > 0.0 ? compute / (static_cast<double>(ranks) * wall_seconds) : 0.0;
}

double BlockRunReport::communication_share() const {
  double communication = 0.0;
  for (std::size_t r = 1; r < rank_timings.size(); ++r) communication += rank_timings[r].communication_seconds;
  return ranks > 1 && wall_seconds > 0.0 ? communication / (static_cast<double>(ranks - 1) * wall_seconds) : 0.0;
}

nlohmann::ordered_json BlockRunReport::to_json() const {
  nlohmann::ordered_json per_rank = nlohmann::ordered_json::array();
  for (std::size_t r = 0; r < rank_timings.size(); ++r)
    per_rank.push_back({{"rank", r},
                        {"blocks", rank_timings[r].blocks},
                        {"compute_seconds", rank_timings[r].compute_seconds},
                        {"communication_seconds", rank_timings[r].communication_seconds}});
  return {{"ranks", ranks},
          {"block_size", block_size},
          {"blocks", blocks},
          {"blocks_resumed", blocks_resumed},
          {"blocks_computed", blocks_computed},
          {"journal_lines_dropped", journal_lines_dropped},
          {"wall_seconds", wall_seconds},
          {"compute_share", compute_share()},
          {"communication_share", communication_share()},
          {"per_rank", per_rank}};
}

std::string journal_path(const std::string& out) { return out + ".journal"; }

namespace {

std::string file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read " + path + " to hash it");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return sha256_hex(bytes);
}

std::string duration_text(double seconds) {
  char buffer[32];
  if (seconds < 120) std::snprintf(buffer, sizeof buffer, "%.0f s", seconds);
  else if (seconds < 7200) std::snprintf(buffer, sizeof buffer, "%.0f min", seconds / 60);
  else std::snprintf(buffer, sizeof buffer, "%.1f h", seconds / 3600);
  return buffer;
}

ResultJournal open_journal(const std::string& path, const nlohmann::ordered_json& identity, bool resume,
                           BlockRunReport& report) {
  if (!resume) {
    if (std::filesystem::exists(path))
      std::cerr << "replacing the journal " << path << " of an earlier run (--resume would continue it)\n";
    return ResultJournal::create(path, identity);
  }
  if (!std::filesystem::exists(path))
    throw std::invalid_argument("--resume: there is no journal " + path +
                                " to resume from (run without --resume to start this run)");
  ResultJournalResumeReport found;
  ResultJournal journal = ResultJournal::resume(path, identity, &found);
  report.journal_lines_dropped = found.lines_dropped + found.duplicates_dropped;
  if (found.header_damaged)
    std::cerr << "journal " << path << ": its header is damaged, so none of its records can be trusted: starting afresh\n";
  else if (report.journal_lines_dropped > 0)
    std::cerr << "journal " << path << ": " << report.journal_lines_dropped
              << " torn or damaged record(s) dropped; their blocks are computed again\n";
  return journal;
}

}  // namespace

nlohmann::ordered_json block_run_identity(const std::string& binary, std::uint64_t seed,
                                          const nlohmann::ordered_json& configuration, const std::string& checkpoint,
                                          const nlohmann::ordered_json& dataset, const MatrixF& data,
                                          const DatapointBlocks& blocks) {
  nlohmann::ordered_json settings = configuration;
  settings.erase("threads");
  nlohmann::ordered_json j;
  j["binary"] = binary;
  j["vigap_version"] = kVersion;
  j["git_commit"] = kGitCommit;
  j["seed"] = seed;
  j["configuration"] = settings;
  j["checkpoint_sha256"] = file_sha256(checkpoint);
  j["dataset"] = dataset;
  j["first_datapoint"] = blocks.first;
  j["num_datapoints"] = blocks.count;
  j["data_sha256"] = sha256_hex(std::string_view(reinterpret_cast<const char*>(data.data()),
                                                 static_cast<std::size_t>(data.size()) * sizeof(float)));
  j["block_size"] = blocks.block_size;
  return j;
}

std::optional<std::vector<nlohmann::ordered_json>> run_datapoint_blocks(
    const DatapointBlocks& blocks, const BlockRunSettings& settings, const std::string& journal_file,
    const nlohmann::ordered_json& identity, const std::string& label,
    const std::function<nlohmann::ordered_json(Index first, Index count)>& compute, BlockRunReport* report_out) {
  const auto start = std::chrono::steady_clock::now();
  const MpiPlace& place = mpi_place();
  BlockRunReport report;
  report.ranks = place.size;
  report.block_size = blocks.block_size;
  report.blocks = blocks.num_blocks();
  report.journal = journal_file;
  const auto computation = [&](Index b) { return compute(blocks.block_first(b), blocks.block_count(b)).dump(); };
  if (place.rank != 0) {  // a worker: rank 0 holds the journal and hands out the blocks
    distribute_blocks({}, identity.dump(), computation, [](Index, std::string) {});
    return std::nullopt;
  }

  ResultJournal journal = open_journal(journal_file, identity, settings.resume, report);
  std::vector<Index> todo;
  Index done_datapoints = 0;
  for (Index b = 0; b < report.blocks; ++b)
    if (journal.contains(b)) {
      ++report.blocks_resumed;
      done_datapoints += blocks.block_count(b);
    } else {
      todo.push_back(b);
    }
  const ProgressReporter progress;
  const Index resumed_datapoints = done_datapoints;
  const auto finished = [&](Index b, std::string payload) {
    const auto record = nlohmann::ordered_json::parse(payload, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded()) throw std::runtime_error("block " + std::to_string(b) + " arrived damaged (not JSON)");
    try {
      journal.append(b, record);
    } catch (const std::runtime_error& e) {
      // Disk full, a lost mount, a file size limit: what is recorded stays (a torn last line is
      // dropped by the next --resume), and the run says so.
      const Index kept = report.blocks_resumed + report.blocks_computed;
      throw std::runtime_error(std::string(e.what()) + "; the journal keeps the " + std::to_string(kept) + " of " +
                               std::to_string(report.blocks) + " blocks recorded before (" +
                               std::to_string(done_datapoints) + " of " + std::to_string(blocks.count) +
                               " datapoints): rerun with --resume once " + journal_file + " can be written");
    }
    ++report.blocks_computed;
    done_datapoints += blocks.block_count(b);
    const double elapsed = seconds_since(start);
    const double rate = static_cast<double>(done_datapoints - resumed_datapoints) / std::max(elapsed, 1e-9);
    char line[160];
    std::snprintf(line, sizeof line, "%s: %lld/%lld datapoints, %.3g/s, %s left", label.c_str(),
                  static_cast<long long>(done_datapoints), static_cast<long long>(blocks.count), rate,
                  duration_text(static_cast<double>(blocks.count - done_datapoints) / std::max(rate, 1e-12)).c_str());
    progress.update(line);
  };
  try {
    distribute_blocks(todo, identity.dump(), computation, finished, &report.rank_timings);
  } catch (...) {
    // A run that fails before any block is recorded (bad input met by the first computation)
    // leaves nothing to resume, so no journal; one with finished blocks keeps them.
    if (journal.records().empty()) journal.remove();
    throw;
  }
  progress.finish();
  std::vector<nlohmann::ordered_json> payloads;
  for (Index b = 0; b < report.blocks; ++b) payloads.push_back(journal.records().at(b));
  report.wall_seconds = seconds_since(start);
  if (report_out) *report_out = report;
  return payloads;
}

void remove_journal(const std::string& journal) {
  std::error_code error;
  std::filesystem::remove(journal, error);
  if (error) throw std::runtime_error("cannot remove the journal " + journal + ": " + error.message());
}

}  // namespace vigap
