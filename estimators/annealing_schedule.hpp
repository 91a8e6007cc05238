#pragma once
// Inverse-temperature schedules 0 = β_0 < β_1 < ... < β_T = 1 for annealed importance sampling.
#include <string>

#include "core/types.hpp"

namespace vigap {

enum class AnnealingSchedule {
  /// β_t = t / T.
  linear,
  /// β_t = (σ(δ(2t/T - 1)) - σ(-δ)) / (σ(δ) - σ(-δ)), δ the radius (Wu et al. 2017, δ = 4):
  /// dense near β = 0 and β = 1, where the intermediate distributions change fastest.
  sigmoid,
};

/// Parses "linear" or "sigmoid"; throws std::invalid_argument naming the accepted names otherwise.
AnnealingSchedule parse_annealing_schedule(const std::string& name);
std::string to_string(AnnealingSchedule schedule);

/// The T + 1 inverse temperatures β_0 = 0, ..., β_T = 1 (strictly increasing); T >= 1,
/// sigmoid_radius > 0 (used by the sigmoid schedule only).
VectorD annealing_betas(AnnealingSchedule schedule, Index num_steps, double sigmoid_radius = 4.0);

}  // namespace vigap
