#include "estimators/kl_divergence.hpp"

#include <stdexcept>
#include <string>

namespace vigap {

namespace {

bool contains(const std::string& text, const std::string& fragment) { return text.find(fragment) != std::string::npos; }

std::string kl_bias_direction(const std::string& log_marginal_bias) {
  if (log_marginal_bias.rfind("exact", 0) == 0)
    return "unbiased (exact log p(x) minus an unbiased ELBO estimate)";
  if (contains(log_marginal_bias, "upper bound"))
    return "biased high (the log p(x) estimate is an upper bound: KL is overestimated)";
  if (contains(log_marginal_bias, "stochastic lower bound"))
    return "biased low (the log p(x) estimate is a stochastic lower bound: KL is underestimated)";
  if (contains(log_marginal_bias, "lower bound"))
    return "biased low (the log p(x) estimate is a lower bound: KL is underestimated by its gap)";
  return "inherits the bias of the log p(x) estimate (" + log_marginal_bias + ")";
}

void check_per_datapoint(const Estimate& e, const char* role) {
  if (e.per_datapoint.size() == 0)
    throw std::invalid_argument(std::string("kl_to_posterior_from_estimates: the ") + role +
                                " estimate has no per-datapoint values");
  if (e.per_datapoint_standard_error.size() != 0 && e.per_datapoint_standard_error.size() != e.per_datapoint.size())
    throw std::invalid_argument(std::string("kl_to_posterior_from_estimates: the ") + role + " estimate has " +
                                std::to_string(e.per_datapoint_standard_error.size()) + " standard errors for " +
                                std::to_string(e.per_datapoint.size()) + " datapoints");
}

VectorD standard_errors_or_zero(const Estimate& e) {
  return e.per_datapoint_standard_error.size() == 0 ? VectorD::Zero(e.per_datapoint.size())
                                                    : e.per_datapoint_standard_error;
}

}  // namespace

Estimate kl_to_posterior_from_estimates(const Estimate& log_marginal_likelihood, const Estimate& elbo) {
  check_per_datapoint(log_marginal_likelihood, "log p(x)");
  check_per_datapoint(elbo, "ELBO");
  if (log_marginal_likelihood.per_datapoint.size() != elbo.per_datapoint.size())
    throw std::invalid_argument("kl_to_posterior_from_estimates: the log p(x) estimate covers " +
                                std::to_string(log_marginal_likelihood.per_datapoint.size()) +
                                " datapoints, the ELBO estimate " + std::to_string(elbo.per_datapoint.size()));
  Estimate e;
  e.estimator = "kl_to_posterior";
  e.bias_direction = kl_bias_direction(log_marginal_likelihood.bias_direction);
  e.per_datapoint = log_marginal_likelihood.per_datapoint - elbo.per_datapoint;
  e.per_datapoint_standard_error =
      (standard_errors_or_zero(log_marginal_likelihood).array().square() + standard_errors_or_zero(elbo).array().square())
          .sqrt()
          .matrix();
  e.samples_per_datapoint = log_marginal_likelihood.samples_per_datapoint + elbo.samples_per_datapoint;
  e.seconds = log_marginal_likelihood.seconds + elbo.seconds;
  e.settings["formula"] = "log p(x) - ELBO(q)";
  e.settings["log_marginal_likelihood"] = {{"estimator", log_marginal_likelihood.estimator},
                                           {"bias_direction", log_marginal_likelihood.bias_direction},
                                           {"settings", log_marginal_likelihood.settings}};
  e.settings["elbo"] = {{"estimator", elbo.estimator}, {"settings", elbo.settings}};
  e.summarize();
  return e;
}

}  // namespace vigap
