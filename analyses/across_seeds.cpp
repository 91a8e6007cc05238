#include "analyses/across_seeds.hpp"

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <cstdio>
#include <set>
#include <stdexcept>

namespace vigap {

std::vector<std::uint64_t> parse_seed_list(const std::string& text, std::uint64_t first, const std::string& option) {
  const auto bad = [&](const std::string& what) {
    return std::invalid_argument(option + ": expected a count of seeds (>= 2) or a comma-separated list of two or more " +
                                 "distinct seeds, found '" + text + "'" + (what.empty() ? "" : " (" + what + ")"));
  };
  if (text.empty()) throw bad("empty");
  std::vector<std::uint64_t> values;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos) throw bad("'" + item + "' is not a seed");
    try {
      values.push_back(std::stoull(item));
    } catch (const std::out_of_range&) {
      throw bad("'" + item + "' is out of range");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (values.size() == 1) {  // a count
    const std::uint64_t n = values.front();
    if (n < 2) throw bad("a count must be at least 2");
    if (n > 100000) throw bad("a count must be at most 100000");
    std::vector<std::uint64_t> seeds;
    for (std::uint64_t s = 0; s < n; ++s) seeds.push_back(first + s);
    return seeds;
  }
  if (std::set<std::uint64_t>(values.begin(), values.end()).size() != values.size()) throw bad("a seed is repeated");
  return values;
}

nlohmann::ordered_json AcrossSeeds::to_json() const {
  return {{"mean", mean},
          {"standard_error_across_seeds", standard_error},
          {"interval_95", {interval_low, interval_high}},
          {"per_seed", per_seed}};
}

AcrossSeeds summarize_across_seeds(const std::vector<double>& values) {
  if (values.empty()) throw std::invalid_argument("summarize_across_seeds: no replicates");
  AcrossSeeds r;
  r.per_seed = values;
  const double n = static_cast<double>(values.size());
  double sum = 0.0;
  for (double v : values) sum += v;
  r.mean = sum / n;
  r.interval_low = r.interval_high = r.mean;
  if (values.size() < 2) return r;
  double squares = 0.0;
  for (double v : values) squares += (v - r.mean) * (v - r.mean);
  r.standard_error = std::sqrt(squares / (n - 1.0) / n);
  const boost::math::students_t t(n - 1.0);
  const double half_width = boost::math::quantile(t, 0.975) * r.standard_error;
  r.interval_low = r.mean - half_width;
  r.interval_high = r.mean + half_width;
  return r;
}

AcrossSeeds paired_difference_across_seeds(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.empty())
    throw std::invalid_argument("paired_difference_across_seeds: expected two equal, non-empty lists of replicates, found " +
                                std::to_string(a.size()) + " and " + std::to_string(b.size()));
  std::vector<double> d(a.size());
  for (std::size_t s = 0; s < a.size(); ++s) d[s] = a[s] - b[s];
  return summarize_across_seeds(d);
}

namespace {

nlohmann::ordered_json listed_per_seed(const std::vector<const nlohmann::ordered_json*>& nodes) {
  nlohmann::ordered_json per_seed = nlohmann::ordered_json::array();
  for (const nlohmann::ordered_json* n : nodes) per_seed.push_back(*n);
  return {{"per_seed", per_seed}};
}

bool skipped_key(const std::string& key) { return key.rfind("per_datapoint", 0) == 0; }

nlohmann::ordered_json summarize_at(const std::vector<const nlohmann::ordered_json*>& nodes) {
  const nlohmann::ordered_json& first = *nodes.front();
  bool same_type = true, same_size = true;
  for (const nlohmann::ordered_json* node : nodes) {
    same_type = same_type && (node->type() == first.type() || (node->is_number() && first.is_number()));
    same_size = same_size && node->size() == first.size();
  }
  if (!same_type) return listed_per_seed(nodes);  // e.g. a standard error null in one replicate
  if (first.is_number()) {
    std::vector<double> values;
    for (const nlohmann::ordered_json* node : nodes) values.push_back(node->get<double>());
    return summarize_across_seeds(values).to_json();
  }
  if (first.is_object()) {
    bool same_keys = same_size;
    for (const nlohmann::ordered_json* node : nodes)
      for (auto it = first.begin(); same_keys && it != first.end(); ++it) same_keys = node->contains(it.key());
    if (!same_keys) return listed_per_seed(nodes);
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (auto it = first.begin(); it != first.end(); ++it) {
      if (skipped_key(it.key())) continue;
      std::vector<const nlohmann::ordered_json*> children;
      for (const nlohmann::ordered_json* node : nodes) children.push_back(&node->at(it.key()));
      out[it.key()] = summarize_at(children);
    }
    return out;
  }
  if (first.is_array()) {
    if (!same_size) return listed_per_seed(nodes);  // e.g. training histories stopped at different epochs
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < first.size(); ++i) {
      std::vector<const nlohmann::ordered_json*> children;
      for (const nlohmann::ordered_json* node : nodes) children.push_back(&(*node)[i]);
      out.push_back(summarize_at(children));
    }
    return out;
  }
  // Strings, booleans, null: kept when every replicate agrees, else listed per seed.
  for (const nlohmann::ordered_json* node : nodes)
    if (*node != first) return listed_per_seed(nodes);
  return first;
}

/// The label of an array element in the Markdown rows: its "objective", "method", "family" or
/// "name" string when it has one, else its index.
std::string element_label(const nlohmann::ordered_json& element, std::size_t index) {
  if (element.is_object())
    for (const char* key : {"objective", "method", "family", "name", "label"})
      if (element.contains(key) && element.at(key).is_string()) return element.at(key).get<std::string>();
  return std::to_string(index);
}

bool is_summary(const nlohmann::ordered_json& node) {
  return node.is_object() && node.contains("mean") && node.contains("standard_error_across_seeds") &&
         node.contains("interval_95");
}

void markdown_rows(const nlohmann::ordered_json& node, const std::string& path, std::string& out) {
  if (!node.is_object() && !node.is_array()) return;
  if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i)
      markdown_rows(node[i], path + (path.empty() ? "" : "/") + element_label(node[i], i), out);
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it.key() == "value" && is_summary(it.value())) {
      const nlohmann::ordered_json& s = it.value();
      char row[320];
      std::snprintf(row, sizeof row, "| %s | %.4f | %.4f | [%.4f, %.4f] |\n", path.c_str(), s.at("mean").get<double>(),
                    s.at("standard_error_across_seeds").get<double>(), s.at("interval_95")[0].get<double>(),
                    s.at("interval_95")[1].get<double>());
      out += row;
    } else if (!is_summary(it.value())) {
      markdown_rows(it.value(), path + (path.empty() ? "" : "/") + it.key(), out);
    }
  }
}

}  // namespace

nlohmann::ordered_json summarize_results_across_seeds(const std::vector<nlohmann::ordered_json>& results) {
  if (results.empty()) throw std::invalid_argument("summarize_results_across_seeds: no replicates");
  std::vector<const nlohmann::ordered_json*> nodes;
  for (const nlohmann::ordered_json& r : results) nodes.push_back(&r);
  return summarize_at(nodes);
}

std::string across_seeds_markdown(const nlohmann::ordered_json& summary, std::size_t seeds) {
  std::string out = "| figure (mean over datapoints) | mean over " + std::to_string(seeds) +
                    " seeds | s.e. across seeds | 95 % interval (t) |\n|---|---|---|---|\n";
  markdown_rows(summary, "", out);
  return out;
}

}  // namespace vigap
