#include "estimators/kl_divergence.hpp"

#include <stdexcept>
#include <string>

namespace vigap {

namespace {

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
  // The ELBO estimate is unbiased for the ELBO: the KL errs as the log p(x) estimate does.
  e.bias_direction = bias_of_difference(log_marginal_likelihood.bias_direction, BiasDirection::unbiased);
  e.bias_note = "log p(x) by " + log_marginal_likelihood.estimator + " (" + to_string(log_marginal_likelihood.bias_direction) +
                ") minus an unbiased ELBO estimate";
  e.per_datapoint = log_marginal_likelihood.per_datapoint - elbo.per_datapoint;
  e.per_datapoint_standard_error =
      (standard_errors_or_zero(log_marginal_likelihood).array().square() + standard_errors_or_zero(elbo).array().square())
          .sqrt()
          .matrix();
  e.samples_per_datapoint = log_marginal_likelihood.samples_per_datapoint + elbo.samples_per_datapoint;
  e.seconds = log_marginal_likelihood.seconds + elbo.seconds;
  e.settings["formula"] = "log p(x) - ELBO(q)";
  e.settings["log_marginal_likelihood"] = {{"estimator", log_marginal_likelihood.estimator},
                                           {"bias_direction", to_string(log_marginal_likelihood.bias_direction)},
                                           {"settings", log_marginal_likelihood.settings}};
  e.settings["elbo"] = {{"estimator", elbo.estimator}, {"settings", elbo.settings}};
  e.summarize();
  return e;
}

}  // namespace vigap
