#include "samplers/convergence_diagnostics.hpp"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace vigap {

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();
}

MatrixD split_chains(const MatrixD& draws) {
  const Index n = draws.rows();
  const Index C = draws.cols();
  const Index half = n / 2;
  MatrixD out(half, 2 * C);
  for (Index c = 0; c < C; ++c) {
    out.col(2 * c) = draws.col(c).head(half);
    out.col(2 * c + 1) = draws.col(c).tail(half);
  }
  return out;
}

MatrixD rank_normalize(const MatrixD& draws) {
  const Index S = draws.size();
  std::vector<Index> order(static_cast<size_t>(S));
  std::iota(order.begin(), order.end(), Index{0});
  const double* v = draws.data();
  std::stable_sort(order.begin(), order.end(), [v](Index a, Index b) { return v[a] < v[b]; });
  MatrixD out(draws.rows(), draws.cols());
  double* o = out.data();
  const boost::math::normal_distribution<double> normal;
  Index i = 0;
  while (i < S) {
    Index j = i;
    while (j + 1 < S && v[order[j + 1]] == v[order[i]]) ++j;
    const double rank = 0.5 * static_cast<double>(i + j) + 1.0;  // average 1-based rank of the ties
    const double z = boost::math::quantile(normal, (rank - 0.375) / (static_cast<double>(S) + 0.25));
    for (Index k = i; k <= j; ++k) o[order[k]] = z;
    i = j + 1;
  }
  return out;
}

double potential_scale_reduction(const MatrixD& chains) {
  const Index n = chains.rows();
  const Index m = chains.cols();
  if (n < 2 || m < 1) return kNaN;
  const VectorD means = chains.colwise().mean().transpose();
  double within = 0.0;
  for (Index c = 0; c < m; ++c) within += (chains.col(c).array() - means(c)).square().sum() / (n - 1.0);
  within /= static_cast<double>(m);
  const double between_over_n = m > 1 ? (means.array() - means.mean()).square().sum() / (m - 1.0) : 0.0;
  if (!(within > 0.0)) return kNaN;
  const double var_plus = (n - 1.0) / n * within + between_over_n;
  return std::sqrt(var_plus / within);
}

double effective_sample_size_of_chains(const MatrixD& chains) {
  const Index n = chains.rows();
  const Index m = chains.cols();
  if (n < 4 || m < 1) return kNaN;
  const VectorD means = chains.colwise().mean().transpose();
  const MatrixD centered = chains.rowwise() - means.transpose();
  // Biased (1/n) autocovariance of every chain at a lag, averaged over chains.
  auto mean_autocovariance = [&](Index lag) {
    double total = 0.0;
    for (Index c = 0; c < m; ++c)
      total += centered.col(c).head(n - lag).dot(centered.col(c).tail(n - lag)) / static_cast<double>(n);
    return total / static_cast<double>(m);
  };
  const double mean_var = mean_autocovariance(0) * n / (n - 1.0);
  double var_plus = mean_var * (n - 1.0) / n;
  if (m > 1) var_plus += (means.array() - means.mean()).square().sum() / (m - 1.0);
  if (!(var_plus > 0.0) || !std::isfinite(var_plus)) return kNaN;

  VectorD rho = VectorD::Zero(n);
  double rho_even = 1.0;
  rho(0) = rho_even;
  double rho_odd = 1.0 - (mean_var - mean_autocovariance(1)) / var_plus;
  rho(1) = rho_odd;
  Index s = 1;
  while (s < n - 4 && rho_even + rho_odd > 0.0) {
    rho_even = 1.0 - (mean_var - mean_autocovariance(s + 1)) / var_plus;
    rho_odd = 1.0 - (mean_var - mean_autocovariance(s + 2)) / var_plus;
    if (rho_even + rho_odd >= 0.0) {
      rho(s + 1) = rho_even;
      rho(s + 2) = rho_odd;
    }
    s += 2;
  }
  const Index max_s = s;
  if (rho_even > 0.0) rho(max_s + 1) = rho_even;
  for (Index t = 1; t <= max_s - 3; t += 2) {  // initial monotone sequence
    if (rho(t + 1) + rho(t + 2) > rho(t - 1) + rho(t)) {
      rho(t + 1) = 0.5 * (rho(t - 1) + rho(t));
      rho(t + 2) = rho(t + 1);
    }
  }
  const double total = static_cast<double>(n * m);
  // τ̂ can fall below 1/log10(S) (even below 0) for strongly antithetic chains; as in ArviZ, it is
  // bounded there, which caps the ESS at S log10 S.
  const double tau = std::max(-1.0 + 2.0 * rho.head(max_s).sum() + rho(max_s + 1), 1.0 / std::log10(total));
  return total / tau;
}

double split_r_hat(const MatrixD& draws) { return potential_scale_reduction(split_chains(draws)); }

double split_effective_sample_size(const MatrixD& draws) {
  return effective_sample_size_of_chains(split_chains(draws));
}

double rank_normalized_split_r_hat(const MatrixD& draws) {
  const MatrixD split = split_chains(draws);
  const double bulk = potential_scale_reduction(rank_normalize(split));
  std::vector<double> values(split.data(), split.data() + split.size());
  if (values.empty()) return kNaN;
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  double median = values[mid];
  if (values.size() % 2 == 0) {
    const double lower = *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
    median = 0.5 * (median + lower);
  }
  const MatrixD folded = (split.array() - median).abs().matrix();
  const double tail = potential_scale_reduction(rank_normalize(folded));
  if (std::isnan(bulk) || std::isnan(tail)) return kNaN;
  return std::max(bulk, tail);
}

double bulk_effective_sample_size(const MatrixD& draws) {
  return effective_sample_size_of_chains(rank_normalize(split_chains(draws)));
}

MatrixD chains_of(const MatrixD& draws, Index datapoint, Index coordinate, Index chains, Index draws_per_chain) {
  MatrixD out(draws_per_chain, chains);
  for (Index c = 0; c < chains; ++c)
    out.col(c) = draws.row(coordinate).segment((datapoint * chains + c) * draws_per_chain, draws_per_chain).transpose();
  return out;
}

ConvergenceDiagnostics convergence_diagnostics(const MatrixD& draws, Index num_datapoints, Index chains,
                                               Index draws_per_chain) {
  if (num_datapoints < 1 || chains < 1 || draws_per_chain < 1 ||
      draws.cols() != num_datapoints * chains * draws_per_chain)
    throw std::invalid_argument("convergence_diagnostics: expected " + std::to_string(num_datapoints) + " x " +
                                std::to_string(chains) + " x " + std::to_string(draws_per_chain) +
                                " draw columns, found " + std::to_string(draws.cols()));
  const Index d = draws.rows();
  ConvergenceDiagnostics out{MatrixD(d, num_datapoints), MatrixD(d, num_datapoints)};
  for (Index b = 0; b < num_datapoints; ++b)
    for (Index j = 0; j < d; ++j) {
      const MatrixD x = chains_of(draws, b, j, chains, draws_per_chain);
      out.r_hat(j, b) = rank_normalized_split_r_hat(x);
      out.bulk_ess(j, b) = bulk_effective_sample_size(x);
    }
  return out;
}

}  // namespace vigap
