#pragma once
// The command-line options of AIS's step-size rule and schedule shape that the binaries share
// (--ais-target-acceptance, ...): what a published protocol (--protocol) sets beyond T, chains,
// leapfrog steps and the initial step.
#include <boost/program_options.hpp>

#include "estimators/annealed_importance_sampling.hpp"

namespace vigap {

/// Adds --ais-target-acceptance, --ais-step-increase, --ais-step-decrease,
/// --ais-acceptance-smoothing, --ais-min-step-size, --ais-max-step-size and --ais-sigmoid-radius,
/// bound to the fields of `ais` (defaults: its current values; AisOptions::validate checks them).
void add_ais_adaptation_options(boost::program_options::options_description& description, AisOptions& ais);

}  // namespace vigap
