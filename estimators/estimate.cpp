#include "estimators/estimate.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "core/math/mean_and_standard_error.hpp"

namespace vigap {

void Estimate::summarize() {
  const Index B = per_datapoint.size();
  if (B == 0) throw std::invalid_argument("Estimate::summarize: no datapoints");
  if (per_datapoint_standard_error.size() == 0) per_datapoint_standard_error = VectorD::Zero(B);
  if (per_datapoint_standard_error.size() != B)
    throw std::invalid_argument("Estimate::summarize: " + std::to_string(per_datapoint_standard_error.size()) +
                                " standard errors for " + std::to_string(B) + " datapoints");
  const MeanAndStandardError stats = mean_and_standard_error(per_datapoint);
  value = stats.mean;
  dataset_standard_error = stats.standard_error;
  monte_carlo_standard_error = std::sqrt(per_datapoint_standard_error.squaredNorm()) / static_cast<double>(B);
}

nlohmann::ordered_json to_json(const Estimate& e, bool include_per_datapoint) {
  nlohmann::ordered_json j;
  j["estimator"] = e.estimator;
  j["bias_direction"] = to_string(e.bias_direction);
  j["bias_note"] = e.bias_note;
  j["value"] = e.value;
  // A standard error that cannot be estimated (one sample) is null, never NaN.
  const auto number_or_null = [](double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(); };
  j["monte_carlo_standard_error"] = number_or_null(e.monte_carlo_standard_error);
  j["dataset_standard_error"] = number_or_null(e.dataset_standard_error);
  j["num_datapoints"] = e.per_datapoint.size();
  j["samples_per_datapoint"] = e.samples_per_datapoint;
  j["settings"] = e.settings;
  if (include_per_datapoint) {
    j["per_datapoint"] = std::vector<double>(e.per_datapoint.data(), e.per_datapoint.data() + e.per_datapoint.size());
    nlohmann::ordered_json errors = nlohmann::ordered_json::array();
    for (Index b = 0; b < e.per_datapoint_standard_error.size(); ++b)
      errors.push_back(number_or_null(e.per_datapoint_standard_error(b)));
    j["per_datapoint_standard_error"] = errors;
  }
  return j;
}

Estimate difference_of_estimates(const Estimate& a, const Estimate& b, const std::string& estimator,
                                 BiasDirection bias_direction, const std::string& bias_note) {
  if (a.per_datapoint.size() != b.per_datapoint.size())
    throw std::invalid_argument("difference_of_estimates: " + a.estimator + " covers " +
                                std::to_string(a.per_datapoint.size()) + " datapoints, " + b.estimator + " " +
                                std::to_string(b.per_datapoint.size()));
  const auto errors = [](const Estimate& e) -> VectorD {
    if (e.per_datapoint_standard_error.size() == 0) return VectorD::Zero(e.per_datapoint.size());  // exact values
    if (e.per_datapoint_standard_error.size() != e.per_datapoint.size())
      throw std::invalid_argument("difference_of_estimates: " + e.estimator + " has " +
                                  std::to_string(e.per_datapoint_standard_error.size()) + " standard errors for " +
                                  std::to_string(e.per_datapoint.size()) + " datapoints");
    return e.per_datapoint_standard_error;
  };
  Estimate d;
  d.estimator = estimator;
  d.bias_direction = bias_direction;
  d.bias_note = bias_note;
  d.per_datapoint = a.per_datapoint - b.per_datapoint;
  d.per_datapoint_standard_error =
      (errors(a).array().square() + errors(b).array().square()).sqrt();
  d.samples_per_datapoint = std::max(a.samples_per_datapoint, b.samples_per_datapoint);
  d.summarize();
  return d;
}

}  // namespace vigap
