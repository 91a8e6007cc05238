#include "estimators/annealed_importance_sampling.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/progress_reporter.hpp"
#include "samplers/hmc_transition.hpp"

namespace vigap {

AisStepSizeAdaptation parse_ais_step_size_adaptation(const std::string& name) {
  if (name == "none") return AisStepSizeAdaptation::none;
  if (name == "online") return AisStepSizeAdaptation::online;
  if (name == "pilot") return AisStepSizeAdaptation::pilot;
  throw std::invalid_argument("AIS step size adaptation: expected \"none\", \"online\" or \"pilot\", found \"" +
                              name + "\"");
}

std::string to_string(AisStepSizeAdaptation adaptation) {
  switch (adaptation) {
    case AisStepSizeAdaptation::none: return "none";
    case AisStepSizeAdaptation::online: return "online";
    case AisStepSizeAdaptation::pilot: return "pilot";
  }
  return "unknown";
}

void AisOptions::validate() const {
  auto fail = [](const std::string& option, const std::string& expected, double found) {
    std::ostringstream found_text;  // shortest form: 0, not 0.000000
    found_text << found;
    throw std::invalid_argument("AisOptions: " + option + " must be " + expected + ", found " + found_text.str());
  };
  if (num_annealing_steps < 1) fail("num_annealing_steps (T)", ">= 1", static_cast<double>(num_annealing_steps));
  if (chains < 1) fail("chains", ">= 1", static_cast<double>(chains));
  if (leapfrog_steps < 1) fail("leapfrog_steps", ">= 1", static_cast<double>(leapfrog_steps));
  if (!(initial_step_size > 0.0) || !std::isfinite(initial_step_size))
    fail("initial_step_size", "finite and > 0", initial_step_size);
  if (schedule == AnnealingSchedule::sigmoid && (!(sigmoid_radius > 0.0) || !std::isfinite(sigmoid_radius)))
    fail("sigmoid_radius", "finite and > 0", sigmoid_radius);
  if (!(target_acceptance > 0.0 && target_acceptance < 1.0)) fail("target_acceptance", "in (0, 1)", target_acceptance);
  if (!(step_size_increase > 1.0) || !std::isfinite(step_size_increase))
    fail("step_size_increase", "finite and > 1", step_size_increase);
  if (!(step_size_decrease > 0.0 && step_size_decrease < 1.0))
    fail("step_size_decrease", "in (0, 1)", step_size_decrease);
  if (!(acceptance_smoothing >= 0.0 && acceptance_smoothing < 1.0))
    fail("acceptance_smoothing", "in [0, 1)", acceptance_smoothing);
  if (!(min_step_size > 0.0) || !std::isfinite(min_step_size)) fail("min_step_size", "finite and > 0", min_step_size);
  if (!(max_step_size >= min_step_size) || !std::isfinite(max_step_size))
    fail("max_step_size", "finite and >= min_step_size", max_step_size);
  if (pilot_chains < 1) fail("pilot_chains", ">= 1", static_cast<double>(pilot_chains));
}

nlohmann::ordered_json AisOptions::to_json() const {
  nlohmann::ordered_json j = {{"schedule", to_string(schedule)},
                              {"num_annealing_steps", num_annealing_steps},
                              {"chains", chains},
                              {"leapfrog_steps", leapfrog_steps},
                              {"initial_step_size", initial_step_size},
                              {"step_size_adaptation", to_string(step_size_adaptation)},
                              {"target_acceptance", target_acceptance}};
  if (schedule == AnnealingSchedule::sigmoid) j["sigmoid_radius"] = sigmoid_radius;
  if (step_size_adaptation != AisStepSizeAdaptation::none) {
    j["step_size_increase"] = step_size_increase;
    j["step_size_decrease"] = step_size_decrease;
    j["acceptance_smoothing"] = acceptance_smoothing;
    j["min_step_size"] = min_step_size;
    j["max_step_size"] = max_step_size;
  }
  if (step_size_adaptation == AisStepSizeAdaptation::pilot) j["pilot_chains"] = pilot_chains;
  return j;
}

namespace {

/// log π₀(z) and ∇ log π₀(z) of the initial distribution, per column (C columns per datapoint).
using BaseDensity = std::function<void(const MatrixD& Z, Index chains, VectorD& log_density, MatrixD& gradient)>;

/// log q and ∇_z log q of the approximation (PosteriorApproximation::log_density_with_gradient).
BaseDensity approximation_base_density(const PosteriorApproximation& q) {
  if (!q.has_density_gradient())
    throw std::invalid_argument("annealed_importance_sampling: AIS from q needs the gradient of log q "
                                "(PosteriorApproximation::has_density_gradient), which \"" + q.describe() +
                                "\" does not provide");
  return [&q](const MatrixD& Z, Index C, VectorD& log_density, MatrixD& gradient) {
    log_density = q.log_density_with_gradient(Z, C, gradient);
  };
}

enum class StepMode { fixed, online, schedule };

/// (1/n) Σ log v_i by scalar std::log in index order: the same bits wherever v lies in memory
/// (Eigen's vectorized log and sum would depend on the segment's alignment, i.e. on the batch).
double mean_log(const Eigen::Ref<const VectorD>& v) {
  double sum = 0.0;
  for (Index i = 0; i < v.size(); ++i) sum += std::log(v(i));
  return sum / static_cast<double>(v.size());
}

struct AnnealingRun {
  VectorD log_weights;          ///< B·C
  VectorD acceptance_sum;       ///< B·C, summed over transitions
  Index transitions = 0;
  Index gradient_evaluations = 0;
  MatrixD log_step_schedule;    ///< B x (T-1): mean log ε over a datapoint's chains per transition
  MatrixD final_latents;
};

/// Runs AIS along path γ_0, ..., γ_T (β increasing for forward, decreasing for reverse) from the
/// given initial states (exact samples of f_{γ_0}). log w += (γ_k - γ_{k-1}) ℓ(z), with
/// ℓ = log p(x, z) - log π₀(z), before each transition at γ_k (k < T).
AnnealingRun run_annealing(const GenerativeModel& model, const MatrixF& X, Index C, const BaseDensity* base,
                           const VectorD& path, const MatrixD& initial, const AisOptions& options, StepMode mode,
                           const MatrixD* log_step_schedule, const std::string& label, BatchRng& rng,
                           const ProgressReporter& progress) {
  const Index d = model.latent_dim();
  const Index B = X.cols();
  const Index N = B * C;
  const Index T = path.size() - 1;
  AnnealingRun run;

  // auxiliary rows: 0 log π₀, 1 ℓ, [2, 2+d) ∇ log π₀, [2+d, 2+2d) ∇ℓ.
  auto evaluate_components = [&](const MatrixD& Z, MatrixD& aux) {
    aux.resize(2 + 2 * d, Z.cols());
    MatrixD grad_likelihood;
    const VectorD log_likelihood = model.log_likelihood_with_gradient(X, Z, C, grad_likelihood);
    if (base == nullptr) {  // prior: ℓ = log p(x|z) exactly
      aux.row(0) = model.log_prior(Z).transpose();
      aux.row(1) = log_likelihood.transpose();
      aux.middleRows(2, d) = -Z;
      aux.middleRows(2 + d, d) = grad_likelihood;
    } else {
      VectorD log_base;
      MatrixD grad_base;
      (*base)(Z, C, log_base, grad_base);
      aux.row(0) = log_base.transpose();
      aux.row(1) = (model.log_prior(Z) + log_likelihood - log_base).transpose();
      aux.middleRows(2, d) = grad_base;
      aux.middleRows(2 + d, d) = grad_likelihood - Z - grad_base;
    }
    run.gradient_evaluations += Z.cols();
  };
  double beta = path(0);
  auto apply_temperature = [&](TargetEvaluation& ev) {
    // Explicit loops: the same rounding for every chain at any batch position (see leapfrog).
    const Index n = ev.auxiliary.cols();
    ev.log_density.resize(n);
    ev.gradient.resize(d, n);
    for (Index c = 0; c < n; ++c) {
      ev.log_density(c) = ev.auxiliary(0, c) + beta * ev.auxiliary(1, c);
      for (Index j = 0; j < d; ++j) ev.gradient(j, c) = ev.auxiliary(2 + j, c) + beta * ev.auxiliary(2 + d + j, c);
    }
  };
  const BatchLogDensity tempered = [&](const MatrixD& Z, TargetEvaluation& ev) {
    evaluate_components(Z, ev.auxiliary);
    apply_temperature(ev);
  };

  HmcChainState state;
  state.position = initial;
  tempered(state.position, state.evaluation);

  VectorD step_sizes = VectorD::Constant(N, options.initial_step_size);
  if (mode == StepMode::online)
    step_sizes = step_sizes.cwiseMax(options.min_step_size).cwiseMin(options.max_step_size);
  VectorD smoothed_acceptance = VectorD::Constant(N, options.target_acceptance);
  const MatrixD inverse_mass = MatrixD::Ones(d, N);
  run.log_weights = VectorD::Zero(N);
  run.acceptance_sum = VectorD::Zero(N);
  run.log_step_schedule.resize(B, std::max<Index>(T - 1, 0));

  const Index report_every = std::max<Index>(1, T / 100);
  for (Index k = 1; k <= T; ++k) {
    run.log_weights += (path(k) - path(k - 1)) * state.evaluation.auxiliary.row(1).transpose();
    if (k == T) break;
    beta = path(k);
    apply_temperature(state.evaluation);
    if (mode == StepMode::schedule)
      for (Index c = 0; c < N; ++c) step_sizes(c) = std::exp((*log_step_schedule)(c / C, k - 1));
    for (Index b = 0; b < B; ++b)
      run.log_step_schedule(b, k - 1) = mean_log(step_sizes.segment(b * C, C));
    const HmcTransitionStatistics stats =
        hmc_transition(tempered, step_sizes, inverse_mass, options.leapfrog_steps, state, rng);
    run.acceptance_sum += stats.acceptance_probability;
    ++run.transitions;
    if (mode == StepMode::online) {  // uses transitions <= k only; applies from transition k + 1
      smoothed_acceptance = options.acceptance_smoothing * smoothed_acceptance +
                            (1.0 - options.acceptance_smoothing) * stats.acceptance_probability;
      for (Index c = 0; c < N; ++c) {
        const double factor = smoothed_acceptance(c) > options.target_acceptance ? options.step_size_increase
                                                                                 : options.step_size_decrease;
        step_sizes(c) = std::clamp(step_sizes(c) * factor, options.min_step_size, options.max_step_size);
      }
    }
    if (progress.enabled() && k % report_every == 0)
      progress.update(label + ": transition " + std::to_string(k) + " / " + std::to_string(T - 1));
  }
  progress.finish();
  run.final_latents = state.position;
  return run;
}

/// The generators of a run: its evaluation chains' and a maker of its pilot chains' (called once,
/// first, when there is a pilot run).
struct AisGenerators {
  BatchRng& run;
  std::function<BatchRng()> pilot;
};

/// Per-datapoint generators of streams for purposes run and pilot.
AisGenerators stream_generators(const RandomStreams& streams, BatchRng& run, StreamPurpose pilot) {
  return {run, [&streams, pilot] { return streams.generators(pilot); }};
}

/// The legacy single stream: run draws from rng; the pilot from split_rng(rng), taken first.
AisGenerators legacy_generators(BatchRng& one) {
  return {one, [&one] { return BatchRng(std::vector<Rng>{split_rng(one[0])}); }};
}

/// Forward or reverse AIS with the chosen step-size adaptation (pilot run first for `pilot`).
/// Datapoint b's chains draw their initial states and transitions from its generator of
/// purposes.run; the pilot chains from its generator of purposes.pilot.
AnnealingRun run_with_adaptation(const GenerativeModel& model, const MatrixF& X, const BaseDensity* base,
                                 const VectorD& path,
                                 const std::function<MatrixD(Index chains, BatchRng&)>& initial_states,
                                 const AisOptions& options, const std::string& label, AisGenerators generators,
                                 const ProgressReporter& progress) {
  BatchRng& rng = generators.run;
  switch (options.step_size_adaptation) {
    case AisStepSizeAdaptation::none:
      return run_annealing(model, X, options.chains, base, path, initial_states(options.chains, rng), options,
                           StepMode::fixed, nullptr, label, rng, progress);
    case AisStepSizeAdaptation::online:
      return run_annealing(model, X, options.chains, base, path, initial_states(options.chains, rng), options,
                           StepMode::online, nullptr, label, rng, progress);
    case AisStepSizeAdaptation::pilot: {
      if (options.num_annealing_steps == 1)  // no transitions: nothing to adapt, no pilot run
        return run_annealing(model, X, options.chains, base, path, initial_states(options.chains, rng), options,
                             StepMode::fixed, nullptr, label, rng, progress);
      BatchRng pilot_rng = generators.pilot();
      const AnnealingRun pilot = run_annealing(model, X, options.pilot_chains, base, path,
                                               initial_states(options.pilot_chains, pilot_rng), options,
                                               StepMode::online, nullptr, label + " (pilot)", pilot_rng, progress);
      AnnealingRun run = run_annealing(model, X, options.chains, base, path, initial_states(options.chains, rng),
                                       options, StepMode::schedule, &pilot.log_step_schedule, label, rng, progress);
      run.gradient_evaluations += pilot.gradient_evaluations;
      return run;
    }
  }
  throw std::logic_error("run_with_adaptation: unknown step size adaptation");
}

/// Fills the result: log p̂ = sign · log mean_c exp(sign_w · log w) with its delta-method SE and ESS.
AnnealedImportanceSamplingResult summarize_run(const AnnealingRun& run, Index B, Index C, bool reverse,
                                               const AisOptions& options, nlohmann::ordered_json settings,
                                               double seconds) {
  AnnealedImportanceSamplingResult result;
  result.log_weights = Eigen::Map<const MatrixD>(run.log_weights.data(), C, B);
  result.effective_sample_size.resize(B);
  result.acceptance_rate.resize(B);
  Estimate& e = result.estimate;
  e.estimator = reverse ? "reverse ais" : "ais";
  e.bias_direction = reverse ? BiasDirection::stochastic_upper_bound : BiasDirection::stochastic_lower_bound;
  e.bias_note = reverse ? "E[1/p̂] = 1/p(x)" : "E[p̂] = p(x)";
  e.per_datapoint.resize(B);
  e.per_datapoint_standard_error.resize(B);
  for (Index b = 0; b < B; ++b) {
    const VectorD lw = result.log_weights.col(b);
    const double m = lw.maxCoeff();
    const VectorD w = (lw.array() - m).exp().matrix();  // w_c / max w, in (0, 1]
    const double mean = w.mean();
    const double log_mean = m + std::log(mean);
    e.per_datapoint(b) = reverse ? -log_mean : log_mean;
    double se = 0.0;
    if (C > 1) {
      const double variance = (w.array() - mean).square().sum() / static_cast<double>(C - 1);
      se = std::sqrt(variance / static_cast<double>(C)) / mean;
    }
    e.per_datapoint_standard_error(b) = se;
    result.effective_sample_size(b) = w.sum() * w.sum() / w.squaredNorm();
    result.acceptance_rate(b) =
        run.transitions > 0 ? run.acceptance_sum.segment(b * C, C).mean() / static_cast<double>(run.transitions) : 0.0;
  }
  e.samples_per_datapoint = C;
  e.seconds = seconds;
  settings["options"] = options.to_json();
  settings["gradient_evaluations"] = run.gradient_evaluations;
  e.settings = std::move(settings);
  e.summarize();
  result.final_latents = run.final_latents;
  result.gradient_evaluations = run.gradient_evaluations;
  return result;
}

void check_data(const GenerativeModel& model, const MatrixF& X, const char* caller) {
  if (X.rows() != model.data_dim())
    throw std::invalid_argument(std::string(caller) + ": data have dimension " + std::to_string(X.rows()) +
                                ", the model expects " + std::to_string(model.data_dim()));
  if (X.cols() < 1) throw std::invalid_argument(std::string(caller) + ": no datapoints");
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

namespace {
AnnealedImportanceSamplingResult ais_from_prior(const GenerativeModel& model, const MatrixF& X, const AisOptions& options,
                                                AisGenerators generators, const ProgressReporter& progress);
AnnealedImportanceSamplingResult ais_from_approximation(const GenerativeModel& model, const PosteriorApproximation& q,
                                                        const MatrixF& X, const AisOptions& options,
                                                        AisGenerators generators, const ProgressReporter& progress);
AnnealedImportanceSamplingResult reverse_ais(const GenerativeModel& model, const MatrixF& X,
                                             const MatrixD& exact_posterior_latents, const AisOptions& options,
                                             AisGenerators generators, const ProgressReporter& progress);
}  // namespace

AnnealedImportanceSamplingResult annealed_importance_sampling(const GenerativeModel& model, const MatrixF& X,
                                                              const AisOptions& options, Rng& rng,
                                                              const ProgressReporter& progress) {
  BatchRng one(std::vector<Rng>{rng});
  AnnealedImportanceSamplingResult result = ais_from_prior(model, X, options, legacy_generators(one), progress);
  rng = one[0];
  return result;
}

namespace {

AnnealedImportanceSamplingResult ais_from_prior(const GenerativeModel& model, const MatrixF& X,
                                                              const AisOptions& options,
                                                              AisGenerators generators, const ProgressReporter& progress) {
  options.validate();
  check_data(model, X, "annealed_importance_sampling");
  const auto start = std::chrono::steady_clock::now();
  const VectorD path = annealing_betas(options.schedule, options.num_annealing_steps, options.sigmoid_radius);
  const Index d = model.latent_dim();
  const Index B = X.cols();
  auto from_prior = [d, B](Index C, BatchRng& r) { return standard_normal_matrix(d, B * C, r); };
  const AnnealingRun run = run_with_adaptation(model, X, nullptr, path, from_prior, options, "AIS", generators, progress);
  nlohmann::ordered_json settings = {{"model", model.describe()}, {"initial_distribution", "prior"}};
  return summarize_run(run, B, options.chains, false, options, std::move(settings), seconds_since(start));
}

}  // namespace

AnnealedImportanceSamplingResult annealed_importance_sampling(const GenerativeModel& model, const MatrixF& X,
                                                              const AisOptions& options,
                                                              const RandomStreams& streams, const ProgressReporter& progress) {
  streams.check_size(X.cols(), "annealed_importance_sampling");
  BatchRng run = streams.generators(StreamPurpose::ais);
  return ais_from_prior(model, X, options, stream_generators(streams, run, StreamPurpose::ais_pilot), progress);
}

AnnealedImportanceSamplingResult annealed_importance_sampling(const GenerativeModel& model,
                                                              const PosteriorApproximation& q, const MatrixF& X,
                                                              const AisOptions& options, Rng& rng,
                                                              const ProgressReporter& progress) {
  BatchRng one(std::vector<Rng>{rng});
  AnnealedImportanceSamplingResult result = ais_from_approximation(model, q, X, options, legacy_generators(one), progress);
  rng = one[0];
  return result;
}

namespace {

AnnealedImportanceSamplingResult ais_from_approximation(const GenerativeModel& model,
                                                              const PosteriorApproximation& q, const MatrixF& X,
                                                              const AisOptions& options,
                                                              AisGenerators generators, const ProgressReporter& progress) {
  options.validate();
  check_data(model, X, "annealed_importance_sampling");
  if (!q.has_density())
    throw std::invalid_argument("annealed_importance_sampling: the initial distribution \"" + q.describe() +
                                "\" has no density");
  if (q.latent_dim() != model.latent_dim() || q.num_datapoints() != X.cols())
    throw std::invalid_argument("annealed_importance_sampling: q covers " + std::to_string(q.num_datapoints()) +
                                " datapoints of latent dimension " + std::to_string(q.latent_dim()) +
                                "; expected " + std::to_string(X.cols()) + " datapoints of latent dimension " +
                                std::to_string(model.latent_dim()));
  const auto start = std::chrono::steady_clock::now();
  const BaseDensity base = approximation_base_density(q);
  const VectorD path = annealing_betas(options.schedule, options.num_annealing_steps, options.sigmoid_radius);
  auto from_q = [&q](Index C, BatchRng& r) { return q.sample(C, r); };
  const AnnealingRun run = run_with_adaptation(model, X, &base, path, from_q, options, "AIS from q",
                                               generators, progress);
  nlohmann::ordered_json settings = {{"model", model.describe()}, {"initial_distribution", q.describe()}};
  return summarize_run(run, X.cols(), options.chains, false, options, std::move(settings), seconds_since(start));
}

}  // namespace

AnnealedImportanceSamplingResult annealed_importance_sampling(const GenerativeModel& model,
                                                              const PosteriorApproximation& q, const MatrixF& X,
                                                              const AisOptions& options,
                                                              const RandomStreams& streams, const ProgressReporter& progress) {
  streams.check_size(X.cols(), "annealed_importance_sampling");
  BatchRng run = streams.generators(StreamPurpose::ais_from_q);
  return ais_from_approximation(model, q, X, options, stream_generators(streams, run, StreamPurpose::ais_from_q_pilot), progress);
}

AnnealedImportanceSamplingResult reverse_annealed_importance_sampling(const GenerativeModel& model,
                                                                      const MatrixF& X,
                                                                      const MatrixD& exact_posterior_latents,
                                                                      const AisOptions& options, Rng& rng,
                                                              const ProgressReporter& progress) {
  BatchRng one(std::vector<Rng>{rng});
  AnnealedImportanceSamplingResult result = reverse_ais(model, X, exact_posterior_latents, options, legacy_generators(one), progress);
  rng = one[0];
  return result;
}

namespace {

AnnealedImportanceSamplingResult reverse_ais(const GenerativeModel& model,
                                                                      const MatrixF& X,
                                                                      const MatrixD& exact_posterior_latents,
                                                                      const AisOptions& options,
                                                                      AisGenerators generators, const ProgressReporter& progress) {
  options.validate();
  check_data(model, X, "reverse_annealed_importance_sampling");
  if (exact_posterior_latents.rows() != model.latent_dim() || exact_posterior_latents.cols() != X.cols())
    throw std::invalid_argument("reverse_annealed_importance_sampling: expected exact posterior latents " +
                                std::to_string(model.latent_dim()) + " x " + std::to_string(X.cols()) + ", found " +
                                std::to_string(exact_posterior_latents.rows()) + " x " +
                                std::to_string(exact_posterior_latents.cols()));
  const auto start = std::chrono::steady_clock::now();
  const VectorD path = annealing_betas(options.schedule, options.num_annealing_steps, options.sigmoid_radius)
                           .reverse();
  const Index B = X.cols();
  auto from_truth = [&exact_posterior_latents, B](Index C, BatchRng&) {
    MatrixD Z(exact_posterior_latents.rows(), B * C);
    for (Index b = 0; b < B; ++b) Z.middleCols(b * C, C).colwise() = exact_posterior_latents.col(b);
    return Z;
  };
  const AnnealingRun run = run_with_adaptation(model, X, nullptr, path, from_truth, options, "reverse AIS",
                                               generators, progress);
  nlohmann::ordered_json settings = {{"model", model.describe()}, {"initial_distribution", "exact posterior sample"}};
  return summarize_run(run, B, options.chains, true, options, std::move(settings), seconds_since(start));
}

}  // namespace

AnnealedImportanceSamplingResult reverse_annealed_importance_sampling(const GenerativeModel& model,
                                                                      const MatrixF& X,
                                                                      const MatrixD& exact_posterior_latents,
                                                                      const AisOptions& options,
                                                                      const RandomStreams& streams, const ProgressReporter& progress) {
  streams.check_size(X.cols(), "reverse_annealed_importance_sampling");
  BatchRng run = streams.generators(StreamPurpose::reverse_ais);
  return reverse_ais(model, X, exact_posterior_latents, options, stream_generators(streams, run, StreamPurpose::reverse_ais_pilot), progress);
}

}  // namespace vigap
