#pragma once
// The ELBO-gap decomposition of Cremer, Li & Duvenaud (2018), per datapoint.
#include "estimators/estimate.hpp"

namespace vigap {

/// The gaps of one locally fitted family q*_F against the amortized q, per datapoint b:
///   inference gap_b     = log p̂(x_b) - L̂_b[q_amortized]
///   approximation gap_b = log p̂(x_b) - L̂_b[q*_F]           (= KL(q*_F ‖ p(z|x_b)))
///   amortization gap_b  = L̂_b[q*_F] - L̂_b[q_amortized]
/// so inference = approximation + amortization, which identity_max_abs_error checks as computed
/// (per datapoint and for the means). Standard errors combine the terms' per-datapoint errors in
/// quadrature (independent streams). Bias: each gap errs as bias_of_difference of its terms says,
/// an ELBO estimate counting as unbiased for its ELBO (exact when it came from quadrature): with
/// quadrature throughout every gap is exact; with AIS log p(x) the approximation and inference
/// gaps are biased low.
struct GapDecomposition {
  Estimate inference_gap;
  Estimate approximation_gap;
  Estimate amortization_gap;
  double identity_max_abs_error = 0.0;
};

/// log p̂(x) - L̂[q_amortized] (the inference gap, shared by every family's row).
Estimate inference_gap(const Estimate& log_px, const Estimate& amortized_elbo);

/// The decomposition above; throws std::invalid_argument when the estimates cover different
/// numbers of datapoints.
GapDecomposition decompose_gaps(const Estimate& log_px, const Estimate& qstar_elbo, const Estimate& amortized_elbo);

}  // namespace vigap
