#include "core/variational/local_posterior_fit.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace vigap {

void LocalFitOptions::validate() const {
  gaussian.validate();
  flow.validate();
}

void LocalFitOptions::validate(PosteriorFamily family) const {
  switch (family) {
    case PosteriorFamily::ffg:
    case PosteriorFamily::full: gaussian.validate(); return;
    case PosteriorFamily::flow: flow.validate(); return;
    case PosteriorFamily::amortized: break;
  }
  throw std::invalid_argument("fit_local_posterior: family '" + vigap::to_string(family) +
                              "' is not fitted per datapoint; expected one of " +
                              describe_posterior_families(local_posterior_families()));
}

nlohmann::ordered_json LocalFitOptions::to_json() const {
  return {{"gaussian", gaussian.to_json()}, {"flow", flow.to_json()}};
}

const PosteriorApproximation& LocalPosteriorFitResult::approximation() const {
  return std::visit([](const auto& q) -> const PosteriorApproximation& { return q; }, fitted);
}

namespace {

template <typename Q>
const Q& fitted_as(const LocalPosteriorFitResult& fit, PosteriorFamily expected, const char* accessor) {
  if (fit.family != expected || !std::holds_alternative<Q>(fit.fitted))
    throw std::invalid_argument(std::string("LocalPosteriorFitResult::") + accessor + ": the fit is of family '" +
                                vigap::to_string(fit.family) + "', not '" + vigap::to_string(expected) + "'");
  return std::get<Q>(fit.fitted);
}

/// What every family's optimizer reports, in the fit's terms.
struct FitRecord {
  VectorD objective, objective_standard_error;
  std::vector<Index> iterations;
  std::vector<bool> stopped_by_rule;
  bool all_stopped_by_rule;
  Index steps;
  StartOrBestSelection selection;
  Index selection_samples;
  double seconds;
};

void record(LocalPosteriorFitResult& fit, FitRecord r) {
  fit.final_objective = std::move(r.objective);
  fit.final_objective_standard_error = std::move(r.objective_standard_error);
  fit.iterations = std::move(r.iterations);
  fit.stopped_by_rule = std::move(r.stopped_by_rule);
  fit.all_stopped_by_rule = r.all_stopped_by_rule;
  fit.steps = r.steps;
  fit.selection = std::move(r.selection);
  fit.selection_decoder_evaluations = 2 * r.selection_samples;
  fit.seconds = r.seconds;
}

/// The Gaussian families' fit: per datapoint b, steps_taken_b gradient steps of S draws and one
/// check of check_samples draws at every check step up to its last (steps_taken_b).
LocalPosteriorFitResult from_gaussian(LocalGaussianOptimizationResult r, PosteriorFamily family,
                                      const LocalOptimizationOptions& options) {
  LocalPosteriorFitResult fit(family, std::visit([](auto& q) {
                          return std::variant<DiagonalGaussian, FullCovarianceGaussian, FlowPosterior>(std::move(q));
                        }, r.optimized));
  const std::vector<Index> check_steps = r.check_steps;
  record(fit, {std::move(r.best_check_elbo), std::move(r.decision_standard_error), std::move(r.steps_taken),
               std::move(r.stopped_by_rule), r.all_stopped_by_rule, r.steps, std::move(r.selection),
               options.selection_samples, r.seconds});
  for (Index taken : fit.iterations) {
    const Index checks = std::count_if(check_steps.begin(), check_steps.end(), [&](Index s) { return s <= taken; });
    fit.decoder_evaluations.push_back(taken * options.samples_per_step + checks * options.check_samples +
                                      fit.selection_decoder_evaluations);
  }
  fit.gradient_evaluations = r.gradient_evaluations;
  return fit;
}

/// The flow's fit: every datapoint is evaluated at every step of the batch (S draws each).
LocalPosteriorFitResult from_flow(LocalFlowOptimizationResult r, const LocalFlowOptions& options) {
  LocalPosteriorFitResult fit(PosteriorFamily::flow, std::move(r.approximation));
  const Index B = static_cast<Index>(r.stopped_at_step.size());
  record(fit, {std::move(r.best_window_elbo), std::move(r.decision_standard_error), std::move(r.stopped_at_step),
               std::move(r.stopped_by_rule), r.converged, r.steps, std::move(r.selection), options.selection_samples,
               r.seconds});
  fit.decoder_evaluations.assign(static_cast<size_t>(B), r.steps * options.samples + fit.selection_decoder_evaluations);
  fit.gradient_evaluations = B * r.steps * options.samples;
  return fit;
}

}  // namespace

const DiagonalGaussian& LocalPosteriorFitResult::diagonal() const {
  return fitted_as<DiagonalGaussian>(*this, PosteriorFamily::ffg, "diagonal");
}
const FullCovarianceGaussian& LocalPosteriorFitResult::full_covariance() const {
  return fitted_as<FullCovarianceGaussian>(*this, PosteriorFamily::full, "full_covariance");
}
const FlowPosterior& LocalPosteriorFitResult::flow() const {
  return fitted_as<FlowPosterior>(*this, PosteriorFamily::flow, "flow");
}

Index LocalPosteriorFitResult::total_decoder_evaluations() const {
  return std::accumulate(decoder_evaluations.begin(), decoder_evaluations.end(), Index{0});
}

Index LocalPosteriorFitResult::fit_decoder_evaluations() const {
  return total_decoder_evaluations() - static_cast<Index>(decoder_evaluations.size()) * selection_decoder_evaluations;
}

LocalPosteriorFitResult fit_local_posterior(const GenerativeModel& model, const MatrixF& X, PosteriorFamily family,
                                            const DiagonalGaussian& start, const LocalFitOptions& options,
                                            const RandomStreams& streams, const ProgressReporter& progress) {
  options.validate(family);
  if (family == PosteriorFamily::flow)
    return from_flow(optimize_local_flow(model, X, start, options.flow, streams, progress), options.flow);
  LocalOptimizationOptions gaussian = options.gaussian;
  gaussian.family =
      family == PosteriorFamily::ffg ? LocalGaussianFamily::diagonal : LocalGaussianFamily::full_covariance;
  return from_gaussian(optimize_local_gaussian(model, X, start, gaussian, streams, progress), family, gaussian);
}

}  // namespace vigap
