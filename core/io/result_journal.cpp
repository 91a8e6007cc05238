#include "core/io/result_journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "core/io/atomic_file.hpp"

namespace vigap {

namespace {

constexpr int kJournalVersion = 1;
constexpr std::size_t kChecksumDigits = 8;

std::string system_error(const std::string& path, const std::string& what) {
  return "journal " + path + ": " + what + ": " + std::strerror(errno);
}

std::uint32_t crc32_of(const std::string& text) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed long texts in pieces.
  std::size_t done = 0;
  while (done < text.size()) {
    const std::size_t piece = std::min<std::size_t>(text.size() - done, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(text.data() + done), static_cast<uInt>(piece));
    done += piece;
  }
  return static_cast<std::uint32_t>(crc);
}

nlohmann::ordered_json header_record(const nlohmann::ordered_json& identity) {
  return nlohmann::ordered_json{{"vigap_result_journal", kJournalVersion}, {"identity", identity}};
}

bool is_header(const nlohmann::ordered_json& record) {
  return record.is_object() && record.size() == 2 && record.contains("vigap_result_journal") &&
         record.contains("identity") && record["vigap_result_journal"] == kJournalVersion;
}

bool is_unit_record(const nlohmann::ordered_json& record) {
  return record.is_object() && record.size() == 2 && record.contains("unit") && record.contains("payload") &&
         record["unit"].is_number_integer() && record["unit"].get<std::int64_t>() >= 0;
}

void write_all(int fd, const std::string& bytes, const std::string& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(system_error(path, "cannot append a record"));
    }
    done += static_cast<std::size_t>(n);
  }
}

/// The journal is locked (flock) while a run appends to it: a second run on the same journal (a
/// rerun while the first still runs, or a survivor of a killed job) is refused, never interleaved.
void lock_or_refuse(int fd, const std::string& path) {
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const bool busy = errno == EWOULDBLOCK;
    ::close(fd);
    if (busy)
      throw std::runtime_error("journal " + path + " is in use by another running process (wait for it to end, or end it)");
    throw std::runtime_error(system_error(path, "cannot lock"));
  }
}

int open_for_append(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(system_error(path, "cannot open for appending"));
  lock_or_refuse(fd, path);
  return fd;
}

/// Refuses to replace or reread a journal another process holds open for appending.
void check_not_in_use(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // no journal yet (or unreadable: the read reports it)
  lock_or_refuse(fd, path);
  ::close(fd);
}

std::string json_text(const nlohmann::ordered_json& value) { return value.is_discarded() ? "absent" : value.dump(); }

void collect_differences(const nlohmann::ordered_json& recorded, const nlohmann::ordered_json& current, const std::string& path,
                         std::vector<std::string>& out) {
  if (recorded.is_object() && current.is_object()) {
    std::map<std::string, int> keys;
    for (auto it = recorded.begin(); it != recorded.end(); ++it) keys[it.key()] |= 1;
    for (auto it = current.begin(); it != current.end(); ++it) keys[it.key()] |= 2;
    for (const auto& [key, where] : keys) {
      const std::string child = path.empty() ? key : path + "." + key;
      const nlohmann::ordered_json absent(nlohmann::ordered_json::value_t::discarded);
      collect_differences(where & 1 ? recorded.at(key) : absent, where & 2 ? current.at(key) : absent, child, out);
    }
    return;
  }
  if (recorded.is_discarded() != current.is_discarded() || recorded != current)
    out.push_back((path.empty() ? std::string("(the whole identity)") : path) + ": recorded " + json_text(recorded) +
                  ", now " + json_text(current));
}

}  // namespace

std::vector<std::string> describe_json_differences(const nlohmann::ordered_json& recorded, const nlohmann::ordered_json& current) {
  std::vector<std::string> out;
  collect_differences(recorded, current, "", out);
  return out;
}

std::string format_journal_line(const nlohmann::ordered_json& record) {
  const std::string text = record.dump();
  char checksum[kChecksumDigits + 1];
  std::snprintf(checksum, sizeof checksum, "%08x", static_cast<unsigned>(crc32_of(text)));
  return std::string(checksum) + " " + text + "\n";
}

nlohmann::ordered_json parse_journal_line(const std::string& line) {
  const nlohmann::ordered_json discarded(nlohmann::ordered_json::value_t::discarded);
  if (line.size() < kChecksumDigits + 2 || line[kChecksumDigits] != ' ') return discarded;
  std::uint32_t recorded = 0;
  for (std::size_t i = 0; i < kChecksumDigits; ++i) {
    const char c = line[i];
    std::uint32_t digit;
    if (c >= '0' && c <= '9') digit = static_cast<std::uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f') digit = static_cast<std::uint32_t>(c - 'a' + 10);
    else return discarded;
    recorded = recorded * 16 + digit;
  }
  const std::string text = line.substr(kChecksumDigits + 1);
  if (crc32_of(text) != recorded) return discarded;
  return nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
}

