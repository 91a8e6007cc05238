#include "experiments/support/findings_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "analyses/across_seeds.hpp"
#include "core/io/markdown_table.hpp"
#include "experiments/support/svg_plot.hpp"

namespace vigap {

using Json = nlohmann::ordered_json;

Json ReportCitation::to_json() const {
  Json j = {{"printed", printed}, {"kind", kind}, {"file", file}, {"pointers", pointers}, {"decimals", decimals}};
  if (!statistic.empty()) j["statistic"] = statistic;
  return j;
}

ReportCitation ReportCitation::from_json(const Json& j) {
  ReportCitation c;
  c.printed = j.at("printed").get<std::string>();
  c.kind = j.at("kind").get<std::string>();
  c.file = j.at("file").get<std::string>();
  c.pointers = j.at("pointers").get<std::vector<std::string>>();
  c.statistic = j.value("statistic", std::string());
  c.decimals = j.at("decimals").get<int>();
  return c;
}

std::string format_cited(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  std::string s = buffer;
  if (s.size() > 1 && s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);  // -0.00
  return s;
}

namespace {

const Json& document_of(const std::map<std::string, Json>& documents, const std::string& file) {
  const auto it = documents.find(file);
  if (it == documents.end()) throw std::invalid_argument("report: no document " + file);
  return it->second;
}

const Json& node_at(const std::map<std::string, Json>& documents, const std::string& file, const std::string& pointer) {
  const Json& d = document_of(documents, file);
  const Json::json_pointer p(pointer);
  if (!d.contains(p)) throw std::invalid_argument("report: " + file + " has nothing at " + pointer);
  return d.at(p);
}

double number_at(const std::map<std::string, Json>& documents, const std::string& file, const std::string& pointer) {
  const Json& n = node_at(documents, file, pointer);
  if (!n.is_number()) throw std::invalid_argument("report: " + file + " at " + pointer + " is not a number: " + n.dump());
  return n.get<double>();
}

std::vector<double> per_seed_at(const std::map<std::string, Json>& documents, const std::string& file,
                                const std::string& pointer) {
  const Json& n = node_at(documents, file, pointer + "/per_seed");
  std::vector<double> values;
  for (const Json& v : n) {
    if (!v.is_number())
      throw std::invalid_argument("report: " + file + " at " + pointer + "/per_seed holds a non-number: " + v.dump());
    values.push_back(v.get<double>());
  }
  return values;
}

double statistic_of(const AcrossSeeds& a, const std::string& statistic) {
  if (statistic == "mean") return a.mean;
  if (statistic == "standard_error") return a.standard_error;
  if (statistic == "low") return a.interval_low;
  if (statistic == "high") return a.interval_high;
  throw std::invalid_argument("report: unknown statistic '" + statistic + "'");
}

}  // namespace

double cited_value(const ReportCitation& c, const std::map<std::string, Json>& documents) {
  if (c.kind == "value") {
    if (c.pointers.size() != 1) throw std::invalid_argument("report: a value citation has one pointer");
    return number_at(documents, c.file, c.pointers[0]);
  }
  if (c.kind == "paired_difference") {
    if (c.pointers.size() != 2) throw std::invalid_argument("report: a paired difference has two pointers");
    return statistic_of(paired_difference_across_seeds(per_seed_at(documents, c.file, c.pointers[0]),
                                                       per_seed_at(documents, c.file, c.pointers[1])),
                        c.statistic);
  }
  throw std::invalid_argument("report: unknown citation kind '" + c.kind + "'");
}

Json FindingsReport::citations_json() const {
  Json list = Json::array();
  for (const ReportCitation& c : citations) list.push_back(c.to_json());
  return {{"citations", list}};
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// The markdown with code blocks (``` fences) and code spans (`...`) blanked out.
std::string without_code(const std::string& markdown) {
  std::string out = markdown;
  bool fence = false;
  std::size_t line_start = 0;
  while (line_start < out.size()) {
    std::size_t line_end = out.find('\n', line_start);
    if (line_end == std::string::npos) line_end = out.size();
    const bool is_fence = out.compare(line_start, 3, "```") == 0;
    if (fence || is_fence) {
      for (std::size_t i = line_start; i < line_end; ++i) out[i] = ' ';
      if (is_fence) fence = !fence;
    } else {
      bool span = false;
      for (std::size_t i = line_start; i < line_end; ++i) {
        if (out[i] == '`') {
          span = !span;
          out[i] = ' ';
        } else if (span) {
          out[i] = ' ';
        }
      }
    }
    line_start = line_end + 1;
  }
  return out;
}

/// The first occurrence of `token` in `text` that is a whole number (no digit, '.' or '-' before
/// it, no digit or '.' after it), or npos.
std::size_t find_number(const std::string& text, const std::string& token) {
  for (std::size_t at = text.find(token); at != std::string::npos; at = text.find(token, at + 1)) {
    const bool clean_before = at == 0 || !(is_digit(text[at - 1]) || text[at - 1] == '.' || text[at - 1] == '-');
    const std::size_t end = at + token.size();
    const bool clean_after = end >= text.size() ||
                             !(is_digit(text[end]) || (text[end] == '.' && end + 1 < text.size() && is_digit(text[end + 1])));
    if (clean_before && clean_after) return at;
  }
  return std::string::npos;
}

}  // namespace

std::vector<std::string> check_report_citations(const std::string& markdown, const std::vector<ReportCitation>& citations,
                                                const std::map<std::string, Json>& documents) {
  std::vector<std::string> problems;
  std::string text = without_code(markdown);
  for (const ReportCitation& c : citations) {
    try {
      const std::string again = format_cited(cited_value(c, documents), c.decimals);
      if (again != c.printed)
        problems.push_back("'" + c.printed + "' (" + c.file + " " + c.pointers.front() + ") recomputes to '" + again + "'");
    } catch (const std::exception& e) {
      problems.push_back("'" + c.printed + "': " + e.what());
    }
    const std::size_t at = find_number(text, c.printed);
    if (at == std::string::npos) {
      problems.push_back("'" + c.printed + "' (" + c.file + " " + c.pointers.front() + ") is not in the report text");
      continue;
    }
    text.replace(at, c.printed.size(), std::string(c.printed.size(), '#'));
  }
  for (std::size_t i = 0; i + 2 < text.size(); ++i)
    if (is_digit(text[i]) && text[i + 1] == '.' && is_digit(text[i + 2])) {
      std::size_t start = i;
      while (start > 0 && (is_digit(text[start - 1]) || text[start - 1] == '-')) --start;
      std::size_t end = i + 2;
      while (end < text.size() && is_digit(text[end])) ++end;
      problems.push_back("uncited figure '" + text.substr(start, end - start) + "' in the report text");
      i = end;
    }
  return problems;
}

namespace {

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"};

/// Builds the Markdown and records a citation for every figure it prints.
class ReportWriter {
 public:
  explicit ReportWriter(const std::map<std::string, Json>& documents) : documents_(documents) {}

