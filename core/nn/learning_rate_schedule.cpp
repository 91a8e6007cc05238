#include "core/nn/learning_rate_schedule.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace vigap {

void LearningRateSchedule::validate() const {
  if (!(initial > 0.0) || !std::isfinite(initial))
    throw std::invalid_argument("--learning-rate must be positive and finite, found " + std::to_string(initial));
  if (!(decay > 0.0 && decay <= 1.0))
    throw std::invalid_argument("--lr-decay must be in (0, 1], found " + std::to_string(decay));
  if (step_epochs < 1)
    throw std::invalid_argument("--lr-step-epochs must be >= 1, found " + std::to_string(step_epochs));
  if (total_epochs < 1)
    throw std::invalid_argument("total epochs must be >= 1, found " + std::to_string(total_epochs));
}

double LearningRateSchedule::learning_rate(int epoch) const {
  switch (kind) {
    case Kind::constant: return initial;
    case Kind::exponential: return initial * std::pow(decay, epoch);
    case Kind::step: return initial * std::pow(decay, epoch / step_epochs);
    case Kind::cosine: {
      const double lr_min = initial * decay;
      return lr_min + (initial - lr_min) * 0.5 *
                          (1.0 + std::cos(std::numbers::pi * epoch / static_cast<double>(total_epochs)));
    }
  }
  return initial;
}

LearningRateSchedule::Kind parse_learning_rate_schedule(const std::string& name) {
  if (name == "constant") return LearningRateSchedule::Kind::constant;
  if (name == "exponential") return LearningRateSchedule::Kind::exponential;
  if (name == "step") return LearningRateSchedule::Kind::step;
  if (name == "cosine") return LearningRateSchedule::Kind::cosine;
  throw std::invalid_argument("unknown --lr-schedule '" + name +
                              "': expected constant, exponential, step or cosine");
}

std::string to_string(LearningRateSchedule::Kind kind) {
  switch (kind) {
    case LearningRateSchedule::Kind::constant: return "constant";
    case LearningRateSchedule::Kind::exponential: return "exponential";
    case LearningRateSchedule::Kind::step: return "step";
    case LearningRateSchedule::Kind::cosine: return "cosine";
  }
  return "unknown";
}

}  // namespace vigap
