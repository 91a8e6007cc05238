#include "samplers/step_size_adaptation.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace vigap {

void DualAveragingOptions::validate() const {
  if (!(target_acceptance > 0.0 && target_acceptance < 1.0))
    throw std::invalid_argument("DualAveragingOptions: target_acceptance must be in (0, 1), found " +
                                std::to_string(target_acceptance));
  if (!(gamma > 0.0) || !std::isfinite(gamma))
    throw std::invalid_argument("DualAveragingOptions: gamma must be finite and > 0, found " + std::to_string(gamma));
  if (!(t0 >= 0.0) || !std::isfinite(t0))
    throw std::invalid_argument("DualAveragingOptions: t0 must be finite and >= 0, found " + std::to_string(t0));
  if (!(kappa > 0.5 && kappa <= 1.0))
    throw std::invalid_argument("DualAveragingOptions: kappa must be in (0.5, 1], found " + std::to_string(kappa));
}

DualAveragingStepSize::DualAveragingStepSize(const VectorD& initial_step_sizes, const DualAveragingOptions& options)
    : options_(options) {
  options_.validate();
  restart(initial_step_sizes);
}

void DualAveragingStepSize::restart(const VectorD& step_sizes) {
  for (Index c = 0; c < step_sizes.size(); ++c)
    if (!(step_sizes(c) > 0.0) || !std::isfinite(step_sizes(c)))
      throw std::invalid_argument("DualAveragingStepSize: step sizes must be finite and > 0, found " +
                                  std::to_string(step_sizes(c)) + " for chain " + std::to_string(c));
  step_sizes_ = step_sizes;
  // Scalar std::log per chain: a vectorized log would round a chain differently depending on
  // whether it falls in a SIMD packet or the scalar tail, i.e. on its position in the batch.
  mu_.resize(step_sizes.size());
  for (Index c = 0; c < step_sizes.size(); ++c) mu_(c) = std::log(10.0 * step_sizes(c));
  h_bar_ = VectorD::Zero(step_sizes.size());
  log_step_bar_ = VectorD::Zero(step_sizes.size());
  counter_ = 0;
}

const VectorD& DualAveragingStepSize::update(const VectorD& acceptance_statistics) {
  if (acceptance_statistics.size() != step_sizes_.size())
    throw std::invalid_argument("DualAveragingStepSize::update: " + std::to_string(acceptance_statistics.size()) +
                                " acceptance statistics for " + std::to_string(step_sizes_.size()) + " chains");
  ++counter_;
  const double t = static_cast<double>(counter_);
  const double eta = 1.0 / (t + options_.t0);
  const double weight = std::pow(t, -options_.kappa);
  for (Index c = 0; c < step_sizes_.size(); ++c) {
    const double alpha = std::min(1.0, std::max(0.0, acceptance_statistics(c)));
    h_bar_(c) = (1.0 - eta) * h_bar_(c) + eta * (options_.target_acceptance - alpha);
    const double log_step = mu_(c) - std::sqrt(t) / options_.gamma * h_bar_(c);
    log_step_bar_(c) = weight * log_step + (1.0 - weight) * log_step_bar_(c);
    step_sizes_(c) = std::exp(log_step);
  }
  return step_sizes_;
}

VectorD DualAveragingStepSize::final_step_sizes() const {
  if (counter_ == 0) return step_sizes_;
  VectorD out(log_step_bar_.size());  // scalar std::exp per chain (see restart)
  for (Index c = 0; c < out.size(); ++c) out(c) = std::exp(log_step_bar_(c));
  return out;
}

}  // namespace vigap