  bool has(const std::string& file) const { return documents_.count(file) > 0; }
  bool has(const std::string& file, const std::string& pointer) const {
    return has(file) && documents_.at(file).contains(Json::json_pointer(pointer));
  }
  const Json& node(const std::string& file, const std::string& pointer) const {
    return node_at(documents_, file, pointer);
  }
  double number(const std::string& file, const std::string& pointer) const { return number_at(documents_, file, pointer); }
  std::vector<double> per_seed(const std::string& file, const std::string& summary) const {
    return per_seed_at(documents_, file, summary);
  }
  AcrossSeeds paired(const std::string& file, const std::string& a, const std::string& b) const {
    return paired_difference_across_seeds(per_seed(file, a), per_seed(file, b));
  }

  /// The number at `pointer`, printed and cited.
  std::string value(const std::string& file, const std::string& pointer, int decimals) {
    ReportCitation c;
    c.file = file;
    c.pointers = {pointer};
    c.decimals = decimals;
    c.printed = format_cited(number(file, pointer), decimals);
    citations_.push_back(c);
    return c.printed;
  }
  /// Of an across-seeds summary at `summary`: its mean; mean ± s.e.; its 95 % interval "[low, high]".
  std::string mean(const std::string& file, const std::string& summary, int decimals) {
    return value(file, summary + "/mean", decimals);
  }
  std::string mean_se(const std::string& file, const std::string& summary, int decimals) {
    const std::string m = mean(file, summary, decimals);
    return m + " ± " + value(file, summary + "/standard_error_across_seeds", decimals);
  }
  std::string interval(const std::string& file, const std::string& summary, int decimals) {
    const std::string low = value(file, summary + "/interval_95/0", decimals);
    return "[" + low + ", " + value(file, summary + "/interval_95/1", decimals) + "]";
  }
  /// "mean<unit> (95 % interval [low, high])", unit e.g. " nats" or "".
  std::string mean_interval(const std::string& file, const std::string& summary, int decimals,
                            const std::string& unit = "") {
    const std::string m = mean(file, summary, decimals);
    return m + unit + " (95 % interval " + interval(file, summary, decimals) + ")";
  }
  /// One statistic of the paired difference a - b across seeds, printed and cited.
  std::string paired_statistic(const std::string& file, const std::string& a, const std::string& b,
                               const std::string& statistic, int decimals) {
    ReportCitation c;
    c.kind = "paired_difference";
    c.file = file;
    c.pointers = {a, b};
    c.statistic = statistic;
    c.decimals = decimals;
    c.printed = format_cited(statistic_of(paired(file, a, b), statistic), decimals);
    citations_.push_back(c);
    return c.printed;
  }
  std::string paired_mean_interval(const std::string& file, const std::string& a, const std::string& b, int decimals,
                                   const std::string& unit = "") {
    const std::string m = paired_statistic(file, a, b, "mean", decimals);
    const std::string low = paired_statistic(file, a, b, "low", decimals);
    return m + unit + " (95 % interval [" + low + ", " + paired_statistic(file, a, b, "high", decimals) + "])";
  }

  /// The Markdown of picture <stem>.svg, with a link to its PNG copy when there are PNG copies.
  std::string picture(const std::string& alt, const std::string& stem) const {
    return "![" + alt + "](" + stem + ".svg)\n" + (png ? "\n(PNG: [" + stem + ".png](" + stem + ".png))\n" : "") + "\n";
  }

  std::ostringstream out;
  bool png = false;  ///< the pictures also get PNG copies
  std::vector<ReportCitation> take_citations() { return std::move(citations_); }