ResultJournal::ResultJournal(std::string path, int fd, bool durable, std::map<std::int64_t, nlohmann::ordered_json> records)
    : path_(std::move(path)), fd_(fd), durable_(durable), records_(std::move(records)) {}

ResultJournal::ResultJournal(ResultJournal&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), durable_(other.durable_), records_(std::move(other.records_)) {
  other.fd_ = -1;
}

ResultJournal& ResultJournal::operator=(ResultJournal&& other) noexcept {
  if (this != &other) {
    close();
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    durable_ = other.durable_;
    records_ = std::move(other.records_);
    other.fd_ = -1;
  }
  return *this;
}

ResultJournal::~ResultJournal() { close(); }

void ResultJournal::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

ResultJournal ResultJournal::create(const std::string& path, const nlohmann::ordered_json& identity, bool durable) {
  check_not_in_use(path);
  write_file_atomically(path, format_journal_line(header_record(identity)));
  return ResultJournal(path, open_for_append(path), durable, {});
}

ResultJournal ResultJournal::resume(const std::string& path, const nlohmann::ordered_json& identity,
                                    ResultJournalResumeReport* report, bool durable) {
  ResultJournalResumeReport local;
  ResultJournalResumeReport& r = report ? *report : local;
  r = ResultJournalResumeReport{};
  if (!std::filesystem::exists(path)) return create(path, identity, durable);
  check_not_in_use(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(system_error(path, "cannot open for reading"));
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error(system_error(path, "cannot read"));

  std::map<std::int64_t, nlohmann::ordered_json> records;
  std::string kept = format_journal_line(header_record(identity));
  std::size_t start = 0;
  bool first = true;
  while (start < content.size()) {
    const std::size_t end = content.find('\n', start);
    const bool complete = end != std::string::npos;  // a last line without '\n' is torn
    const std::string line = content.substr(start, complete ? end - start : std::string::npos);
    start = complete ? end + 1 : content.size();
    const nlohmann::ordered_json record = complete ? parse_journal_line(line) : nlohmann::ordered_json(nlohmann::ordered_json::value_t::discarded);
    if (first) {
      first = false;
      if (!is_header(record)) {  // nothing after a header that cannot be checked is trusted
        r.header_damaged = true;
        r.lines_dropped = static_cast<std::int64_t>(std::count(content.begin(), content.end(), '\n')) +
                          (content.back() != '\n' ? 1 : 0);
        break;
      }
      const std::vector<std::string> differences = describe_json_differences(record["identity"], identity);
      if (!differences.empty()) {
        std::string message = "journal " + path + " records another run, so --resume cannot continue it: ";
        for (std::size_t i = 0; i < differences.size(); ++i) message += (i ? "; " : "") + differences[i];
        throw std::invalid_argument(message + " (rerun without --resume to start afresh, or restore the recorded settings)");
      }
      continue;
    }
    if (!is_unit_record(record)) {
      r.lines_dropped += 1;
      continue;
    }
    const std::int64_t unit = record["unit"].get<std::int64_t>();
    if (records.count(unit)) {
      r.duplicates_dropped += 1;
      continue;
    }
    records.emplace(unit, record["payload"]);
    kept += format_journal_line(record);
  }
  if (first) r.header_damaged = true;  // an empty file has no header to check
  r.records_kept = static_cast<std::int64_t>(records.size());
  write_file_atomically(path, kept);
  return ResultJournal(path, open_for_append(path), durable, std::move(records));
}

void ResultJournal::append(std::int64_t unit, const nlohmann::ordered_json& payload) {
  if (unit < 0) throw std::invalid_argument("journal " + path_ + ": unit " + std::to_string(unit) + " is negative");
  if (records_.count(unit))
    throw std::invalid_argument("journal " + path_ + ": unit " + std::to_string(unit) + " is already recorded");
  if (fd_ < 0) throw std::runtime_error("journal " + path_ + ": closed (removed) before append");
  write_all(fd_, format_journal_line(nlohmann::ordered_json{{"unit", unit}, {"payload", payload}}), path_);
  if (durable_ && ::fdatasync(fd_) != 0) throw std::runtime_error(system_error(path_, "cannot flush a record to the disk"));
  records_.emplace(unit, payload);
}

void ResultJournal::remove() {
  close();
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) throw std::runtime_error(system_error(path_, "cannot remove"));
}

}  // namespace vigap
