#include "analyses/posterior_2d.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <utility>

#include "analyses/posterior_2d_block.hpp"
#include "core/io/json_array.hpp"
#include "core/io/markdown_table.hpp"

namespace vigap {

HmcOptions Posterior2dOptions::default_hmc() {
  HmcOptions hmc;
  hmc.chains = 4;
  hmc.warmup = 500;
  hmc.draws = 500;
  return hmc;
}

LocalOptimizationOptions Posterior2dOptions::default_local() {
  LocalOptimizationOptions local;
  local.family = LocalGaussianFamily::full_covariance;
  return local;
}

void Posterior2dOptions::validate() const {
  if (grid_nodes < 11 || grid_nodes % 2 == 0)
    throw std::invalid_argument("--grid-nodes must be odd and >= 11, found " + std::to_string(grid_nodes));
  if (!(grid_half_width >= 1.0) || !std::isfinite(grid_half_width))
    throw std::invalid_argument("--grid-half-width must be >= 1 (posterior standard deviations), found " +
                                std::to_string(grid_half_width));
  if (mmd_samples < 2) throw std::invalid_argument("--mmd-samples must be >= 2, found " + std::to_string(mmd_samples));
  if (tv_cells_per_bin < 1) throw std::invalid_argument("--tv-cells-per-bin must be >= 1");
  if (json_draws < 0) throw std::invalid_argument("--json-draws must be >= 0");
  if (hmc.draws * hmc.chains < 2) throw std::invalid_argument("--hmc-draws x --hmc-chains must be >= 2 for the MMD");
  if (local.family != LocalGaussianFamily::full_covariance)
    throw std::invalid_argument("Posterior2dOptions::local.family must be full_covariance (q* is drawn as one)");
  hmc.validate();
  local.validate();
  exact.validate(2);
}

nlohmann::ordered_json Posterior2dOptions::to_json() const {
  nlohmann::ordered_json j;
  j["grid"] = {{"nodes_per_axis", grid_nodes},
               {"half_width_posterior_sd", grid_half_width},
               {"rule", "centered on E[z|x]; half-width per axis max(k sd_p, |mean_q - mean_p| + 2.5 sd_q over q, q*), at most 3k sd_p"}};
  j["hmc"] = hmc.to_json();
  j["local_optimization"] = {{"family", to_string(local.family)},
                             {"max_steps", local.max_steps},
                             {"samples_per_step", local.samples_per_step},
                             {"initial", "encoder"}};
  j["total_variation_cells_per_bin"] = tv_cells_per_bin;
  j["mmd"] = {{"exact_samples", mmd_samples},
              {"kernel", "exp(-|L^-1 (a - b)|^2 / 2), L L^T = Cov[z|x]"},
              {"estimator", "unbiased MMD^2"}};
  return j;
}

namespace {

/// Every step-th column so that at most `count` remain (count 0: none).
MatrixD thin_columns(const MatrixD& Z, Index count) {
  if (count <= 0) return MatrixD(Z.rows(), 0);
  if (Z.cols() <= count) return Z;
  const double step = static_cast<double>(Z.cols()) / static_cast<double>(count);
  MatrixD out(Z.rows(), count);
  for (Index k = 0; k < count; ++k) out.col(k) = Z.col(static_cast<Index>(k * step));
  return out;
}


nlohmann::ordered_json to_json_matrix(const MatrixD& m) {  // row by row
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (Index r = 0; r < m.rows(); ++r) a.push_back(to_json_array(m.row(r).transpose()));
  return a;
}

/// log densities on the grid as rows j (z2) of columns i (z1); -inf (underflow) stored as -1e300
/// because JSON has no infinity.
nlohmann::ordered_json grid_values_to_json(const VectorD& values, Index nx, Index ny) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (Index j = 0; j < ny; ++j) {
    nlohmann::ordered_json row = nlohmann::ordered_json::array();
    for (Index i = 0; i < nx; ++i) {
      const double v = values(i + nx * j);
      row.push_back(std::isfinite(v) ? v : -1e300);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

Posterior2dComparison compute_posterior_2d_comparison(const GenerativeModel& model, const DiagonalGaussian& encoder_q,
                                                      const MatrixF& X, const Posterior2dOptions& options,
                                                      const RandomStreams& streams, const ProgressReporter& progress) {
  // One block of every datapoint: the same code as any split into blocks.
  return assemble_posterior_2d({compute_posterior_2d_block(model, encoder_q, X, options, streams, 0, progress)});
}

namespace {

nlohmann::ordered_json hmc_json(const Posterior2dDatapoint& r, Index json_draws, Index gradient_evaluations) {
  const MatrixD kept = r.thinned_hmc_draws(json_draws);
  return {{"draws", {{"z1", to_json_array(kept.row(0).transpose())}, {"z2", to_json_array(kept.row(1).transpose())}}},
          {"draws_total", r.hmc_draws.cols()},
          {"mean", to_json_array(r.hmc_mean)},
          {"covariance", to_json_matrix(r.hmc_covariance)},
          {"mean_error", to_json_array(r.hmc_mean_error)},
          {"mean_error_in_posterior_sd", r.mean_error_in_posterior_sd},
          {"covariance_relative_frobenius_error", r.covariance_relative_frobenius_error},
          {"total_variation", r.total_variation},
          {"total_variation_iid_exact_reference", r.total_variation_iid},
          {"mmd_squared", r.mmd_squared},
          {"mmd", std::sqrt(std::max(0.0, r.mmd_squared))},
          {"mmd_squared_iid_exact_reference", r.mmd_squared_iid},
          {"mmd_iid_exact_reference", std::sqrt(std::max(0.0, r.mmd_squared_iid))},
          {"r_hat", to_json_array(r.r_hat)},
          {"bulk_ess", to_json_array(r.bulk_ess)},
          {"gradient_evaluations", gradient_evaluations}};
}

}  // namespace

MatrixD Posterior2dDatapoint::thinned_hmc_draws(Index count) const { return thin_columns(hmc_draws, count); }

nlohmann::ordered_json Posterior2dComparison::results_json(const std::vector<int>& labels) const {
  nlohmann::ordered_json per_datapoint = nlohmann::ordered_json::array();
  for (std::size_t b = 0; b < datapoints.size(); ++b) {
    const Posterior2dDatapoint& p = datapoints[b];
    const Index n = p.z1.size();
    nlohmann::ordered_json r;
    r["datapoint"] = p.datapoint;
    if (!labels.empty()) r["label"] = labels.at(b);
    r["log_marginal_likelihood"] = p.log_marginal_likelihood;
    r["log_marginal_likelihood_error_estimate"] = p.log_marginal_likelihood_error;
    r["posterior_mean"] = to_json_array(p.posterior_mean);
    r["posterior_covariance"] = to_json_matrix(p.posterior_covariance);
    r["q"] = {{"mean", to_json_array(p.q_mean)}, {"covariance", to_json_matrix(p.q_covariance)}};
    r["q_star"] = {{"mean", to_json_array(p.q_star_mean)},
                   {"covariance", to_json_matrix(p.q_star_covariance)},
                   {"steps", p.q_star_steps},
                   {"stopped_by_rule", p.q_star_stopped_by_rule}};
    r["kl_q_to_posterior"] = p.kl_q;
    r["kl_q_to_posterior_error_estimate"] = p.kl_q_error;
    r["kl_q_star_to_posterior"] = p.kl_q_star;
    r["kl_q_star_to_posterior_error_estimate"] = p.kl_q_star_error;
    r["grid"] = {{"z1", to_json_array(p.z1)},
                 {"z2", to_json_array(p.z2)},
                 {"cell_area", p.cell_area},
                 {"layout", "log_density.<name>[j][i] is at (z1[i], z2[j])"},
                 {"exact_mass_on_grid", p.exact_mass_on_grid}};
    r["log_density"] = {{"exact", grid_values_to_json(p.log_exact, n, n)},
                        {"q", grid_values_to_json(p.log_q, n, n)},
                        {"q_star", grid_values_to_json(p.log_q_star, n, n)}};
    r["hmc"] = hmc_json(p, json_draws, hmc_gradient_evaluations_per_datapoint);
    per_datapoint.push_back(std::move(r));
  }
  nlohmann::ordered_json results;
  results["datapoints"] = std::move(per_datapoint);
  results["hmc_gradient_evaluations_per_datapoint"] = hmc_gradient_evaluations_per_datapoint;
  results["hmc_divergences"] = hmc_divergences;
  results["hmc_mean_acceptance_rate"] = hmc_mean_acceptance_rate;
  results["q_star_gradient_evaluations_per_datapoint"] = q_star_gradient_evaluations_per_datapoint;
  results["mean_kl_q_to_posterior"] = mean_kl_q;
  results["mean_kl_q_star_to_posterior"] = mean_kl_q_star;
  results["exact_unconverged_datapoints"] = exact_unconverged_datapoints;
  return results;
}

nlohmann::ordered_json Posterior2dComparison::timings_json() const {
  return {{"exact_posterior_seconds", exact_posterior_seconds},
          {"local_optimization_seconds", local_optimization_seconds},
          {"kl_quadrature_seconds", kl_quadrature_seconds},
          {"hmc_seconds", hmc_seconds},
          {"grid_densities_seconds", grid_densities_seconds}};
}

std::string Posterior2dComparison::to_markdown() const {
  const auto number = [](const char* pattern, double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, pattern, value);
    return std::string(buffer);
  };
  std::vector<std::vector<std::string>> cells;
  for (const Posterior2dDatapoint& p : datapoints)
    cells.push_back({std::to_string(p.datapoint), number("%.3f", p.log_marginal_likelihood), number("%.4f", p.kl_q),
                     number("%.4f", p.kl_q_star), number("%.6f", p.exact_mass_on_grid),
                     number("%.4f", p.total_variation), number("%.2e", p.mmd_squared),
                     number("%.2e", p.mmd_squared_iid)});
  std::string out = markdown_table(
      {"datapoint", "log p(x)", "KL(q‖p)", "KL(q*‖p)", "grid mass", "HMC TV", "HMC MMD²", "iid MMD²"}, cells);
  char line[256];
  std::snprintf(line, sizeof line,
                "\nHMC: %lld gradient evaluations per datapoint, acceptance %.2f, %lld divergences; q*: %lld per "
                "datapoint\n",
                static_cast<long long>(hmc_gradient_evaluations_per_datapoint), hmc_mean_acceptance_rate,
                static_cast<long long>(hmc_divergences), static_cast<long long>(q_star_gradient_evaluations_per_datapoint));
  return out + line;
}

}  // namespace vigap