 private:
  const std::map<std::string, Json>& documents_;
  std::vector<ReportCitation> citations_;
};

/// One row of a forest plot: a mean with its 95 % interval and the per-seed values.
struct ForestRow {
  std::string label;
  double mean = 0.0, low = 0.0, high = 0.0;
  std::vector<double> per_seed;
  std::string color = kColors[0];
};

ForestRow forest_row(const ReportWriter& w, const std::string& file, const std::string& summary, const std::string& label,
                     const std::string& color) {
  ForestRow r;
  r.label = label;
  r.mean = w.number(file, summary + "/mean");
  r.low = w.number(file, summary + "/interval_95/0");
  r.high = w.number(file, summary + "/interval_95/1");
  r.per_seed = w.per_seed(file, summary);
  r.color = color;
  return r;
}

/// A panel of horizontal rows: each mean (dot), 95 % interval (bar) and per-seed values (small
/// open marks), with dashed reference lines at `references`.
void draw_forest_panel(svg::Document& doc, double left, double top, double width, const std::string& title,
                       const std::string& x_label, const std::vector<ForestRow>& rows,
                       const std::vector<double>& references) {
  const double row_height = 26.0, height = row_height * static_cast<double>(rows.size()) + 10.0;
  double low = std::numeric_limits<double>::infinity(), high = -low;
  for (const ForestRow& r : rows) {
    low = std::min({low, r.low, r.mean});
    high = std::max({high, r.high, r.mean});
    for (double v : r.per_seed) low = std::min(low, v), high = std::max(high, v);
  }
  for (double ref : references) low = std::min(low, ref), high = std::max(high, ref);
  if (!std::isfinite(low) || !std::isfinite(high)) low = 0.0, high = 1.0;
  if (!(high > low)) high = low + 1.0;
  const double margin = 0.06 * (high - low);
  const svg::Frame f = svg::make_frame(left, top, width, height, low - margin, high + margin);
  doc.text(left, top - 10, title, 13, "start", 0.0, "#000000", "bold");
  doc.rect(left, top, width, height, "#ffffff", "#000000", 1.0);
  const std::vector<double> ticks = svg::nice_ticks(f.x_min, f.x_max, 6);
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
  for (double t : ticks) {
    doc.line(f.px(t), top, f.px(t), top + height, "#e6e6e6", 1.0);
    doc.text(f.px(t), top + height + 15, svg::format_tick(t, step), 11, "middle");
  }
  for (double ref : references) doc.line(f.px(ref), top, f.px(ref), top + height, "#555555", 1.2, "5,3");
  doc.text(left + width / 2, top + height + 32, x_label, 12, "middle");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const ForestRow& r = rows[i];
    const double y = top + 5.0 + row_height * (static_cast<double>(i) + 0.5);
    doc.text(left - 8, y + 4, r.label, 11, "end");
    doc.line(f.px(r.low), y, f.px(r.high), y, r.color, 2.0);
    doc.line(f.px(r.low), y - 5, f.px(r.low), y + 5, r.color, 2.0);
    doc.line(f.px(r.high), y - 5, f.px(r.high), y + 5, r.color, 2.0);
    for (double v : r.per_seed) doc.circle(f.px(v), y - 8, 2.2, r.color, 0.55);
    doc.circle(f.px(r.mean), y, 4.5, r.color);
  }
}

double forest_panel_height(std::size_t rows) { return 26.0 * static_cast<double>(rows) + 10.0; }

/// One curve of a line panel: (x, y) points, optionally with a 95 % band (low, high).
struct Curve {
  std::string label, color, dash;
  std::vector<double> x, y, low, high;
  double width = 1.8, opacity = 1.0;
  bool in_legend = true;
};

void draw_line_panel(svg::Document& doc, double left, double top, double width, double height, const std::string& title,
                     const std::string& x_label, const std::string& y_label, const std::vector<Curve>& curves,
                     bool log_x) {
  const auto tx = [log_x](double x) { return log_x ? std::log10(x) : x; };
  double x_low = std::numeric_limits<double>::infinity(), x_high = -x_low, y_low = x_low, y_high = -x_low;
  for (const Curve& c : curves)
    for (std::size_t i = 0; i < c.x.size(); ++i) {
      x_low = std::min(x_low, tx(c.x[i]));
      x_high = std::max(x_high, tx(c.x[i]));
      y_low = std::min(y_low, c.low.empty() ? c.y[i] : c.low[i]);
      y_high = std::max(y_high, c.high.empty() ? c.y[i] : c.high[i]);
    }
  if (!std::isfinite(x_low)) x_low = 0.0, x_high = 1.0, y_low = 0.0, y_high = 1.0;
  if (!(x_high > x_low)) x_high = x_low + 1.0;
  if (!(y_high > y_low)) y_high = y_low + 1.0;
  const svg::Frame f =
      svg::make_frame(left, top, width, height, x_low - 0.04 * (x_high - x_low), x_high + 0.04 * (x_high - x_low),
                      y_low - 0.05 * (y_high - y_low), y_high + 0.05 * (y_high - y_low));
  doc.text(left, top - 10, title, 13, "start", 0.0, "#000000", "bold");
  doc.rect(left, top, width, height, "#ffffff", "#000000", 1.0);
  const std::vector<double> y_ticks = svg::nice_ticks(f.y_min, f.y_max, 6);
  const double y_step = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1.0;
  for (double t : y_ticks) {
    doc.line(left, f.py(t), left + width, f.py(t), "#e6e6e6", 1.0);
    doc.text(left - 6, f.py(t) + 4, svg::format_tick(t, y_step), 11, "end");
  }
  if (log_x) {
    for (double e = std::ceil(x_low - 1e-9); e <= x_high + 1e-9; e += 1.0) {
      doc.line(f.px(e), top, f.px(e), top + height, "#e6e6e6", 1.0);
      char label[32];
      std::snprintf(label, sizeof label, "1e%d", static_cast<int>(e));
      doc.text(f.px(e), top + height + 15, label, 11, "middle");
    }
  } else {
    const std::vector<double> x_ticks = svg::nice_ticks(f.x_min, f.x_max, 6);
    const double x_step = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1.0;
    for (double t : x_ticks) doc.text(f.px(t), top + height + 15, svg::format_tick(t, x_step), 11, "middle");
  }
  doc.text(left + width / 2, top + height + 32, x_label, 12, "middle");
  doc.text(left - 52, top + height / 2, y_label, 12, "middle", -90.0);
  double legend_y = top + 14;
  doc.begin_clip(left, top, width, height);
  for (const Curve& c : curves) {
    std::vector<std::pair<double, double>> points;
    for (std::size_t i = 0; i < c.x.size(); ++i) points.emplace_back(f.px(tx(c.x[i])), f.py(c.y[i]));
    if (points.size() > 1) doc.polyline(points, c.color, c.width, false, c.dash);
    for (std::size_t i = 0; i < c.low.size(); ++i) {
      const double x = f.px(tx(c.x[i]));
      doc.line(x, f.py(c.low[i]), x, f.py(c.high[i]), c.color, 1.4);
    }
    if (points.size() == 1 || !c.low.empty())
      for (const auto& p : points) doc.circle(p.first, p.second, 3.0, c.color, c.opacity);
  }
  doc.end_clip();
  for (const Curve& c : curves) {
    if (!c.in_legend) continue;
    svg::draw_legend_entry(doc, left + width + 14, legend_y, c.color, c.dash, c.label);
    legend_y += 16;
  }
}

// ------------------------------------------------------------------------------------------
// 1. The objective comparison.

const char* kObjectiveComparison = "objective-comparison.json";

std::string model_pointer(std::size_t i) { return "/results/models/" + std::to_string(i); }

std::string training_phase(const Json& model) {
  return model.at("training").contains("encoder_and_decoder") ? "encoder_and_decoder" : "decoder";
}

std::string objective_label(const std::string& name) {
  if (name == "elbo") return "ELBO";
  if (name == "exact") return "exact log p(x)";
  if (name.rfind("iwae-", 0) == 0) return "IWAE-" + name.substr(5);
  return name;
}

/// "the seeds 1, 2, 3" from a document's "seeds".
std::string seed_list(const Json& document) {
  std::string s;
  for (const Json& v : document.at("seeds")) s += (s.empty() ? "" : ", ") + std::to_string(v.get<std::uint64_t>());
  return s;
}

/// The command that reproduces a study, from its seeds journal (when present), as a code block.
std::string reproduce_command(const std::map<std::string, Json>& documents, const std::string& file) {
  const auto it = documents.find(file + ".seeds-journal.json");
  if (it == documents.end()) return "";
  const Json& command = it->second.at("command");
  std::string line = "build/bin/" + command.at("binary").get<std::string>();
  for (const Json& a : command.at("arguments")) line += " " + a.get<std::string>();
  std::string seeds;
  for (const Json& s : command.at("seeds")) seeds += (seeds.empty() ? "" : ",") + std::to_string(s.get<std::uint64_t>());
  line += " --seeds " + seeds;
  for (auto o = command.at("outputs").begin(); o != command.at("outputs").end(); ++o)
    if (!o.value().get<std::string>().empty()) line += " " + o.key() + " " + o.value().get<std::string>();
  return "Reproduce (vigap " + std::string("`") + command.at("git_commit").get<std::string>() + "`):\n\n```\n" + line +
         "\n```\n\n";
}

/// "lower", "higher" or "not resolved" from an interval's position against 0.
enum class Sign { negative, positive, unresolved };
Sign sign_of(double low, double high) { return low > 0.0 ? Sign::positive : high < 0.0 ? Sign::negative : Sign::unresolved; }
Sign sign_of(const AcrossSeeds& a) { return sign_of(a.interval_low, a.interval_high); }

/// In how many seeds a summarized boolean is true: a boolean equal in every seed is kept as is by
/// the across-seeds summary (all or none), otherwise the node is {"per_seed": [...]}.
std::size_t seeds_where(const Json& node, std::size_t seeds) {
  if (node.is_boolean()) return node.get<bool>() ? seeds : 0;
  std::size_t count = 0;
  for (const Json& v : node.at("per_seed")) count += v.is_boolean() && v.get<bool>();
  return count;
}

/// Writes the section's heading and question; false (after a "not run" line) when `present` is.
bool begin_section(ReportWriter& w, const std::string& heading, const std::string& question, bool present,
                   const std::string& missing) {
  w.out << "## " << heading << "\n\n*Question.* " << question << "\n\n";
  if (!present) w.out << "*Not run* (no " << missing << ").\n\n";
  return present;
}

void objective_comparison_section(ReportWriter& w, const std::map<std::string, Json>& documents,
                                  std::vector<std::pair<std::string, std::string>>& pictures) {
  const std::string f = kObjectiveComparison;
  std::ostringstream& out = w.out;
  if (!begin_section(w, "1. Does training by the ELBO hold the generative model back?",
                     "Since log p(x) = ELBO + KL(q ‖ p(z|x)), a decoder trained by the ELBO is rewarded for posteriors "
                     "its encoder can fit; trained by the exact marginal likelihood, it is not. Does the exact-likelihood "
                     "decoder reach a higher log p(x), once every model is trained to convergence, and are its "
                     "posteriors harder for Gaussians?",
                     w.has(f), f))
    return;
  const Json& doc = documents.at(f);
  const Json& models = doc.at("results").at("models");
  std::size_t exact = models.size(), iwae = models.size();
  for (std::size_t i = 0; i < models.size(); ++i) {
    const std::string name = models[i].at("objective").get<std::string>();
    if (name == "exact") exact = i;
    if (name.rfind("iwae-", 0) == 0 && iwae == models.size()) iwae = i;
  }
  const std::string first_label = objective_label(models[0].at("objective").get<std::string>());
  const std::size_t seeds = doc.at("seeds").size();
  const bool early = doc.at("configuration").contains("early_stopping");
  // Early stopping ended the training of every model in every seed (else some ran to the maximum).
  std::size_t stopped = 0, runs = 0;
  if (early)
    for (const Json& m : models)
      for (auto phase = m.at("training").begin(); phase != m.at("training").end(); ++phase)
        if (phase.value().contains("stopped_early")) {
          stopped += seeds_where(phase.value().at("stopped_early"), seeds);
          runs += seeds;
        }
  const bool converged = early && stopped == runs;
  const bool qstar = models[0].contains("qstar_subset");
  // The answer.
  out << "*Answer.* ";
  if (exact < models.size()) {
    const std::string delta = model_pointer(exact) + "/test_log_px_minus_first_objective/value";
    const Sign s = sign_of(w.number(f, delta + "/interval_95/0"), w.number(f, delta + "/interval_95/1"));
    out << (s == Sign::positive   ? "Yes: "
            : s == Sign::negative ? "No, the reverse: "
                                  : "Not resolved by these runs: ")
        << "the decoder trained by the exact likelihood has a test log p(x) "
        << (s == Sign::unresolved ? "that differs from" : s == Sign::positive ? "above" : "below") << " the "
        << first_label << "-trained one's by " << w.mean_interval(f, delta, 2, " nats") << ", paired over " << seeds
        << " seeds";
    out << (converged ? ", each model trained until its validation objective stopped improving"
                      : ", with training that had not converged (see below: read this as a finding at this training "
                        "length, not at convergence)")
        << ". ";
    if (iwae < models.size())
      out << objective_label(models[iwae].at("objective").get<std::string>()) << " training differs from "
          << first_label << " training by "
          << w.mean_interval(f, model_pointer(iwae) + "/test_log_px_minus_first_objective/value", 2, " nats") << ". ";
    if (qstar) {
      const std::string a = model_pointer(exact) + "/qstar_subset/ffg/approximation_gap/value";
      const std::string b = model_pointer(0) + "/qstar_subset/ffg/approximation_gap/value";
      const AcrossSeeds gap = w.paired(f, a, b);
      const Sign g = sign_of(gap);
      out << "Its posteriors are "
          << (g == Sign::positive   ? "harder"
              : g == Sign::negative ? "easier"
                                    : "not measurably harder or easier")
          << " for a diagonal Gaussian: KL(q*_FFG ‖ p(z|x)) of the exact model minus the " << first_label
          << " model's is " << w.paired_mean_interval(f, a, b, 3, " nats") << ". ";
      out << "The conjecture that a worse divergence always comes with a worse log p(x) is ";
      if (s == Sign::positive && g == Sign::positive)
        out << "contradicted: the exact-likelihood decoder has both the higher log p(x) and the larger divergence.";
      else if ((s == Sign::positive && g == Sign::negative) || (s == Sign::negative && g == Sign::positive))
        out << "consistent with these models: the decoder with the better log p(x) also has the smaller divergence.";
      else
        out << "not decided by these runs: at least one of the two differences has an interval that includes 0.";
    }
  } else {
    out << "No exact-likelihood model was trained (objectives " << doc.at("configuration").at("objectives").get<std::string>()
        << "), so the question is not answered here.";
  }
  out << "\n\n";
  if (early) {
    out << "Training: at most " << doc.at("configuration").at("epochs").get<int>() << " epochs, early stopping after "
        << doc.at("configuration").at("early_stopping").at("patience").get<int>()
        << " epochs without a new best validation objective (the best epoch's parameters kept); the epoch kept, mean "
           "over seeds: ";
    for (std::size_t i = 0; i < models.size(); ++i) {
      const std::string phase = training_phase(models[i]);
      out << (i ? ", " : "") << objective_label(models[i].at("objective").get<std::string>()) << " "
          << w.mean(f, model_pointer(i) + "/training/" + phase + "/kept_epoch", 1);
    }
    out << ". Early stopping ended " << stopped << " of the " << runs << " training runs (models, and the exact "
        << "model's encoder fit, times seeds)";
    out << (converged ? "." : "; the others reached the maximum number of epochs still improving.") << "\n\n";
  }
  // The table.
  std::vector<std::string> header = {"objective", "test log p(x)", "Δ test log p(x) vs " + first_label + " [95 %]",
                                     "train log p(x)", "KL(q ‖ p(z|x))"};
  if (qstar) header.insert(header.end(), {"KL(q*_FFG ‖ p(z|x))", "KL(q*_full ‖ p(z|x))", "amortization gap (FFG)"});
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < models.size(); ++i) {
    const std::string m = model_pointer(i);
    std::vector<std::string> row = {objective_label(models[i].at("objective").get<std::string>()),
                                    w.mean_se(f, m + "/test_log_px/value", 2)};
    if (i == 0) {
      row.push_back("(reference)");
    } else {
      const std::string d = m + "/test_log_px_minus_first_objective/value";
      const std::string mean = w.mean(f, d, 2);
      row.push_back(mean + " " + w.interval(f, d, 2));
    }
    row.push_back(w.mean_se(f, m + "/train_log_px/value", 2));
    row.push_back(w.mean_se(f, m + "/test_kl_amortized/value", 3));
    if (qstar) {
      row.push_back(w.mean_se(f, m + "/qstar_subset/ffg/approximation_gap/value", 3));
      row.push_back(w.has(f, m + "/qstar_subset/full") ? w.mean_se(f, m + "/qstar_subset/full/approximation_gap/value", 3)
                                                      : "");
      row.push_back(w.mean_se(f, m + "/qstar_subset/ffg/amortization_gap/value", 3));
    }
    rows.push_back(row);
  }
  out << markdown_table(header, rows) << "\n";
  out << "Mean over " << seeds << " seeds (" << seed_list(doc) << ") ± standard error across seeds; every figure exact "
      << "(adaptive quadrature) on " << doc.at("configuration").at("test_eval_points").get<long>() << " test points ("
      << doc.at("configuration").at("qstar_points").get<long>() << " for q*); Δ is the paired difference on the same "
      << "test points, summarized across seeds (Student's t). Decoder 2";
  for (const nlohmann::ordered_json& h : doc.at("configuration").at("architecture").at("decoder_hidden"))
    out << "-" << h.get<long>();
  out << "-" << doc.at("configuration").at("architecture").at("data_dim").get<long>() << ", trained on "
      << doc.at("configuration").at("train_size").get<long>() << " images of "
      << doc.at("dataset").at("train").at("name").get<std::string>() << ".\n\n";

