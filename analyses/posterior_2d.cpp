#include "analyses/posterior_2d.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <utility>

#include "core/elapsed_seconds.hpp"
#include "core/io/json_array.hpp"
#include "core/io/markdown_table.hpp"
#include "core/variational/local_posterior_fit.hpp"
#include "estimators/kl_divergence_quadrature.hpp"
#include "estimators/posterior_discrepancy.hpp"

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


/// The marginal standard deviation of a Gaussian's coordinates from its covariance.
VectorD standard_deviations(const MatrixD& covariance) { return covariance.diagonal().cwiseSqrt(); }

/// Half-width on one axis: k posterior standard deviations, widened so that the 2.5-σ extent of
/// each approximation is inside too (at most 3k posterior standard deviations).
double half_width(double k, double posterior_mean, double posterior_sd, const std::vector<std::pair<double, double>>& others) {
  double h = k * posterior_sd;
  for (const auto& [mean, sd] : others) h = std::max(h, std::abs(mean - posterior_mean) + 2.5 * sd);
  return std::min(h, 3.0 * k * posterior_sd);
}

/// Unbiased MMD² between samples A (2 x N) and B (2 x M) with the Gaussian kernel
/// k(a, b) = exp(-‖W(a - b)‖² / 2), W = L⁻¹ the exact posterior's whitening (L Lᵀ = Cov[z|x]),
/// i.e. bandwidth one posterior standard deviation along every direction.
double squared_mmd(const MatrixD& A, const MatrixD& B, const MatrixD& posterior_cholesky) {
  const MatrixD a = posterior_cholesky.triangularView<Eigen::Lower>().solve(A);
  const MatrixD b = posterior_cholesky.triangularView<Eigen::Lower>().solve(B);
  const auto mean_kernel = [](const MatrixD& u, const MatrixD& v, bool same) {
    double sum = 0.0;
    for (Index i = 0; i < u.cols(); ++i)
      for (Index j = same ? i + 1 : 0; j < v.cols(); ++j) sum += std::exp(-0.5 * (u.col(i) - v.col(j)).squaredNorm());
    const double n = static_cast<double>(u.cols()), m = static_cast<double>(v.cols());
    return same ? 2.0 * sum / (n * (n - 1.0)) : sum / (n * m);
  };
  return mean_kernel(a, a, true) + mean_kernel(b, b, true) - 2.0 * mean_kernel(a, b, false);
}

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

/// What every datapoint's comparison uses, computed once for the batch.
struct BatchComputations {
  const ExactPosterior& exact;
  const DiagonalGaussian& q;
  const FullCovarianceGaussian& q_star;
  const LocalPosteriorFitResult& local;
  const QuadratureKlDivergence& kl_q;
  const QuadratureKlDivergence& kl_q_star;
  const HmcResult& chains;
  const MatrixD& exact_draws;      ///< mmd_samples per datapoint
  const MatrixD& exact_reference;  ///< chains · draws per datapoint
};

/// Each datapoint's grid (centred on E[z|x], widened for q and q*) with q's and q*'s
/// covariances; fills the datapoints' grid, q and q* fields. Returns the grids' nodes, 2 x (B·G),
/// datapoint b's grid in columns b·G ... (b+1)·G - 1.
MatrixD place_grids(const BatchComputations& c, const Posterior2dOptions& options,
                    std::vector<Posterior2dDatapoint>& datapoints) {
  const Index B = static_cast<Index>(datapoints.size()), n = options.grid_nodes, G = n * n;
  MatrixD all_points(2, B * G);
  for (Index b = 0; b < B; ++b) {
    Posterior2dDatapoint& r = datapoints[static_cast<std::size_t>(b)];
    const VectorD mp = c.exact.mean().col(b);
    const VectorD sp = standard_deviations(c.exact.covariance()[static_cast<std::size_t>(b)]);
    const VectorD mq = c.q.mean().col(b);
    const VectorD sq = c.q.log_variance().col(b).array().exp().sqrt();
    const MatrixD& L = c.q_star.cholesky_factors()[static_cast<std::size_t>(b)];
    const MatrixD q_star_cov = L * L.transpose();
    const VectorD sqs = standard_deviations(q_star_cov);
    const VectorD mqs = c.q_star.mean().col(b);
    r.q_mean = mq;
    r.q_covariance = sq.array().square().matrix().asDiagonal();
    r.q_star_mean = mqs;
    r.q_star_covariance = q_star_cov;
    const double wx = half_width(options.grid_half_width, mp(0), sp(0), {{mq(0), sq(0)}, {mqs(0), sqs(0)}});
    const double wy = half_width(options.grid_half_width, mp(1), sp(1), {{mq(1), sq(1)}, {mqs(1), sqs(1)}});
    r.z1 = VectorD::LinSpaced(n, mp(0) - wx, mp(0) + wx);
    r.z2 = VectorD::LinSpaced(n, mp(1) - wy, mp(1) + wy);
    all_points.middleCols(b * G, G) = GridBins2d{r.z1, r.z2, options.tv_cells_per_bin}.points();
  }
  return all_points;
}

