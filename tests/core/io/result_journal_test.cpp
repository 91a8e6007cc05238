#include "core/io/result_journal.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "support/expect_throw_message.hpp"
#include "support/temporary_directory.hpp"

namespace vigap {
namespace {

using json = nlohmann::ordered_json;
using testing::expect_throw_message;
using testing::TemporaryDirectory;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

const json kIdentity = {{"binary", "vigap-evaluate"},
                        {"configuration", {{"ais", {{"steps", 1000}, {"chains", 16}}}, {"seed", 7}}},
                        {"checkpoint_sha256", "ab12"}};

json payload(int i) {
  // Doubles whose shortest decimal forms need all 17 digits must come back as the same bits.
  return {{"log_p", -100.0 - i / 3.0}, {"se", 1e-7 * (i + 1) / 7.0}, {"index", i}};
}

/// A journal of kIdentity holding units 0 ... count-1 with payload(i).
void write_journal(const std::string& path, int count) {
  ResultJournal journal = ResultJournal::create(path, kIdentity, /*durable=*/false);
  for (int i = 0; i < count; ++i) journal.append(i, payload(i));
}

TEST(ResultJournal, RecordsComeBackBitForBitOnResume) {
  TemporaryDirectory dir;
  const std::string path = dir.file("run.json.journal");
  {
    ResultJournal journal = ResultJournal::create(path, kIdentity, /*durable=*/false);
    for (int i = 0; i < 5; ++i) journal.append(i * 2, payload(i));
    EXPECT_EQ(journal.records().size(), 5u);
  }
  ResultJournalResumeReport report;
  ResultJournal resumed = ResultJournal::resume(path, kIdentity, &report, false);
  EXPECT_EQ(report.records_kept, 5);
  EXPECT_EQ(report.lines_dropped, 0);
  EXPECT_FALSE(report.header_damaged);
  ASSERT_EQ(resumed.records().size(), 5u);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(resumed.contains(i * 2));
    const json& back = resumed.records().at(i * 2);
    EXPECT_EQ(back, payload(i));
    // The same bits, not merely close.
    EXPECT_EQ(std::bit_cast<std::uint64_t>(back["log_p"].get<double>()),
              std::bit_cast<std::uint64_t>(payload(i)["log_p"].get<double>()));
  }
  EXPECT_FALSE(resumed.contains(1));
  resumed.append(1, payload(9));  // appending continues after a resume
  { const ResultJournal closed = std::move(resumed); }  // a journal is locked while open
  ResultJournal again = ResultJournal::resume(path, kIdentity, &report, false);
  EXPECT_EQ(report.records_kept, 6);
  EXPECT_EQ(again.records().at(1), payload(9));
}

TEST(ResultJournal, TornLastLineIsDroppedAndItsUnitRecomputed) {
  TemporaryDirectory dir;
  const std::string path = dir.file("run.journal");
  write_journal(path, 2);
  // A crash in the middle of the third write: every prefix of its line is detected.
  const std::string whole = read_all(path);
  const std::string third = format_journal_line(json{{"unit", 2}, {"payload", payload(2)}});
  for (std::size_t cut = 0; cut < third.size(); ++cut) {
    write_all(path, whole + third.substr(0, cut));
    ResultJournalResumeReport report;
    ResultJournal resumed = ResultJournal::resume(path, kIdentity, &report, false);
    EXPECT_EQ(report.records_kept, 2) << "cut at " << cut;
    EXPECT_EQ(report.lines_dropped, cut == 0 ? 0 : 1) << "cut at " << cut;
    EXPECT_FALSE(resumed.contains(2));
    // The resume rewrote the file without the torn tail.
    EXPECT_EQ(read_all(path), whole);
  }
}

TEST(ResultJournal, DamagedLineIsDroppedAloneEveryByteFlipDetected) {
  TemporaryDirectory dir;
  const std::string path = dir.file("run.journal");
  write_journal(path, 3);
  const std::string whole = read_all(path);
  const std::size_t second_start = whole.find('\n', whole.find('\n') + 1) + 1;  // unit 1's line
  const std::size_t second_end = whole.find('\n', second_start);
  for (std::size_t at = second_start; at < second_end; ++at) {
    for (const unsigned char flip : {0x01u, 0x20u, 0x80u}) {
      std::string damaged = whole;
      damaged[at] = static_cast<char>(damaged[at] ^ flip);
      write_all(path, damaged);
      ResultJournalResumeReport report;
      ResultJournal resumed = ResultJournal::resume(path, kIdentity, &report, false);
      EXPECT_FALSE(resumed.contains(1)) << "byte " << at << " flip " << flip;
      EXPECT_TRUE(resumed.contains(0));
      EXPECT_TRUE(resumed.contains(2));  // lines are self-delimiting: the next record survives
      EXPECT_EQ(report.lines_dropped, 1);
    }
  }
}

TEST(ResultJournal, DamagedHeaderDropsEverything) {
  TemporaryDirectory dir;
  const std::string path = dir.file("run.journal");
  write_journal(path, 2);
  std::string damaged = read_all(path);
  damaged[12] = static_cast<char>(damaged[12] ^ 0x04);
  write_all(path, damaged);
  ResultJournalResumeReport report;
  ResultJournal resumed = ResultJournal::resume(path, kIdentity, &report, false);
  EXPECT_TRUE(report.header_damaged);
  EXPECT_EQ(report.lines_dropped, 3);
  EXPECT_TRUE(resumed.records().empty());
  // The file is a fresh journal for this run.
  EXPECT_EQ(read_all(path), format_journal_line(json{{"vigap_result_journal", 1}, {"identity", kIdentity}}));

  { const ResultJournal closed = std::move(resumed); }  // a journal is locked while open
  write_all(path, "");  // an empty file has no header either
  ResultJournal::resume(path, kIdentity, &report, false);
  EXPECT_TRUE(report.header_damaged);
  EXPECT_EQ(report.lines_dropped, 0);
}

TEST(ResultJournal, AJournalInUseIsRefused) {
  TemporaryDirectory dir;
  const std::string path = dir.file("run.journal");
  ResultJournal open = ResultJournal::create(path, kIdentity, /*durable=*/false);
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (attempt == 0) ResultJournal::resume(path, kIdentity, nullptr, false);
      else ResultJournal::create(path, kIdentity, false);
      FAIL() << "a journal open for appending was reopened";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("in use by another running process"), std::string::npos) << e.what();
    }
  }
}