  // Picture: the figures across seeds.
  {
    std::vector<ForestRow> delta, kl, gap;
    for (std::size_t i = 0; i < models.size(); ++i) {
      const std::string m = model_pointer(i), label = objective_label(models[i].at("objective").get<std::string>());
      const std::string color = kColors[i % 8];
      if (i > 0) delta.push_back(forest_row(w, f, m + "/test_log_px_minus_first_objective/value", label, color));
      kl.push_back(forest_row(w, f, m + "/test_kl_amortized/value", label, color));
      if (qstar) gap.push_back(forest_row(w, f, m + "/qstar_subset/ffg/approximation_gap/value", label, color));
    }
    const double left = 130, width = 330, gap_x = 150;
    const double height = 70 + forest_panel_height(std::max<std::size_t>(models.size(), 1)) + 60;
    svg::Document d(left + 3 * width + 2 * gap_x + 20, height);
    d.rect(0, 0, d.width(), d.height(), "#ffffff");
    d.text(14, 22, "Objective comparison over seeds: mean (dot), 95 % interval (bar), seeds (small dots)", 14, "start",
           0.0, "#000000", "bold");
    if (!delta.empty())
      draw_forest_panel(d, left, 60, width, "test log p(x) minus the " + first_label + " model's", "nats", delta, {0.0});
    draw_forest_panel(d, left + width + gap_x, 60, width, "KL(q ‖ p(z|x)), amortized q", "nats", kl, {});
    if (!gap.empty())
      draw_forest_panel(d, left + 2 * (width + gap_x), 60, width, "KL(q*_FFG ‖ p(z|x))", "nats", gap, {});
    pictures.emplace_back("objective-comparison-seeds.svg", d.str());
    out << w.picture("Objective comparison over seeds", "objective-comparison-seeds");
  }
  // Picture: along training, from the replicates' trajectories.
  bool trajectory = false;
  std::vector<Curve> log_px, qstar_kl;
  const Json& replicates = doc.at("across_seeds").at("replicate_results");
  for (std::size_t r = 0; r < replicates.size(); ++r) {
    const std::string file = std::filesystem::path(replicates[r].at("out").get<std::string>()).filename().string();
    const auto it = documents.find(file);
    if (it == documents.end()) continue;
    const Json& rm = it->second.at("results").at("models");
    for (std::size_t i = 0; i < rm.size(); ++i) {
      if (!rm[i].contains("trajectory")) continue;
      trajectory = true;
      Curve a, b;
      a.label = b.label = objective_label(rm[i].at("objective").get<std::string>());
      a.color = b.color = kColors[i % 8];
      a.width = b.width = 1.3;
      a.in_legend = b.in_legend = r == 0;
      for (const Json& e : rm[i].at("trajectory").at("epochs")) {
        a.x.push_back(e.at("epoch").get<double>());
        b.x.push_back(e.at("epoch").get<double>());
        a.y.push_back(e.at("test_log_px").at("value").get<double>());
        b.y.push_back(e.at("kl_qstar_ffg").at("value").get<double>());
      }
      log_px.push_back(a);
      qstar_kl.push_back(b);
    }
  }
  if (trajectory) {
    svg::Document d(2 * 420 + 3 * 90 + 120, 430);
    d.rect(0, 0, d.width(), d.height(), "#ffffff");
    d.text(14, 22, "Along training (one line per seed; exact, on the first test points)", 14, "start", 0.0, "#000000",
           "bold");
    draw_line_panel(d, 90, 60, 420, 320, "test log p(x)", "epoch", "nats", log_px, false);
    draw_line_panel(d, 90 + 420 + 150, 60, 420, 320, "KL(q*_FFG ‖ p(z|x))", "epoch", "nats", qstar_kl, false);
    pictures.emplace_back("objective-comparison-training.svg", d.str());
    out << "Along training, exact log p(x) and KL(q*_FFG ‖ p(z|x)) after every epoch (the decoder's epochs for the "
           "exact model), one line per seed, on the first "
        << doc.at("configuration").at("trajectory").at("points").get<long>() << " test points:\n\n"
        << w.picture("Along training", "objective-comparison-training");
  }
  out << reproduce_command(documents, f);
}

