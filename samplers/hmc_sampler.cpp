#include "samplers/hmc_sampler.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

#include "samplers/hmc_transition.hpp"

namespace vigap {

void HmcOptions::validate() const {
  if (chains < 1) throw std::invalid_argument("HmcOptions: chains must be >= 1, found " + std::to_string(chains));
  if (warmup < 0) throw std::invalid_argument("HmcOptions: warmup must be >= 0, found " + std::to_string(warmup));
  if (draws < 1) throw std::invalid_argument("HmcOptions: draws must be >= 1, found " + std::to_string(draws));
  if (leapfrog_steps < 1)
    throw std::invalid_argument("HmcOptions: leapfrog_steps must be >= 1, found " + std::to_string(leapfrog_steps));
  if (!(target_acceptance > 0.0 && target_acceptance < 1.0))
    throw std::invalid_argument("HmcOptions: target_acceptance must be in (0, 1), found " +
                                std::to_string(target_acceptance));
  if (!(initial_step_size > 0.0) || !std::isfinite(initial_step_size))
    throw std::invalid_argument("HmcOptions: initial_step_size must be finite and > 0, found " +
                                std::to_string(initial_step_size));
  if (!(step_size_jitter >= 0.0 && step_size_jitter < 1.0))
    throw std::invalid_argument("HmcOptions: step_size_jitter must be in [0, 1), found " +
                                std::to_string(step_size_jitter));
  windows.validate();
  DualAveragingOptions da = dual_averaging;
  da.target_acceptance = target_acceptance;
  da.validate();
}

nlohmann::ordered_json HmcOptions::to_json() const {
  return {{"chains", chains},
          {"warmup", warmup},
          {"draws", draws},
          {"leapfrog_steps", leapfrog_steps},
          {"target_acceptance", target_acceptance},
          {"initial_step_size", initial_step_size},
          {"step_size_jitter", step_size_jitter},
          {"adapt_step_size", adapt_step_size},
          {"adapt_mass_matrix", adapt_mass_matrix},
          {"init", initial_latents.size() == 0 ? "prior" : "given"}};
}

MatrixD HmcResult::posterior_means() const {
  const Index per = chains * draws_per_chain;
  MatrixD means(draws.rows(), num_datapoints);
  for (Index b = 0; b < num_datapoints; ++b) means.col(b) = draws.middleCols(b * per, per).rowwise().mean();
  return means;
}

MatrixD HmcResult::draws_of(Index datapoint) const {
  const Index per = chains * draws_per_chain;
  return draws.middleCols(datapoint * per, per);
}

namespace {

/// Chain c's jitter from the generator of its datapoint, c / chains.
VectorD jittered(const VectorD& step_sizes, double jitter, Index chains, BatchRng& generators) {
  if (jitter == 0.0) return step_sizes;
  VectorD out(step_sizes.size());
  for (Index c = 0; c < out.size(); ++c)
    out(c) = step_sizes(c) * (1.0 + jitter * (2.0 * uniform_01(generators.for_datapoint(c / chains)) - 1.0));
  return out;
}

}  // namespace

HmcResult hmc_sample(const BatchLogDensity& target, const MatrixD& initial_latents, Index num_datapoints,
                     const HmcOptions& options, Rng& rng) {
  BatchRng one(std::vector<Rng>{rng});
  HmcResult result = hmc_sample(target, initial_latents, num_datapoints, options, one);
  rng = one[0];
  return result;
}

HmcResult hmc_sample(const BatchLogDensity& target, const MatrixD& initial_latents, Index num_datapoints,
                     const HmcOptions& options, BatchRng& rng) {
  options.validate();
  const auto start = std::chrono::steady_clock::now();
  const Index C = options.chains;
  const Index N = num_datapoints * C;
  const Index d = initial_latents.rows();
  if (num_datapoints < 1 || initial_latents.cols() != N || d < 1)
    throw std::invalid_argument("hmc_sample: expected initial latents d x " + std::to_string(N) + " (" +
                                std::to_string(num_datapoints) + " datapoints x " + std::to_string(C) +
                                " chains), found " + std::to_string(initial_latents.rows()) + " x " +
                                std::to_string(initial_latents.cols()));
  if (!rng.serves(num_datapoints))
    throw std::invalid_argument("hmc_sample: expected one generator per datapoint (" + std::to_string(num_datapoints) +
                                "), found " + std::to_string(rng.size()));
  HmcResult result;
  result.num_datapoints = num_datapoints;
  result.chains = C;
  result.draws_per_chain = options.draws;

  HmcChainState state;
  state.position = initial_latents;
  result.gradient_evaluations += initialize_chain_state(target, state);

  DualAveragingOptions da = options.dual_averaging;
  da.target_acceptance = options.target_acceptance;
  DualAveragingStepSize step_adaptation(VectorD::Constant(N, options.initial_step_size), da);
  VectorD step_sizes = VectorD::Constant(N, options.initial_step_size);
  MatrixD inverse_mass = MatrixD::Ones(d, N);

  const std::vector<WarmupWindow> windows =
      options.adapt_mass_matrix ? stan_warmup_windows(options.warmup, options.windows) : std::vector<WarmupWindow>{};
  DiagonalMassMatrixAdaptation mass_adaptation(d, N, C);
  size_t window = 0;
  const Index terminal_begin = windows.empty() ? 0 : windows.back().end;
  result.warmup_acceptance_rate = VectorD::Zero(N);
  for (Index it = 0; it < options.warmup; ++it) {
    const HmcTransitionStatistics stats = hmc_transition(
        target, jittered(step_sizes, options.step_size_jitter, C, rng), inverse_mass, options.leapfrog_steps, state, rng);
    result.gradient_evaluations += stats.target_column_evaluations;
    if (it >= terminal_begin) result.warmup_acceptance_rate += stats.acceptance_probability;
    if (options.adapt_step_size) step_sizes = step_adaptation.update(stats.acceptance_probability);
    if (window < windows.size() && it >= windows[window].begin && it < windows[window].end) {
      mass_adaptation.add_draws(state.position);
      if (it + 1 == windows[window].end) {
        inverse_mass = mass_adaptation.regularized_inverse_mass();
        mass_adaptation.reset();
        ++window;
        if (options.adapt_step_size) step_adaptation.restart(step_sizes);
      }
    }
  }
  if (options.warmup > terminal_begin)
    result.warmup_acceptance_rate /= static_cast<double>(options.warmup - terminal_begin);
  if (options.adapt_step_size && options.warmup > 0) step_sizes = step_adaptation.final_step_sizes();

  const Index T = options.draws;
  result.draws.resize(d, N * T);
  result.acceptance_rate = VectorD::Zero(N);
  for (Index t = 0; t < T; ++t) {
    const HmcTransitionStatistics stats = hmc_transition(
        target, jittered(step_sizes, options.step_size_jitter, C, rng), inverse_mass, options.leapfrog_steps, state, rng);
    result.gradient_evaluations += stats.target_column_evaluations;
    result.divergences += stats.divergences;
    result.acceptance_rate += stats.acceptance_probability;
    for (Index c = 0; c < N; ++c) result.draws.col(c * T + t) = state.position.col(c);
  }
  result.acceptance_rate /= static_cast<double>(T);
  result.step_sizes = step_sizes;
  result.inverse_mass = inverse_mass;
  result.diagnostics = convergence_diagnostics(result.draws, num_datapoints, C, T);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

namespace {

HmcResult sample_posterior(const GenerativeModel& model, const MatrixF& X, const HmcOptions& options, BatchRng& rng) {
  if (X.rows() != model.data_dim())
    throw std::invalid_argument("hmc_sample_posterior: data have dimension " + std::to_string(X.rows()) +
                                ", the model expects " + std::to_string(model.data_dim()));
  const Index B = X.cols();
  const Index N = B * options.chains;
  MatrixD initial = options.initial_latents;
  if (initial.size() == 0) {
    initial = standard_normal_matrix(model.latent_dim(), N, rng);
  } else if (initial.rows() != model.latent_dim() || initial.cols() != N) {
    throw std::invalid_argument("HmcOptions: initial_latents must be " + std::to_string(model.latent_dim()) + " x " +
                                std::to_string(N) + " (latent dim x datapoints·chains), found " +
                                std::to_string(initial.rows()) + " x " + std::to_string(initial.cols()));
  }
  return hmc_sample(log_joint_target(model, X, options.chains), initial, B, options, rng);
}

}  // namespace

HmcResult hmc_sample_posterior(const GenerativeModel& model, const MatrixF& X, const HmcOptions& options, Rng& rng) {
  options.validate();
  BatchRng one(std::vector<Rng>{rng});
  HmcResult result = sample_posterior(model, X, options, one);
  rng = one[0];
  return result;
}

HmcResult hmc_sample_posterior(const GenerativeModel& model, const MatrixF& X, const HmcOptions& options,
                               const RandomStreams& streams) {
  options.validate();
  streams.check_size(X.cols(), "hmc_sample_posterior");
  BatchRng rng = streams.generators(StreamPurpose::hmc);
  return sample_posterior(model, X, options, rng);
}

}  // namespace vigap
