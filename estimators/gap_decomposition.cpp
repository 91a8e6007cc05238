#include "estimators/gap_decomposition.hpp"

#include <algorithm>
#include <cmath>

namespace vigap {

namespace {

/// An ELBO estimate as a term of a gap: exact from quadrature, else unbiased for its ELBO.
BiasDirection as_elbo_term(const Estimate& elbo) {
  return elbo.bias_direction == BiasDirection::exact ? BiasDirection::exact : BiasDirection::unbiased;
}

}  // namespace

Estimate inference_gap(const Estimate& log_px, const Estimate& amortized_elbo) {
  return difference_of_estimates(log_px, amortized_elbo, "inference gap log p(x) - L[q_amortized]",
                                 bias_of_difference(log_px.bias_direction, as_elbo_term(amortized_elbo)));
}

GapDecomposition decompose_gaps(const Estimate& log_px, const Estimate& qstar_elbo, const Estimate& amortized_elbo) {
  GapDecomposition g;
  g.inference_gap = inference_gap(log_px, amortized_elbo);
  g.approximation_gap =
      difference_of_estimates(log_px, qstar_elbo, "approximation gap log p(x) - L[q*] = KL(q* ‖ p(z|x))",
                              bias_of_difference(log_px.bias_direction, as_elbo_term(qstar_elbo)));
  g.amortization_gap =
      difference_of_estimates(qstar_elbo, amortized_elbo, "amortization gap L[q*] - L[q_amortized]",
                              bias_of_difference(as_elbo_term(qstar_elbo), as_elbo_term(amortized_elbo)));
  const VectorD residual =
      g.inference_gap.per_datapoint - (g.approximation_gap.per_datapoint + g.amortization_gap.per_datapoint);
  g.identity_max_abs_error =
      std::max(residual.size() > 0 ? residual.cwiseAbs().maxCoeff() : 0.0,
               std::abs(g.inference_gap.value - g.approximation_gap.value - g.amortization_gap.value));
  return g;
}

}  // namespace vigap