// ------------------------------------------------------------------------------------------
// 2. Estimator variance.

void estimator_variance_section(ReportWriter& w, const std::map<std::string, Json>& documents,
                                std::vector<std::pair<std::string, std::string>>& pictures) {
  const std::string f = "estimator-variance.json";
  std::ostringstream& out = w.out;
  if (!begin_section(w, "2. Is a single-sample ELBO good enough?",
                     "Training uses one reparameterized sample per datapoint. How noisy are the ELBO and its gradients "
                     "at S = 1, how fast does more sampling help, and what does the IWAE bound's K do to the "
                     "gradients' signal-to-noise ratio (Rainforth et al. 2018)?",
                     w.has(f), f))
    return;
  const Json& doc = documents.at(f);
  const std::string slopes = "/results/log_log_slopes/";
  const std::string s1 = "/results/elbo_vs_samples/0/";
  const std::size_t seeds = doc.at("seeds").size();
  const std::string z = std::to_string(doc.at("configuration").at("architecture").at("latent_dim").get<long>());
  out << "*Answer.* ";
  out << "On z = " << z << " models (one trained per seed, " << seeds << " seeds), the ELBO estimate's variance falls "
      << "as S^b with b = " << w.mean_interval(f, slopes + "elbo_variance_analytic_kl_vs_S", 2)
      << " (independent samples give b = -1). At S = 1 the encoder gradient's signal-to-noise ratio, mean over "
      << "parameters, is " << w.mean_interval(f, s1 + "elbo_analytic_kl/encoder/mean_snr/value", 2)
      << " (sticking the landing: " << w.mean(f, s1 + "elbo_stl/encoder/mean_snr/value", 2) << "), the decoder's "
      << w.mean(f, s1 + "elbo_analytic_kl/decoder/mean_snr/value", 2) << "; ";
  const Sign snr = sign_of(w.number(f, s1 + "elbo_analytic_kl/encoder/mean_snr/value/interval_95/0") - 1.0,
                          w.number(f, s1 + "elbo_analytic_kl/encoder/mean_snr/value/interval_95/1") - 1.0);
  out << (snr == Sign::negative
              ? "so at one sample the encoder's gradient is mostly noise, which averaging over a minibatch and over "
                "steps must remove."
          : snr == Sign::positive ? "so one sample already gives more signal than noise per parameter on average."
                                  : "whether that is above or below 1 (signal equal to noise) the seeds do not resolve.")
      << " With IWAE-K the encoder's SNR changes as K^c, c = "
      << w.mean_interval(f, slopes + "encoder_mean_snr_reparameterized_vs_K", 2) << " (Rainforth et al.: -1/2), "
      << "with the doubly reparameterized gradient c = " << w.mean_interval(f, slopes + "encoder_mean_snr_dreg_vs_K", 2)
      << ", and the decoder's c = " << w.mean_interval(f, slopes + "decoder_mean_snr_vs_K", 2)
      << " (Rainforth et al.: +1/2).\n\n";
  struct Slope {
    const char* key;
    const char* label;
  };
  const Slope rows_spec[] = {{"elbo_variance_analytic_kl_vs_S", "Var ELBO estimate vs S"},
                             {"encoder_total_variance_analytic_kl_vs_S", "encoder gradient variance vs S"},
                             {"encoder_total_variance_stl_vs_S", "encoder gradient variance vs S (STL)"},
                             {"decoder_total_variance_vs_S", "decoder gradient variance vs S"},
                             {"encoder_mean_snr_reparameterized_vs_K", "encoder SNR vs K (IWAE)"},
                             {"encoder_mean_snr_stl_vs_K", "encoder SNR vs K (IWAE, STL)"},
                             {"encoder_mean_snr_dreg_vs_K", "encoder SNR vs K (IWAE, DReG)"},
                             {"decoder_mean_snr_vs_K", "decoder SNR vs K (IWAE)"}};
  std::vector<std::vector<std::string>> rows;
  std::vector<ForestRow> forest;
  for (const Slope& s : rows_spec) {
    const std::string p = slopes + s.key;
    if (!w.has(f, p)) continue;
    const std::string m = w.mean_se(f, p, 2);
    rows.push_back({s.label, m, w.interval(f, p, 2)});
    forest.push_back(forest_row(w, f, p, s.label, kColors[forest.size() < 4 ? 0 : 1]));
  }
  out << markdown_table({"log-log slope", "mean ± s.e. across seeds", "95 % interval"}, rows) << "\n";
  out << "Slopes of log-log least-squares fits over S = ";
  for (std::size_t i = 0; i < doc.at("results").at("elbo_vs_samples").size(); ++i)
    out << (i ? ", " : "") << static_cast<long>(w.number(f, "/results/elbo_vs_samples/" + std::to_string(i) + "/S/mean"));
  out << " and K = ";
  for (std::size_t i = 0; i < doc.at("results").at("iwae_vs_samples").size(); ++i)
    out << (i ? ", " : "") << static_cast<long>(w.number(f, "/results/iwae_vs_samples/" + std::to_string(i) + "/K/mean"));
  out << "; variances from " << doc.at("configuration").value("replicates", Json(0)).dump()
      << " replicates per datapoint.\n\n";
  svg::Document d(700, 70 + forest_panel_height(forest.size()) + 60);
  d.rect(0, 0, d.width(), d.height(), "#ffffff");
  d.text(14, 22, "Log-log slopes over seeds (dashed: -1, -1/2, +1/2)", 14, "start", 0.0, "#000000", "bold");
  draw_forest_panel(d, 270, 60, 400, "S: ELBO samples, K: IWAE samples", "slope", forest, {-1.0, -0.5, 0.5});
  pictures.emplace_back("estimator-variance-seeds.svg", d.str());
  out << w.picture("Estimator variance over seeds", "estimator-variance-seeds");
  out << reproduce_command(documents, f);
}

