// The findings report: scripts/run_report.sh --size tiny end to end on the synthetic data (every
// study over 2 seeds, then vigap-report), checked the way a reader would: every figure index.md
// prints is cited, and each citation, recomputed here from the JSON files beside it (a JSON
// pointer, or the paired difference of two per-seed series), gives the printed text; no decimal
// figure is left uncited; every picture it shows exists and is a complete SVG. The check fails on
// an altered JSON value and on an uncited figure (so it can fail), and vigap-report's bad input
// gets its messages and exit code 2.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

#include "analyses/across_seeds.hpp"
#include "experiments/support/findings_report.hpp"
#include "support/experiment_binary_test.hpp"

namespace vigap {
namespace {

using testing::TemporaryDirectory;

/// The tiny report, run once per test program into a directory that lives as long as it.
class TinyReport {
 public:
  static TinyReport& instance() {
    static TinyReport report;
    return report;
  }
  const testing::BinaryRun& run() const { return run_; }
  std::string dir() const { return directory_.path().string(); }

 private:
  TinyReport() {
    run_ = testing::run_command("VIGAP_REPORT_SKIP_SETUP=1 VIGAP_BIN_DIR=" + std::string(VIGAP_BINARY_DIR) + " bash " +
                                std::string(VIGAP_SOURCE_DIR) + "/scripts/run_report.sh --size tiny --threads 1" +
                                " --dataset idx --data-dir " + testing::ExperimentTestScratch::instance().data_directory() +
                                " --out-dir " + directory_.path().string());
  }
  TemporaryDirectory directory_;
  testing::BinaryRun run_;
};

std::map<std::string, nlohmann::ordered_json> json_files(const std::string& dir) {
  std::map<std::string, nlohmann::ordered_json> documents;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".json")
      documents[entry.path().filename().string()] =
          nlohmann::ordered_json::parse(testing::read_text(entry.path().string()));
  return documents;
}

/// A citation's value recomputed here, independently of the report's own code.
double recompute(const nlohmann::ordered_json& citation, const std::map<std::string, nlohmann::ordered_json>& documents) {
  const nlohmann::ordered_json& document = documents.at(citation.at("file").get<std::string>());
  const auto pointers = citation.at("pointers").get<std::vector<std::string>>();
  if (citation.at("kind") == "value") return document.at(nlohmann::ordered_json::json_pointer(pointers.at(0))).get<double>();
  EXPECT_EQ(citation.at("kind"), "paired_difference");
  const auto series = [&](const std::string& p) {
    return document.at(nlohmann::ordered_json::json_pointer(p + "/per_seed")).get<std::vector<double>>();
  };
  const AcrossSeeds d = paired_difference_across_seeds(series(pointers.at(0)), series(pointers.at(1)));
  const std::string statistic = citation.at("statistic").get<std::string>();
  return statistic == "mean" ? d.mean : statistic == "low" ? d.interval_low : statistic == "high" ? d.interval_high
                                                                                                    : d.standard_error;
}

std::string printf_decimals(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  std::string s = buffer;
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);
  return s;
}

void expect_check_finds_an_altered_value_and_an_uncited_figure(const std::string& dir);

