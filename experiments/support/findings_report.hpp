#pragma once
// The findings report (scripts/run_report.sh, vigap-report): the four studies' across-seeds JSON
// turned into one Markdown file a reader opens, each question in a sentence, the answer the
// numbers give in a sentence, a table and a picture. Every figure the text prints is cited: the
// report keeps, for each, the file and JSON pointer it was read from (or the two per-seed series
// a paired difference was computed from), so a test can check that every number in the report
// comes from the JSON it was generated from.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace vigap {

/// Where one printed figure comes from.
struct ReportCitation {
  std::string printed;  ///< the text as it appears in the report, e.g. "-268.86"
  /// "value": the number at `pointers[0]` of `file`; "paired_difference": the paired difference
  /// across seeds (paired_difference_across_seeds) of the per-seed series at pointers[0] minus
  /// pointers[1] (each an across-seeds summary: its "per_seed"), of which `statistic` is printed.
  std::string kind = "value";
  std::string file;                   ///< a JSON file of the report's directory
  std::vector<std::string> pointers;  ///< RFC 6901 JSON pointers into `file`
  std::string statistic;              ///< paired_difference: mean, standard_error, low or high
  int decimals = 2;                   ///< printed with printf("%.*f", decimals, value)

  nlohmann::ordered_json to_json() const;
  static ReportCitation from_json(const nlohmann::ordered_json& j);
};

/// The value a citation stands for, recomputed from `documents` (file name -> parsed JSON).
/// Throws std::invalid_argument when the file, a pointer or a number is missing.
double cited_value(const ReportCitation& citation, const std::map<std::string, nlohmann::ordered_json>& documents);

/// printf("%.*f") of value with `decimals` decimals ("-0.00" printed as "0.00").
std::string format_cited(double value, int decimals);

/// What the report is made from.
struct FindingsReportInputs {
  /// The studies' across-seeds documents by file name (objective-comparison.json,
  /// estimator-variance.json, aggregate-posterior-z2.json, aggregate-posterior-z20.json,
  /// hmc-vs-vi.json) and the replicates' documents they list (e.g. objective-comparison.seed-1.json);
  /// a study whose document is missing gets a section saying it was not run.
  std::map<std::string, nlohmann::ordered_json> documents;
  /// Wall seconds of each stage of scripts/run_report.sh (stages.tsv), in order; may be empty.
  std::vector<std::pair<std::string, double>> stage_seconds;
  bool png = false;            ///< the binary writes a PNG copy of every picture (rsvg-convert): the report links them
  std::string size = "full";  ///< run_report.sh --size: the report says when its figures mean nothing (tiny)
};

/// The report.
struct FindingsReport {
  std::string markdown;                                     ///< index.md
  std::vector<std::pair<std::string, std::string>> pictures;  ///< file name (e.g. "objective-comparison-seeds.svg"), SVG text
  std::vector<ReportCitation> citations;                    ///< in the order their figures appear in `markdown`
  /// {"citations": [...]}: citations.json beside index.md.
  nlohmann::ordered_json citations_json() const;
};

/// Builds the report. Throws std::invalid_argument when a present document lacks what its section
/// reads (naming the file and the JSON pointer).
FindingsReport build_findings_report(const FindingsReportInputs& inputs);

/// The check the test suite makes, here for the binary to make before it writes: every citation
/// reproduces its printed text from `documents`; the printed texts occur in `markdown` in the
/// citations' order; and, with them removed, no decimal number (digits '.' digits) is left in
/// `markdown` outside code spans and blocks. Returns the problems found (empty: none).
std::vector<std::string> check_report_citations(const std::string& markdown, const std::vector<ReportCitation>& citations,
                                                const std::map<std::string, nlohmann::ordered_json>& documents);

}  // namespace vigap