/// Datapoint b's exact density on its grid, its KLs and its HMC draws against p(z|x).
void compare_datapoint(Index b, const BatchComputations& c, const Posterior2dOptions& options, Posterior2dDatapoint& r) {
  const std::size_t bs = static_cast<std::size_t>(b);
  const GridBins2d bins{r.z1, r.z2, options.tv_cells_per_bin};
  r.cell_area = bins.cell_area();
  r.log_exact = c.exact.log_density_on_grid(bins.points()).row(b).transpose();
  const VectorD cell_mass = r.log_exact.array().exp() * r.cell_area;
  r.exact_mass_on_grid = cell_mass.sum();

  r.posterior_mean = c.exact.mean().col(b);
  r.posterior_covariance = c.exact.covariance()[bs];
  const MatrixD& cov_p = r.posterior_covariance;
  const MatrixD Lp = cov_p.llt().matrixL();
  r.hmc_draws = c.chains.draws_of(b);
  const MatrixD& draws = r.hmc_draws;
  r.hmc_mean = draws.rowwise().mean();
  const MatrixD centered = draws.colwise() - r.hmc_mean;
  r.hmc_covariance = centered * centered.transpose() / static_cast<double>(draws.cols() - 1);
  r.hmc_mean_error = r.hmc_mean - r.posterior_mean;
  r.mean_error_in_posterior_sd = Lp.triangularView<Eigen::Lower>().solve(r.hmc_mean_error).norm();
  r.covariance_relative_frobenius_error = (r.hmc_covariance - cov_p).norm() / cov_p.norm();
  const Index mmd_samples = options.mmd_samples, hmc_samples = c.chains.chains * c.chains.draws_per_chain;
  const MatrixD exact_b = c.exact_draws.middleCols(b * mmd_samples, mmd_samples);
  const MatrixD reference_b = c.exact_reference.middleCols(b * hmc_samples, hmc_samples);
  r.total_variation = total_variation_of_draws(draws, bins, cell_mass);
  r.total_variation_iid = total_variation_of_draws(reference_b, bins, cell_mass);
  r.mmd_squared = squared_mmd(draws, exact_b, Lp);
  r.mmd_squared_iid = squared_mmd(reference_b, exact_b, Lp);
  r.r_hat = c.chains.diagnostics.r_hat.col(b);
  r.bulk_ess = c.chains.diagnostics.bulk_ess.col(b);

  r.log_marginal_likelihood = c.exact.log_marginal_likelihood().per_datapoint(b);
  r.log_marginal_likelihood_error = c.exact.log_marginal_likelihood().per_datapoint_standard_error(b);
  r.kl_q = c.kl_q.kl_divergence.per_datapoint(b);
  r.kl_q_error = c.kl_q.kl_divergence.per_datapoint_standard_error(b);
  r.kl_q_star = c.kl_q_star.kl_divergence.per_datapoint(b);
  r.kl_q_star_error = c.kl_q_star.kl_divergence.per_datapoint_standard_error(b);
  r.q_star_steps = c.local.iterations[bs];
  r.q_star_stopped_by_rule = c.local.stopped_by_rule[bs];
}

void check_inputs(const GenerativeModel& model, const DiagonalGaussian& encoder_q, const MatrixF& X,
                  const Posterior2dOptions& options, const RandomStreams& streams) {
  options.validate();
  if (model.latent_dim() != 2)
    throw std::invalid_argument("compute_posterior_2d_comparison needs latent dimension 2, the model has " +
                                std::to_string(model.latent_dim()));
  if (X.cols() < 1) throw std::invalid_argument("compute_posterior_2d_comparison: no datapoints");
  if (X.rows() != model.data_dim())
    throw std::invalid_argument("compute_posterior_2d_comparison: data have dimension " + std::to_string(X.rows()) +
                                ", the model expects " + std::to_string(model.data_dim()));
  if (encoder_q.num_datapoints() != X.cols() || encoder_q.latent_dim() != 2)
    throw std::invalid_argument("compute_posterior_2d_comparison: the encoder's q covers " +
                                std::to_string(encoder_q.num_datapoints()) + " datapoints of dimension " +
                                std::to_string(encoder_q.latent_dim()) + ", expected " + std::to_string(X.cols()) +
                                " of dimension 2");
  streams.check_size(X.cols(), "compute_posterior_2d_comparison");
}

}  // namespace

