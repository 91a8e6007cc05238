#include "estimators/estimate_concatenation.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/io/exact_json.hpp"

namespace vigap {

nlohmann::ordered_json estimate_block_to_json(const Estimate& e) {
  nlohmann::ordered_json j;
  j["estimator"] = e.estimator;
  j["bias_direction"] = to_string(e.bias_direction);
  j["bias_note"] = e.bias_note;
  j["per_datapoint"] = exact_json(e.per_datapoint);
  j["per_datapoint_standard_error"] = exact_json(e.per_datapoint_standard_error);
  j["samples_per_datapoint"] = e.samples_per_datapoint;
  j["seconds"] = exact_json(e.seconds);
  j["settings"] = e.settings;
  return j;
}

Estimate estimate_block_from_json(const nlohmann::ordered_json& j, const std::string& what) {
  const auto field = [&](const char* key) -> const nlohmann::ordered_json& {
    if (!j.is_object() || !j.contains(key)) throw std::invalid_argument(what + ": the estimate lacks \"" + key + "\"");
    return j[key];
  };
  Estimate e;
  try {
    e.estimator = field("estimator").get<std::string>();
    e.bias_direction = parse_bias_direction(field("bias_direction").get<std::string>());
    e.bias_note = field("bias_note").get<std::string>();
    e.samples_per_datapoint = field("samples_per_datapoint").get<Index>();
  } catch (const nlohmann::ordered_json::exception& x) {
    throw std::invalid_argument(what + ": an estimate field of the wrong type: " + x.what());
  }
  e.per_datapoint = exact_vector(nlohmann::json(field("per_datapoint")), what + ".per_datapoint");
  e.per_datapoint_standard_error =
      exact_vector(nlohmann::json(field("per_datapoint_standard_error")), what + ".per_datapoint_standard_error");
  e.seconds = exact_double(nlohmann::json(field("seconds")), what + ".seconds");
  e.settings = field("settings");
  // value and the standard errors are not sent: they are aggregates, recomputed from the values.
  if (e.per_datapoint.size() > 0) e.summarize();
  return e;
}

namespace {

bool is_count_key(const std::string& key) {
  return key == "unconverged_datapoints" || key == "stalled_datapoints" || key == "refined_passes_total" ||
         key == "gradient_evaluations";
}

nlohmann::ordered_json merge_key(const std::string& key, const std::vector<const nlohmann::ordered_json*>& values) {
  const nlohmann::ordered_json& first = *values.front();
  if (is_count_key(key) && first.is_number_integer()) {
    Index sum = 0;
    for (const auto* v : values) sum += v->get<Index>();
    return sum;
  }
  if (key.rfind("max_", 0) == 0 && first.is_number()) {
    nlohmann::ordered_json largest = first;
    for (const auto* v : values)
      if (v->is_number() && v->get<double>() > largest.get<double>()) largest = *v;
    return largest;
  }
  if (key == "datapoints_over_tolerance" && first.is_array()) {
    nlohmann::ordered_json joined = nlohmann::ordered_json::array();
    for (const auto* v : values)
      for (const auto& item : *v) joined.push_back(item);
    return joined;
  }
  if (first.is_object()) return merge_block_settings(values);
  for (const auto* v : values)
    if (*v != first)
      throw std::invalid_argument("concatenate_estimates: setting \"" + key + "\" differs between blocks (" + first.dump() +
                                  " and " + v->dump() + ") and has no merge rule: the result would depend on the split");
  return first;
}

}  // namespace

nlohmann::ordered_json merge_block_settings(const std::vector<const nlohmann::ordered_json*>& blocks) {
  if (blocks.empty()) throw std::invalid_argument("merge_block_settings: no blocks");
  nlohmann::ordered_json merged = nlohmann::ordered_json::object();
  for (auto it = blocks.front()->begin(); it != blocks.front()->end(); ++it) {
    std::vector<const nlohmann::ordered_json*> values;
    for (const auto* b : blocks) {
      if (!b->is_object() || !b->contains(it.key()))
        throw std::invalid_argument("concatenate_estimates: setting \"" + it.key() + "\" is missing in a block");
      values.push_back(&(*b)[it.key()]);
    }
    merged[it.key()] = merge_key(it.key(), values);
  }
  for (const auto* b : blocks)
    if (b->size() != merged.size())
      throw std::invalid_argument("concatenate_estimates: blocks have different settings keys");
  return merged;
}

Estimate concatenate_estimates(const std::vector<const Estimate*>& blocks) {
  if (blocks.empty()) throw std::invalid_argument("concatenate_estimates: no blocks");
  const Estimate& first = *blocks.front();
  Index total = 0;
  for (const Estimate* b : blocks) {
    if (b->estimator != first.estimator || b->bias_direction != first.bias_direction || b->bias_note != first.bias_note ||
        b->samples_per_datapoint != first.samples_per_datapoint)
      throw std::invalid_argument("concatenate_estimates: the blocks of " + first.estimator + " disagree on the estimator "
                                  "(" + b->estimator + "), its bias or samples_per_datapoint (" +
                                  std::to_string(first.samples_per_datapoint) + " and " +
                                  std::to_string(b->samples_per_datapoint) + ")");
    total += b->per_datapoint.size();
  }
  Estimate e;
  e.estimator = first.estimator;
  e.bias_direction = first.bias_direction;
  e.bias_note = first.bias_note;
  e.samples_per_datapoint = first.samples_per_datapoint;
  e.per_datapoint.resize(total);
  e.per_datapoint_standard_error.resize(total);
  Index at = 0;
  for (const Estimate* b : blocks) {
    const Index n = b->per_datapoint.size();
    e.per_datapoint.segment(at, n) = b->per_datapoint;
    e.per_datapoint_standard_error.segment(at, n) =
        b->per_datapoint_standard_error.size() == n ? b->per_datapoint_standard_error : VectorD::Zero(n);
    e.seconds += b->seconds;
    at += n;
  }
  std::vector<const nlohmann::ordered_json*> settings;
  for (const Estimate* b : blocks) settings.push_back(&b->settings);
  e.settings = merge_block_settings(settings);
  e.summarize();
  return e;
}

}  // namespace vigap
