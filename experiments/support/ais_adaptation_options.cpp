#include "experiments/support/ais_adaptation_options.hpp"

#include <cstdio>

namespace po = boost::program_options;

namespace vigap {

namespace {

/// --help's rendering of a default: "0.65", not "0.65000000000000002".
po::typed_value<double>* value_with_default(double& field) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", field);
  return po::value(&field)->default_value(field, text);
}

}  // namespace

void add_ais_adaptation_options(po::options_description& d, AisOptions& ais) {
  d.add_options()
      ("ais-target-acceptance", value_with_default(ais.target_acceptance),
       "acceptance rate the AIS step size is adapted toward, in (0, 1)")
      ("ais-step-increase", value_with_default(ais.step_size_increase),
       "factor (> 1) on the AIS step when the smoothed acceptance is above the target")
      ("ais-step-decrease", value_with_default(ais.step_size_decrease),
       "factor in (0, 1) on the AIS step otherwise")
      ("ais-acceptance-smoothing", value_with_default(ais.acceptance_smoothing),
       "s in [0, 1) of the smoothed acceptance a <- s a + (1 - s) a_t")
      ("ais-min-step-size", value_with_default(ais.min_step_size),
       "the adapted AIS step is clamped to [min, max]")
      ("ais-max-step-size", value_with_default(ais.max_step_size), "see --ais-min-step-size")
      ("ais-sigmoid-radius", value_with_default(ais.sigmoid_radius),
       "delta of the sigmoid schedule (> 0)");
}

}  // namespace vigap