// One test, so the tiny report runs once (ctest runs each test in its own process).
TEST(FindingsReport, TinyReportCitesEveryFigureFromItsJson) {
  const TinyReport& report = TinyReport::instance();
  ASSERT_EQ(report.run().exit_code, 0) << report.run().output;
  const std::string dir = report.dir();
  const std::string markdown = testing::read_text(dir + "/index.md");
  for (const char* heading : {"## 1. Does training by the ELBO hold the generative model back?",
                              "## 2. Is a single-sample ELBO good enough?",
                              "## 3. Does the prior p(z) match the aggregate posterior q(z)?", "## 4. Is HMC worth its cost?"})
    EXPECT_NE(markdown.find(heading), std::string::npos) << heading;
  EXPECT_EQ(markdown.find("*Not run*"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("--size tiny"), std::string::npos);

  const auto documents = json_files(dir);
  const nlohmann::ordered_json citations = documents.at("citations.json").at("citations");
  EXPECT_GT(citations.size(), 100u);
  // Code blocks and spans hold commands and versions, not findings.
  std::string text = std::regex_replace(markdown, std::regex("```[^`]*```"), " ");
  text = std::regex_replace(text, std::regex("`[^`\n]*`"), " ");
  for (const nlohmann::ordered_json& c : citations) {
    const std::string printed = c.at("printed").get<std::string>();
    SCOPED_TRACE(c.dump());
    EXPECT_EQ(printf_decimals(recompute(c, documents), c.at("decimals").get<int>()), printed);
    // The figure is in the text as a whole number (not inside a longer one); it is struck out.
    std::smatch m;
    const std::string escaped = std::regex_replace(printed, std::regex("[.\\-]"), "\\$&");
    ASSERT_TRUE(std::regex_search(text, m, std::regex("(^|[^0-9.\\-])(" + escaped + ")(?![0-9]|\\.[0-9])")));
    text.replace(static_cast<std::size_t>(m.position(2)), printed.size(), std::string(printed.size(), '#'));
  }
  std::smatch uncited;
  EXPECT_FALSE(std::regex_search(text, uncited, std::regex("[0-9]+\\.[0-9]+"))) << "uncited figure " << uncited.str();

  // Every picture shown exists and is complete; a PNG copy where rsvg-convert made one.
  const std::regex picture("!\\[[^\\]]*\\]\\(([^)]+)\\)");
  int pictures = 0;
  for (auto it = std::sregex_iterator(markdown.begin(), markdown.end(), picture); it != std::sregex_iterator(); ++it) {
    const std::string svg = testing::read_text(dir + "/" + (*it)[1].str());
    SCOPED_TRACE((*it)[1].str());
    ASSERT_GT(svg.size(), 500u);
    EXPECT_EQ(svg.rfind("<svg", 0), 0u);
    EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
    ++pictures;
  }
  EXPECT_EQ(pictures, 5);
  if (markdown.find("(PNG: [") != std::string::npos) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      if (entry.path().extension() == ".svg" && markdown.find("](" + name + ")") != std::string::npos) {
        EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(entry.path()).replace_extension(".png")))
            << entry.path();
      }
    }
  }

  // The report's own check (vigap-report runs it before writing) agrees, and it can fail.
  expect_check_finds_an_altered_value_and_an_uncited_figure(dir);
}

/// check_report_citations passes on the report as written and fails on an uncited figure and on a
/// JSON value altered after the report was written.
void expect_check_finds_an_altered_value_and_an_uncited_figure(const std::string& dir) {
  auto documents = json_files(dir);
  const std::string markdown = testing::read_text(dir + "/index.md");
  std::vector<ReportCitation> citations;
  for (const nlohmann::ordered_json& c : documents.at("citations.json").at("citations"))
    citations.push_back(ReportCitation::from_json(c));
  EXPECT_TRUE(check_report_citations(markdown, citations, documents).empty());

  // An uncited figure in the text.
  auto problems = check_report_citations(markdown + "\nAn extra 12.34 nats.\n", citations, documents);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("uncited figure '12.34'"), std::string::npos) << problems[0];
  // The same figure inside a code span is not a finding.
  EXPECT_TRUE(check_report_citations(markdown + "\n`--learning-rate 0.001`\n", citations, documents).empty());

  // A JSON value changed after the report was written: its citation no longer reproduces.
  const ReportCitation& first = citations.front();
  ASSERT_EQ(first.kind, "value");
  nlohmann::ordered_json& node = documents.at(first.file).at(nlohmann::ordered_json::json_pointer(first.pointers[0]));
  node = node.get<double>() + 1.0;
  problems = check_report_citations(markdown, citations, documents);
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].find("recomputes to"), std::string::npos) << problems[0];
}

TEST(FindingsReport, BadInputIsNamedWithExitCodeTwo) {
  TemporaryDirectory scratch;
  auto run = testing::run_binary("vigap-report", "");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--dir"), std::string::npos) << run.output;
  run = testing::run_binary("vigap-report", "--dir " + scratch.file("missing"));
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("is not a directory"), std::string::npos) << run.output;
  run = testing::run_binary("vigap-report", "--dir " + scratch.path().string());
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("holds none of the studies' results"), std::string::npos) << run.output;
  run = testing::run_binary("vigap-report", "--dir " + scratch.path().string() + " --size huge");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--size must be full or tiny, found 'huge'"), std::string::npos) << run.output;
  {
    std::ofstream(scratch.file("hmc-vs-vi.json")) << "{ not json";
  }
  run = testing::run_binary("vigap-report", "--dir " + scratch.path().string());
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("hmc-vs-vi.json: expected a JSON document"), std::string::npos) << run.output;
  {
    std::ofstream(scratch.file("hmc-vs-vi.json")) << "{\"results\": {}}";
  }
  run = testing::run_binary("vigap-report", "--dir " + scratch.path().string());
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("expected the result of a run over --seeds"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(scratch.file("index.md")));
  // The script's own arguments.
  run = testing::run_command("bash " + std::string(VIGAP_SOURCE_DIR) + "/scripts/run_report.sh --size huge");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--size must be full or tiny, found 'huge'"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace vigap