TEST(ResultJournal, ResumeOfAnotherRunIsRefusedNamingEachDifference) {
  TemporaryDirectory dir;
  const std::string path = dir.file("run.journal");
  ResultJournal::create(path, kIdentity, false).append(0, payload(0));
  json other = kIdentity;
  other["configuration"]["ais"]["steps"] = 2000;
  other["checkpoint_sha256"] = "cd34";
  other["configuration"].erase("seed");
  const std::string before = read_all(path);
  expect_throw_message<std::invalid_argument>(
      [&] { ResultJournal::resume(path, other, nullptr, false); },
      {path, "records another run", "checkpoint_sha256: recorded \"ab12\", now \"cd34\"",
       "configuration.ais.steps: recorded 1000, now 2000", "configuration.seed: recorded 7, now absent"});
  EXPECT_EQ(read_all(path), before);  // a refused resume changes nothing
}

TEST(ResultJournal, DescribeJsonDifferencesIsEmptyForEqualDocuments) {
  EXPECT_TRUE(describe_json_differences(kIdentity, kIdentity).empty());
  EXPECT_EQ(describe_json_differences(json{{"a", {1, 2}}}, json{{"a", {1, 3}}}),
            std::vector<std::string>{"a: recorded [1,2], now [1,3]"});
  EXPECT_EQ(describe_json_differences(json{{"b", 1}}, json{{"a", 1}}),
            (std::vector<std::string>{"a: recorded absent, now 1", "b: recorded 1, now absent"}));
}

TEST(ResultJournal, MissingFileResumesAsANewJournal) {
  TemporaryDirectory dir;
  const std::string path = dir.file("new.journal");
  ResultJournalResumeReport report;
  ResultJournal journal = ResultJournal::resume(path, kIdentity, &report, false);
  EXPECT_TRUE(journal.records().empty());
  EXPECT_FALSE(report.header_damaged);
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(ResultJournal, BadAppendsAndRemove) {
  TemporaryDirectory dir;
  const std::string path = dir.file("run.journal");
  ResultJournal journal = ResultJournal::create(path, kIdentity);  // durable: fdatasync on each append
  journal.append(3, payload(3));
  expect_throw_message<std::invalid_argument>([&] { journal.append(3, payload(4)); }, {path, "unit 3", "already recorded"});
  expect_throw_message<std::invalid_argument>([&] { journal.append(-1, payload(4)); }, {path, "negative"});
  journal.remove();
  EXPECT_FALSE(std::filesystem::exists(path));
  expect_throw_message<std::runtime_error>([&] { journal.append(4, payload(4)); }, {path, "closed"});
  expect_throw_message<std::runtime_error>([&] { ResultJournal::create(dir.file("no-dir/x.journal"), kIdentity); },
                                           {"no-dir/x.journal"});
}

TEST(ResultJournal, DuplicateUnitKeepsTheFirstRecord) {
  TemporaryDirectory dir;
  const std::string path = dir.file("run.journal");
  ResultJournal::create(path, kIdentity, false).append(0, payload(0));
  write_all(path, read_all(path) + format_journal_line(json{{"unit", 0}, {"payload", payload(5)}}));
  ResultJournalResumeReport report;
  ResultJournal resumed = ResultJournal::resume(path, kIdentity, &report, false);
  EXPECT_EQ(report.duplicates_dropped, 1);
  EXPECT_EQ(resumed.records().at(0), payload(0));
}

TEST(ResultJournal, ParseJournalLineRejectsMalformedLines) {
  const std::string good = format_journal_line(json{{"unit", 1}, {"payload", 2}});
  EXPECT_EQ(parse_journal_line(good.substr(0, good.size() - 1)), (json{{"unit", 1}, {"payload", 2}}));
  for (const std::string& bad : {std::string(""), std::string("0000000"), std::string("zzzzzzzz {}"),
                                std::string("00000000 {}"), std::string("ABCDEF01 {}")})
    EXPECT_TRUE(parse_journal_line(bad).is_discarded()) << bad;
}

}  // namespace
}  // namespace vigap
