#pragma once
// A durable, append-only record of a long run's finished units of work (datapoints or blocks of
// them), kept beside the run's output so that a killed run loses nothing it finished and a rerun
// with --resume recomputes only what is missing.
//
// The file is text, one record per line, each line "<crc32> <json>\n": eight lowercase hexadecimal
// digits of the CRC-32 (zlib's, ISO 3309) of the JSON text, a space, the JSON text (one line, as
// nlohmann::ordered_json::dump() writes it). The first record is the header {"vigap_result_journal": 1,
// "identity": {...}}: what the run is (binary, configuration, checkpoint and data hashes), so that
// a resume of a different run is refused. Every other record is {"unit": u, "payload": {...}}.
// Lines are self-delimiting, so a torn last line (a crash during a write) or a damaged line is
// detected by its checksum and dropped alone; its unit is then recomputed, never trusted.
// Inspect one with `cut -c10- run.json.journal | jq .`.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vigap {

/// What a resume found in an existing journal.
struct ResultJournalResumeReport {
  std::int64_t records_kept = 0;      ///< finished units read back (their checksums matched)
  std::int64_t lines_dropped = 0;     ///< torn or damaged lines (bad checksum, not JSON, not a record)
  std::int64_t duplicates_dropped = 0;  ///< a unit recorded twice: the first record is kept
  bool header_damaged = false;        ///< the header failed its checksum: every record was dropped
};

/// The JSON paths at which `recorded` and `current` differ, each "path: recorded <a>, now <b>"
/// (objects compared key by key, recursively; a missing key prints as "absent"), in key order.
/// Empty when they are equal.
std::vector<std::string> describe_json_differences(const nlohmann::ordered_json& recorded, const nlohmann::ordered_json& current);

/// An open journal: the records read back on resume, and an append handle.
///
/// Not thread-safe: one writer (rank 0, or the only process) appends. Each append is written with
/// one write(2) call and, when `durable`, flushed to the disk with fdatasync before it returns.
class ResultJournal {
 public:
  ResultJournal(const ResultJournal&) = delete;
  ResultJournal& operator=(const ResultJournal&) = delete;
  ResultJournal(ResultJournal&& other) noexcept;
  ResultJournal& operator=(ResultJournal&& other) noexcept;
  ~ResultJournal();

  /// Starts a new journal at `path` holding only the header with `identity` (replacing any file
  /// there atomically). Throws std::runtime_error naming the path when it cannot be written.
  static ResultJournal create(const std::string& path, const nlohmann::ordered_json& identity, bool durable = true);

  /// Reopens the journal at `path` to resume the run `identity` describes. Reads every record,
  /// drops torn, damaged and duplicate lines (counted in *report), rewrites the file atomically
  /// with the records kept, and opens it for appending. When the file does not exist, creates it
  /// as create() does. Throws std::invalid_argument "journal <path> records another run: <each
  /// difference>" when the header's identity differs from `identity` (describe_json_differences),
  /// and std::runtime_error naming the path on a read or write failure. A damaged header cannot
  /// be checked, so its records are dropped (report->header_damaged) and the journal starts afresh.
  static ResultJournal resume(const std::string& path, const nlohmann::ordered_json& identity,
                              ResultJournalResumeReport* report = nullptr, bool durable = true);

  /// Records that `unit` finished with `payload`. Throws std::invalid_argument when the unit is
  /// negative or already recorded, std::runtime_error naming the path when the write fails.
  void append(std::int64_t unit, const nlohmann::ordered_json& payload);

  /// The finished units and their payloads: read back on resume, plus those appended since.
  const std::map<std::int64_t, nlohmann::ordered_json>& records() const { return records_; }
  bool contains(std::int64_t unit) const { return records_.count(unit) != 0; }
  const std::string& path() const { return path_; }

  /// Closes and deletes the file (after the run's output is written). Throws std::runtime_error
  /// naming the path when it cannot be removed.
  void remove();

 private:
  ResultJournal(std::string path, int fd, bool durable, std::map<std::int64_t, nlohmann::ordered_json> records);
  void close() noexcept;

  std::string path_;
  int fd_ = -1;
  bool durable_ = true;
  std::map<std::int64_t, nlohmann::ordered_json> records_;
};

/// One journal line for `record`: "<crc32 of record.dump()> <record.dump()>\n".
std::string format_journal_line(const nlohmann::ordered_json& record);

/// The record of one journal line (without its '\n'), or a discarded json when the line is torn or
/// damaged (wrong length, bad hexadecimal, checksum mismatch, not JSON).
nlohmann::ordered_json parse_journal_line(const std::string& line);

}  // namespace vigap