Posterior2dComparison compute_posterior_2d_comparison(const GenerativeModel& model, const DiagonalGaussian& encoder_q,
                                                      const MatrixF& X, const Posterior2dOptions& options,
                                                      const RandomStreams& streams, const ProgressReporter& progress) {
  check_inputs(model, encoder_q, X, options, streams);
  const Index B = X.cols();
  Posterior2dComparison result;
  result.model = model.describe();
  result.json_draws = options.json_draws;

  // Exact posterior: log p(x), E[z|x], Cov[z|x] by quadrature.
  auto start = std::chrono::steady_clock::now();
  const ExactPosterior exact(model, X, options.exact);
  result.exact_posterior_seconds = seconds_since(start);

  // The local q* started from the encoder's q.
  start = std::chrono::steady_clock::now();
  LocalFitOptions local_options;
  local_options.gaussian = options.local;  // validate() requires its family to be full_covariance
  const LocalPosteriorFitResult local =
      fit_local_posterior(model, X, PosteriorFamily::full, encoder_q, local_options, streams, progress);
  result.local_optimization_seconds = seconds_since(start);
  const FullCovarianceGaussian& q_star = local.full_covariance();

  // KL(q‖p) and KL(q*‖p) by quadrature against the exact log p(x).
  start = std::chrono::steady_clock::now();
  KlQuadratureOptions kl_options;
  kl_options.quadrature = options.exact.quadrature;
  const QuadratureKlDivergence kl_q =
      kl_divergence_by_quadrature(model, encoder_q, X, exact.log_marginal_likelihood(), kl_options, streams);
  const QuadratureKlDivergence kl_q_star = kl_divergence_by_quadrature(model, q_star, X, exact.log_marginal_likelihood(),
                                                                       kl_options, streams.with_substream(1));
  result.kl_quadrature_seconds = seconds_since(start);

  // HMC, all datapoints' chains in one batch.
  start = std::chrono::steady_clock::now();
  const HmcResult chains = hmc_sample_posterior(model, X, options.hmc, streams);
  result.hmc_seconds = seconds_since(start);

  // Exact-posterior reference draws: two independent sets (the second measures the discrepancy
  // measures' own noise floor at the HMC sample size).
  BatchRng exact_generators = streams.generators(StreamPurpose::exact_posterior_sampling);
  const MatrixD exact_draws = exact.sample(options.mmd_samples, exact_generators);
  const MatrixD exact_reference = exact.sample(options.hmc.chains * options.hmc.draws, exact_generators);

  const BatchComputations c{exact, encoder_q, q_star, local, kl_q, kl_q_star, chains, exact_draws, exact_reference};
  result.datapoints.resize(static_cast<std::size_t>(B));
  for (Index b = 0; b < B; ++b)
    result.datapoints[static_cast<std::size_t>(b)].datapoint = static_cast<Index>(streams.dataset_indices()[b]);
  const MatrixD all_points = place_grids(c, options, result.datapoints);
  // q's and q*'s densities on every grid, one call each.
  const Index G = options.grid_nodes * options.grid_nodes;
  start = std::chrono::steady_clock::now();
  const VectorD log_q_all = encoder_q.log_density(all_points, G);
  const VectorD log_q_star_all = q_star.log_density(all_points, G);
  result.grid_densities_seconds = seconds_since(start);

  for (Index b = 0; b < B; ++b) {
    Posterior2dDatapoint& r = result.datapoints[static_cast<std::size_t>(b)];
    r.log_q = log_q_all.segment(b * G, G);
    r.log_q_star = log_q_star_all.segment(b * G, G);
    compare_datapoint(b, c, options, r);
  }
  result.hmc_chains = chains.chains;
  result.hmc_draws_per_chain = chains.draws_per_chain;
  result.hmc_gradient_evaluations_per_datapoint = chains.gradient_evaluations / B;
  result.hmc_divergences = chains.divergences;
  result.hmc_mean_acceptance_rate = chains.acceptance_rate.mean();
  result.q_star_gradient_evaluations_per_datapoint = local.gradient_evaluations / B;
  result.mean_kl_q = kl_q.kl_divergence.per_datapoint.mean();
  result.mean_kl_q_star = kl_q_star.kl_divergence.per_datapoint.mean();
  result.exact_unconverged_datapoints = exact.quadrature().unconverged;
  return result;
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
