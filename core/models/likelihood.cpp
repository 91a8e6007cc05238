#include "core/models/likelihood.hpp"

#include <stdexcept>

namespace vigap {

Likelihood parse_likelihood(const std::string& name) {
  if (name == "bernoulli") return Likelihood::bernoulli;
  if (name == "gaussian") return Likelihood::gaussian;
  throw std::invalid_argument("unknown likelihood '" + name + "': expected bernoulli or gaussian");
}

std::string to_string(Likelihood likelihood) {
  return likelihood == Likelihood::bernoulli ? "bernoulli" : "gaussian";
}

}  // namespace vigap
