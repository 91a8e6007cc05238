#include "estimators/annealing_schedule.hpp"

#include <cmath>
#include <stdexcept>

namespace vigap {

AnnealingSchedule parse_annealing_schedule(const std::string& name) {
  if (name == "linear") return AnnealingSchedule::linear;
  if (name == "sigmoid") return AnnealingSchedule::sigmoid;
  throw std::invalid_argument("annealing schedule: expected \"linear\" or \"sigmoid\", found \"" + name + "\"");
}

std::string to_string(AnnealingSchedule schedule) {
  return schedule == AnnealingSchedule::linear ? "linear" : "sigmoid";
}

VectorD annealing_betas(AnnealingSchedule schedule, Index num_steps, double sigmoid_radius) {
  if (num_steps < 1)
    throw std::invalid_argument("annealing_betas: the number of annealing steps T must be >= 1, found " +
                                std::to_string(num_steps));
  const double T = static_cast<double>(num_steps);
  VectorD betas(num_steps + 1);
  if (schedule == AnnealingSchedule::linear) {
    for (Index t = 0; t <= num_steps; ++t) betas(t) = static_cast<double>(t) / T;
  } else {
    if (!(sigmoid_radius > 0.0) || !std::isfinite(sigmoid_radius))
      throw std::invalid_argument("annealing_betas: sigmoid_radius must be finite and > 0, found " +
                                  std::to_string(sigmoid_radius));
    auto sigmoid = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
    const double low = sigmoid(-sigmoid_radius);
    const double high = sigmoid(sigmoid_radius);
    for (Index t = 0; t <= num_steps; ++t)
      betas(t) = (sigmoid(sigmoid_radius * (2.0 * static_cast<double>(t) / T - 1.0)) - low) / (high - low);
  }
  betas(0) = 0.0;
  betas(num_steps) = 1.0;
  return betas;
}

}  // namespace vigap