// ------------------------------------------------------------------------------------------
// 3. The aggregate posterior.

void aggregate_posterior_section(ReportWriter& w, const std::map<std::string, Json>& documents,
                                 std::vector<std::pair<std::string, std::string>>& pictures) {
  std::ostringstream& out = w.out;
  const std::vector<std::pair<std::string, std::string>> files = {{"aggregate-posterior-z2.json", "2-D (exact)"},
                                                                  {"aggregate-posterior-z20.json", "z = 20 (Monte Carlo)"}};
  if (!begin_section(w, "3. Does the prior p(z) match the aggregate posterior q(z)?",
                     "The ELBO's mean KL term splits as E_n KL(q(z|x_n) ‖ p(z)) = I[n; z] + KL(q(z) ‖ p(z)) (Hoffman "
                     "& Johnson 2016), where q(z) = (1/N) Σ_n q(z|x_n). How much of it is the prior's mismatch with the "
                     "aggregate posterior, and how much the information the code carries (at most log N)?",
                     w.has(files[0].first) || w.has(files[1].first), files[0].first + " or " + files[1].first))
    return;
  std::vector<std::vector<std::string>> rows;
  std::vector<ForestRow> forest;
  std::string answer;
  for (const auto& [f, label] : files) {
    if (!w.has(f)) continue;
    const Json& splits = documents.at(f).at("results").at("splits");
    for (auto s = splits.begin(); s != splits.end(); ++s) {
      const std::string base = "/results/splits/" + s.key() + "/";
      const std::string method = s.value().contains("quadrature") ? "quadrature" : "monte_carlo";
      const std::string m = base + method + "/";
      std::vector<std::string> row = {label, s.key(), w.mean_se(f, base + "mean_kl_to_prior", 2),
                                      w.mean_se(f, m + "mutual_information/value", 2),
                                      w.mean(f, base + "mutual_information_upper_bound_log_n", 2),
                                      w.mean_se(f, m + "aggregate_kl_to_prior/value", 2),
                                      w.mean_se(f, m + "identity_residual/value", 3)};
      rows.push_back(row);
      forest.push_back(
          forest_row(w, f, m + "aggregate_kl_to_prior/value", label + ", " + s.key() + ": KL(q(z) ‖ p(z))", kColors[0]));
      forest.push_back(forest_row(w, f, m + "mutual_information/value", label + ", " + s.key() + ": I[n; z]", kColors[2]));
    }
    if (splits.contains("test")) {
      const std::string base = "/results/splits/test/";
      const std::string m = base + (splits.at("test").contains("quadrature") ? "quadrature/" : "monte_carlo/");
      answer += std::string(answer.empty() ? "" : " ") + "For the " + label + " models, KL(q(z) ‖ p(z)) on the test set is " +
                w.mean_interval(f, m + "aggregate_kl_to_prior/value", 2, " nats") + " of the mean KL term " +
                w.mean(f, base + "mean_kl_to_prior", 2) + ", and I[n; z] = " + w.mean(f, m + "mutual_information/value", 2) +
                " (log N = " + w.mean(f, base + "mutual_information_upper_bound_log_n", 2) + ").";
    }
  }
  out << "*Answer.* " << answer
      << " Where KL(q(z) ‖ p(z)) is far from 0 the prior does not match the aggregate posterior: samples from p(z) fall "
         "where the decoder has seen few codes, and a learned prior could recover those nats.\n\n";
  out << markdown_table({"models", "split", "mean KL(q(z|x) ‖ p(z))", "I[n; z]", "log N", "KL(q(z) ‖ p(z))",
                         "identity residual"},
                        rows)
      << "\n";
  out << "Mean ± standard error across seeds (one model trained per seed). The residual of the identity mean KL = I + "
         "KL(q(z) ‖ p(z)), each side computed on its own, checks the computation.\n\n";
  svg::Document d(780, 70 + forest_panel_height(forest.size()) + 60);
  d.rect(0, 0, d.width(), d.height(), "#ffffff");
  d.text(14, 22, "KL(q(z) ‖ p(z)) (blue) and I[n; z] (green) over seeds", 14, "start", 0.0, "#000000", "bold");
  draw_forest_panel(d, 330, 60, 400, "by models and split", "nats", forest, {0.0});
  pictures.emplace_back("aggregate-posterior-seeds.svg", d.str());
  out << w.picture("Aggregate posterior over seeds", "aggregate-posterior-seeds");
  for (const auto& [f, label] : files)
    if (w.has(f)) out << reproduce_command(documents, f);
}

