#pragma once
// Which way an estimator errs: a typed record, written into the JSON as its text.
#include <string>

namespace vigap {

/// The direction of an estimator's bias for the quantity it is quoted for (an `Estimate`'s
/// value). An estimate may say more in Estimate::bias_note (e.g. "E[p̂] = p(x)").
enum class BiasDirection {
  exact,                   ///< no error beyond rounding and a stated tolerance (quadrature)
  unbiased,                ///< E[estimate] = quantity
  lower_bound,             ///< unbiased for a bound below the quantity: the ELBO and IWAE-K for log p(x)
  stochastic_lower_bound,  ///< E[exp(estimate)] = exp(quantity), so E[estimate] <= quantity (IS, AIS)
  stochastic_upper_bound,  ///< E[exp(-estimate)] = exp(-quantity), so E[estimate] >= quantity (reverse AIS)
  biased_low,              ///< E[estimate] <= quantity, not a bound per draw (a KL from a lower-bound log p(x))
  biased_high,             ///< E[estimate] >= quantity (a KL from an upper-bound log p(x), an SNR's noise floor)
  indeterminate,           ///< biases that can cancel (a difference of two lower bounds)
};

/// "exact", "unbiased", "lower bound", "stochastic lower bound", "stochastic upper bound",
/// "biased low", "biased high", "indeterminate": the text the JSON carries.
std::string to_string(BiasDirection direction);

/// The inverse of to_string; throws std::invalid_argument naming the text and the accepted ones.
BiasDirection parse_bias_direction(const std::string& text);

/// The bias of a difference a - b of two independent estimates, each direction taken for the
/// quantity that estimate is subtracted as (an ELBO estimate is unbiased for the ELBO, although
/// it is a lower bound on log p(x)). Exact - exact is exact; with an unbiased or exact other term,
/// a low a (lower bound, stochastic lower bound, biased low) or a high b gives biased low, and
/// the reverse biased high; two terms that err the same way give indeterminate. E.g. log p(x) by
/// AIS minus an unbiased ELBO estimate: biased low (the KL is underestimated).
BiasDirection bias_of_difference(BiasDirection a, BiasDirection b);

}  // namespace vigap
