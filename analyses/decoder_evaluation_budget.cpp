#include "analyses/decoder_evaluation_budget.hpp"

#include <stdexcept>
#include <string>

namespace vigap {

namespace {

void require_budget(Index budget, const char* caller) {
  if (budget < 1) throw std::invalid_argument(std::string(caller) + ": budget must be >= 1 decoder evaluation, found " +
                                              std::to_string(budget));
}

}  // namespace

Index hmc_decoder_evaluations(const HmcOptions& options) {
  return options.chains * (1 + (options.warmup + options.draws) * options.leapfrog_steps);
}

std::optional<HmcOptions> hmc_options_for_budget(const HmcOptions& base, Index budget, double warmup_fraction) {
  require_budget(budget, "hmc_options_for_budget");
  if (!(warmup_fraction >= 0.0 && warmup_fraction < 1.0))
    throw std::invalid_argument("hmc_options_for_budget: warmup_fraction must be in [0, 1), found " +
                                std::to_string(warmup_fraction));
  base.validate();
  const Index per_chain = budget / base.chains;
  if (per_chain < 1) return std::nullopt;
  const Index iterations = (per_chain - 1) / base.leapfrog_steps;
  HmcOptions options = base;
  options.warmup = static_cast<Index>(warmup_fraction * static_cast<double>(iterations));
  options.draws = iterations - options.warmup;
  if (options.draws < 1) return std::nullopt;
  return options;
}

Index local_gaussian_max_decoder_evaluations(const LocalOptimizationOptions& options) {
  const Index steps = options.max_steps;
  const Index checks = 1 + steps / options.check_interval + (steps % options.check_interval != 0 ? 1 : 0);
  return options.samples_per_step * steps + options.check_samples * checks;
}

std::optional<LocalOptimizationOptions> local_gaussian_options_for_budget(const LocalOptimizationOptions& base,
                                                                          Index budget) {
  require_budget(budget, "local_gaussian_options_for_budget");
  base.validate();
  LocalOptimizationOptions options = base;
  // Every evaluation counts toward the budget: no start-or-best comparison on extra draws.
  options.selection_samples = 0;
  // Cost grows with max_steps; start from the estimate without checks and walk down.
  options.max_steps = budget / base.samples_per_step;
  while (options.max_steps >= 1 && local_gaussian_max_decoder_evaluations(options) > budget) --options.max_steps;
  if (options.max_steps < 1) return std::nullopt;
  return options;
}

Index local_flow_max_decoder_evaluations(const LocalFlowOptions& options) { return options.samples * options.max_steps; }

std::optional<LocalFlowOptions> local_flow_options_for_budget(const LocalFlowOptions& base, Index budget) {
  require_budget(budget, "local_flow_options_for_budget");
  base.validate();
  LocalFlowOptions options = base;
  options.selection_samples = 0;  // every evaluation counts toward the budget
  options.max_steps = budget / base.samples;
  if (options.max_steps < 1) return std::nullopt;
  return options;
}

Index ais_decoder_evaluations(const AisOptions& options) {
  const Index T = options.num_annealing_steps;
  const Index pilot = options.step_size_adaptation == AisStepSizeAdaptation::pilot && T > 1 ? options.pilot_chains : 0;
  return (options.chains + pilot) * (1 + (T - 1) * options.leapfrog_steps);
}

std::optional<AisOptions> ais_options_for_budget(const AisOptions& base, Index budget) {
  require_budget(budget, "ais_options_for_budget");
  base.validate();
  AisOptions options = base;
  const Index pilot = base.step_size_adaptation == AisStepSizeAdaptation::pilot ? base.pilot_chains : 0;
  const Index per_chain = budget / (base.chains + pilot);
  if (per_chain < 1) return std::nullopt;
  options.num_annealing_steps = 1 + (per_chain - 1) / base.leapfrog_steps;
  if (options.num_annealing_steps < 2) return std::nullopt;
  return options;
}

}  // namespace vigap
