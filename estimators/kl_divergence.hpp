#pragma once
// KL(q ‖ p(z|x)) = log p(x) - ELBO(q), from an estimate of each term.
#include "estimators/estimate.hpp"

namespace vigap {

/// Per datapoint KL_b = log p̂(x_b) - ELBO_b(q), with Monte Carlo standard error
/// sqrt(se_logp,b² + se_elbo,b²) (errors combined in quadrature: exact when the two estimates
/// use independent random streams, e.g. the distinct purposes of RandomStreams, else their
/// correlation makes this error only approximate). Values are not clamped at 0: a small
/// negative KL is noise.
/// Bias direction follows the log p(x) estimate's (the ELBO estimate is unbiased for the ELBO):
/// exact log p(x) -> unbiased; a lower bound or stochastic lower bound (IWAE, importance
/// sampling, AIS) -> biased low (the KL is underestimated by the bound's gap); an upper bound
/// (reverse AIS) -> biased high.
/// Throws std::invalid_argument when the two estimates cover different numbers of datapoints
/// or lack per-datapoint values.
Estimate kl_to_posterior_from_estimates(const Estimate& log_marginal_likelihood, const Estimate& elbo);

}  // namespace vigap
