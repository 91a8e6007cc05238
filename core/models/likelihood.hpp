#pragma once
// The observation model p(x|z) of a decoder: which distribution its output parameterizes.
#include <string>

namespace vigap {

/// The observation model p(x|z) of a decoder with output η = decoder(z).
enum class Likelihood {
  /// p(x|z) = Π_i σ(l_i)^{x_i} (1 - σ(l_i))^{1 - x_i}, l = decoder(z) ∈ R^D (logits);
  /// log p(x|z) = Σ_i x_i l_i - softplus(l_i). Defined for x_i in [0, 1].
  bernoulli,
  /// p(x|z) = Π_i N(x_i; m_i, exp(s_i)), (m, s) = decoder(z) ∈ R^{2D} (means, log-variances).
  gaussian,
};

/// Parses "bernoulli" or "gaussian".
Likelihood parse_likelihood(const std::string& name);
std::string to_string(Likelihood likelihood);

}  // namespace vigap