// ------------------------------------------------------------------------------------------
// 4. HMC against VI.

void hmc_vs_vi_section(ReportWriter& w, const std::map<std::string, Json>& documents,
                       std::vector<std::pair<std::string, std::string>>& pictures) {
  const std::string f = "hmc-vs-vi.json";
  std::ostringstream& out = w.out;
  if (!begin_section(w, "4. Is HMC worth its cost?",
                     "Given the same number of decoder evaluations per datapoint, does HMC describe the exact "
                     "posterior better than the best Gaussian and flow fits, and from which budget on?",
                     w.has(f), f))
    return;
  const Json& doc = documents.at(f);
  const Json& posterior = doc.at("results").at("posterior");
  struct Method {
    const char* key;
    const char* label;
    const char* measure;
  };
  const Method methods[] = {{"hmc", "HMC", "total_variation"},
                            {"hmc", "exact draws, as many as HMC's", "iid_exact_draws_total_variation"},
                            {"q_star_diagonal", "q*, diagonal Gaussian", "total_variation"},
                            {"q_star_full_covariance", "q*, full-covariance Gaussian", "total_variation"},
                            {"local_flow", "q*, local flow", "total_variation"}};
  const std::size_t budgets = posterior.at("hmc").size();
  std::vector<std::string> header = {"budget (decoder evaluations)"};
  for (const Method& m : methods) header.push_back(m.label);
  std::vector<std::vector<std::string>> rows;
  std::vector<Curve> curves;
  for (std::size_t mi = 0; mi < std::size(methods); ++mi) {
    Curve c;
    c.label = methods[mi].label;
    c.color = kColors[mi];
    c.dash = mi == 1 ? "4,3" : "";
    curves.push_back(c);
  }
  for (std::size_t b = 0; b < budgets; ++b) {
    const std::string budget_pointer = "/results/posterior/hmc/" + std::to_string(b) + "/budget";
    std::vector<std::string> row = {w.mean(f, budget_pointer, 0)};
    for (std::size_t mi = 0; mi < std::size(methods); ++mi) {
      const std::string p = "/results/posterior/" + std::string(methods[mi].key) + "/" + std::to_string(b) + "/" +
                            methods[mi].measure + "/mean";
      if (!w.has(f, p)) {
        row.push_back("");
        continue;
      }
      row.push_back(w.mean_se(f, p, 3));
      curves[mi].x.push_back(w.number(f, budget_pointer + "/mean"));
      curves[mi].y.push_back(w.number(f, p + "/mean"));
      curves[mi].low.push_back(w.number(f, p + "/interval_95/0"));
      curves[mi].high.push_back(w.number(f, p + "/interval_95/1"));
    }
    rows.push_back(row);
  }
  // The answer: the smallest budget from which HMC's interval lies below every variational fit's.
  out << "*Answer.* ";
  std::size_t first_better = budgets;
  for (std::size_t b = budgets; b-- > 0;) {
    const std::string i = std::to_string(b);
    const double hmc_high = w.number(f, "/results/posterior/hmc/" + i + "/total_variation/mean/interval_95/1");
    bool better = true;
    for (const char* key : {"q_star_diagonal", "q_star_full_covariance", "local_flow"}) {
      const std::string p = "/results/posterior/" + std::string(key) + "/" + i + "/total_variation/mean/interval_95/0";
      if (w.has(f, p) && !(hmc_high < w.number(f, p))) better = false;
    }
    if (!better) break;
    first_better = b;
  }
  const std::string last = std::to_string(budgets - 1);
  const std::string tv = "/total_variation/mean";
  out << "At the largest budget, " << w.mean(f, "/results/posterior/hmc/" + last + "/budget", 0)
      << " decoder evaluations per datapoint, HMC's total variation to the exact posterior is "
      << w.mean_interval(f, "/results/posterior/hmc/" + last + tv, 3) << ", against "
      << w.mean(f, "/results/posterior/q_star_full_covariance/" + last + tv, 3) << " for the full-covariance q* and "
      << w.mean(f, "/results/posterior/local_flow/" + last + tv, 3) << " for the local flow. ";
  {
    std::string best;
    double best_tv = std::numeric_limits<double>::infinity();
    for (const Method& m : methods) {
      if (std::string(m.measure) != "total_variation") continue;
      const std::string p = "/results/posterior/" + std::string(m.key) + "/" + last + tv + "/mean";
      if (w.has(f, p) && w.number(f, p) < best_tv) best_tv = w.number(f, p), best = m.label;
    }
    out << "Lowest there: " << best << ". ";
  }
  if (first_better < budgets)
    out << "HMC is better than every variational fit, beyond the seeds' spread, from "
        << w.mean(f, "/results/posterior/hmc/" + std::to_string(first_better) + "/budget", 0)
        << " decoder evaluations on.";
  else
    out << "At no budget is HMC better than every variational fit beyond the seeds' spread.";
  out << "\n\n" << markdown_table(header, rows) << "\n";
  out << "Binned total variation to p(z|x) (exact, on a grid), mean over datapoints, then mean ± standard error across "
         "seeds (one 2-D model trained per seed). \"Exact draws\" is the total variation of as many independent exact "
         "draws as HMC kept: the floor a sampler of that size can reach.\n\n";
  svg::Document d(980, 430);
  d.rect(0, 0, d.width(), d.height(), "#ffffff");
  d.text(14, 22, "Total variation to the exact posterior against the budget (95 % intervals over seeds)", 14, "start",
         0.0, "#000000", "bold");
  draw_line_panel(d, 90, 60, 560, 320, "binned total variation", "decoder evaluations per datapoint", "TV", curves, true);
  pictures.emplace_back("hmc-vs-vi-seeds.svg", d.str());
  out << w.picture("HMC against VI over seeds", "hmc-vs-vi-seeds");
  out << reproduce_command(documents, f);
}

}  // namespace

FindingsReport build_findings_report(const FindingsReportInputs& inputs) {
  FindingsReport report;
  ReportWriter w(inputs.documents);
  w.png = inputs.png;
  std::ostringstream& out = w.out;
  out << "# What vigap found\n\n";
  out << "Four questions of VAE practice, each answered by a vigap study run over seeds (a replicate per seed: its own "
         "training or fitted model and Monte Carlo draws), so every answer rests on the spread between independent "
         "runs. Every figure below is read from the JSON files beside this page (citations.json says where each one "
         "comes from); intervals are Student-t 95 % intervals across seeds.\n\n";
  if (inputs.size != "full")
    out << "**This is a `--size " << inputs.size << "` report: its runs are far too small for the figures to mean "
        << "anything; it exists to test the pipeline.**\n\n";
  for (const auto& [file, document] : inputs.documents)
    if (document.contains("git_commit") && document.contains("across_seeds")) {
      out << "Made by vigap `" << document.value("vigap_version", std::string()) << "` at commit `"
          << document.at("git_commit").get<std::string>() << "`.\n\n";
      break;
    }
  if (!inputs.stage_seconds.empty()) {
    double total = 0.0;
    std::vector<std::vector<std::string>> rows;
    for (const auto& [stage, seconds] : inputs.stage_seconds) {
      total += seconds;
      rows.push_back({stage, std::to_string(std::lround(seconds))});
    }
    out << "Run time of `scripts/run_report.sh --size " << inputs.size << "`: " << std::lround(total) << " s ("
        << std::lround(total / 60.0) << " min).\n\n";
    out << markdown_table({"stage", "wall seconds"}, rows) << "\n";
  }
  objective_comparison_section(w, inputs.documents, report.pictures);
  estimator_variance_section(w, inputs.documents, report.pictures);
  aggregate_posterior_section(w, inputs.documents, report.pictures);
  hmc_vs_vi_section(w, inputs.documents, report.pictures);
  report.markdown = out.str();
  report.citations = w.take_citations();
  return report;
}

}  // namespace vigap
