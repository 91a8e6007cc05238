#include "analyses/posterior_2d_block.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/elapsed_seconds.hpp"
#include "core/io/exact_json.hpp"
#include "core/io/json_fields.hpp"
#include "core/variational/local_posterior_fit.hpp"
#include "estimators/kl_divergence_quadrature.hpp"
#include "estimators/posterior_discrepancy.hpp"

namespace vigap {

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

Posterior2dBlock compute_posterior_2d_block(const GenerativeModel& model, const DiagonalGaussian& encoder_q,
                                            const MatrixF& X, const Posterior2dOptions& options,
                                            const RandomStreams& streams, Index first, const ProgressReporter& progress) {
  check_inputs(model, encoder_q, X, options, streams);
  if (first < 0) throw std::invalid_argument("compute_posterior_2d_block: first must be >= 0, found " + std::to_string(first));
  const Index B = X.cols();
  Posterior2dBlock result;
  result.first = first;
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
  // The block's sums and per-chain values: assemble_posterior_2d makes the run's figures of them.
  result.hmc_acceptance_rate = chains.acceptance_rate;
  result.hmc_gradient_evaluations = chains.gradient_evaluations;
  result.hmc_divergences = chains.divergences;
  result.q_star_gradient_evaluations = local.gradient_evaluations;
  result.exact_unconverged_datapoints = exact.quadrature().unconverged;
  return result;
}

namespace {

/// A matrix exactly: {"rows", "cols", "values": its entries column by column (exact_json)}.
nlohmann::ordered_json exact_matrix_json(const MatrixD& m) {
  nlohmann::ordered_json j;
  j["rows"] = m.rows();
  j["cols"] = m.cols();
  j["values"] = exact_json(VectorD(Eigen::Map<const VectorD>(m.data(), m.size())));
  return j;
}

/// The matrix exact_matrix_json wrote. Throws std::invalid_argument naming `what` when its values
/// are not rows · cols numbers.
MatrixD exact_matrix(const nlohmann::ordered_json& m, const std::string& what) {
  const Index rows = json_field<Index>(m, "rows", what), cols = json_field<Index>(m, "cols", what);
  const VectorD values = exact_vector(nlohmann::json(json_member(m, "values", what)), what + ".values");
  if (rows < 0 || cols < 0 || values.size() != rows * cols)
    throw std::invalid_argument(what + ": " + std::to_string(values.size()) + " values for a " + std::to_string(rows) +
                                " x " + std::to_string(cols) + " matrix");
  return MatrixD(Eigen::Map<const MatrixD>(values.data(), rows, cols));
}

/// The numeric members of a struct by JSON key, written and read back exactly: one list serves
/// both directions.
template <class Owner>
struct ExactFields {
  std::vector<std::pair<const char*, Index Owner::*>> integers;
  std::vector<std::pair<const char*, double Owner::*>> doubles;
  std::vector<std::pair<const char*, VectorD Owner::*>> vectors;
  std::vector<std::pair<const char*, MatrixD Owner::*>> matrices;

  void write(const Owner& o, nlohmann::ordered_json& j) const {
    for (const auto& [key, member] : integers) j[key] = o.*member;
    for (const auto& [key, member] : doubles) j[key] = exact_json(o.*member);
    for (const auto& [key, member] : vectors) j[key] = exact_json(o.*member);
    for (const auto& [key, member] : matrices) j[key] = exact_matrix_json(o.*member);
  }
  /// Throws std::invalid_argument naming `what` and the key of a missing or malformed member.
  void read(const nlohmann::ordered_json& j, const std::string& what, Owner& o) const {
    for (const auto& [key, member] : integers) o.*member = json_field<Index>(j, key, what);
    for (const auto& [key, member] : doubles)
      o.*member = exact_double(nlohmann::json(json_member(j, key, what)), what + "." + key);
    for (const auto& [key, member] : vectors)
      o.*member = exact_vector(nlohmann::json(json_member(j, key, what)), what + "." + key);
    for (const auto& [key, member] : matrices) o.*member = exact_matrix(json_member(j, key, what), what + "." + key);
  }
};

using P = Posterior2dDatapoint;
const ExactFields<P> kDatapointFields{
    {{"datapoint", &P::datapoint}, {"q_star_steps", &P::q_star_steps}},
    {{"cell_area", &P::cell_area},
     {"exact_mass_on_grid", &P::exact_mass_on_grid},
     {"log_marginal_likelihood", &P::log_marginal_likelihood},
     {"log_marginal_likelihood_error", &P::log_marginal_likelihood_error},
     {"kl_q", &P::kl_q},
     {"kl_q_error", &P::kl_q_error},
     {"kl_q_star", &P::kl_q_star},
     {"kl_q_star_error", &P::kl_q_star_error},
     {"mean_error_in_posterior_sd", &P::mean_error_in_posterior_sd},
     {"covariance_relative_frobenius_error", &P::covariance_relative_frobenius_error},
     {"total_variation", &P::total_variation},
     {"total_variation_iid", &P::total_variation_iid},
     {"mmd_squared", &P::mmd_squared},
     {"mmd_squared_iid", &P::mmd_squared_iid}},
    {{"z1", &P::z1},
     {"z2", &P::z2},
     {"log_exact", &P::log_exact},
     {"log_q", &P::log_q},
     {"log_q_star", &P::log_q_star},
     {"posterior_mean", &P::posterior_mean},
     {"q_mean", &P::q_mean},
     {"q_star_mean", &P::q_star_mean},
     {"hmc_mean", &P::hmc_mean},
     {"hmc_mean_error", &P::hmc_mean_error},
     {"r_hat", &P::r_hat},
     {"bulk_ess", &P::bulk_ess}},
    {{"posterior_covariance", &P::posterior_covariance},
     {"q_covariance", &P::q_covariance},
     {"q_star_covariance", &P::q_star_covariance},
     {"hmc_draws", &P::hmc_draws},
     {"hmc_covariance", &P::hmc_covariance}}};

using Block = Posterior2dBlock;
const ExactFields<Block> kBlockFields{
    {{"first", &Block::first},
     {"hmc_chains", &Block::hmc_chains},
     {"hmc_draws_per_chain", &Block::hmc_draws_per_chain},
     {"json_draws", &Block::json_draws},
     {"hmc_gradient_evaluations", &Block::hmc_gradient_evaluations},
     {"hmc_divergences", &Block::hmc_divergences},
     {"q_star_gradient_evaluations", &Block::q_star_gradient_evaluations},
     {"exact_unconverged_datapoints", &Block::exact_unconverged_datapoints}},
    {{"exact_posterior_seconds", &Block::exact_posterior_seconds},
     {"local_optimization_seconds", &Block::local_optimization_seconds},
     {"kl_quadrature_seconds", &Block::kl_quadrature_seconds},
     {"hmc_seconds", &Block::hmc_seconds},
     {"grid_densities_seconds", &Block::grid_densities_seconds}},
    {{"hmc_acceptance_rate", &Block::hmc_acceptance_rate}},
    {}};

nlohmann::ordered_json datapoint_to_json(const Posterior2dDatapoint& p) {
  nlohmann::ordered_json j;
  kDatapointFields.write(p, j);
  j["q_star_stopped_by_rule"] = p.q_star_stopped_by_rule;
  return j;
}

Posterior2dDatapoint datapoint_from_json(const nlohmann::ordered_json& j, const std::string& what) {
  Posterior2dDatapoint p;
  kDatapointFields.read(j, what, p);
  p.q_star_stopped_by_rule = json_field<bool>(j, "q_star_stopped_by_rule", what);
  // The shapes results_json and the picture rely on.
  const Index nodes = p.z1.size() * p.z2.size();
  if (p.z1.size() < 2 || p.z2.size() < 2 || p.log_exact.size() != nodes || p.log_q.size() != nodes ||
      p.log_q_star.size() != nodes)
    throw std::invalid_argument(what + ": a grid of " + std::to_string(p.z1.size()) + " x " + std::to_string(p.z2.size()) +
                                " nodes with " + std::to_string(p.log_exact.size()) + ", " + std::to_string(p.log_q.size()) +
                                " and " + std::to_string(p.log_q_star.size()) + " log densities");
  if (p.hmc_draws.rows() != 2)
    throw std::invalid_argument(what + ".hmc_draws: expected 2 rows, found " + std::to_string(p.hmc_draws.rows()));
  return p;
}

}  // namespace

nlohmann::ordered_json Posterior2dBlock::to_json() const {
  nlohmann::ordered_json j;
  j["model"] = model;
  kBlockFields.write(*this, j);
  nlohmann::ordered_json points = nlohmann::ordered_json::array();
  for (const Posterior2dDatapoint& p : datapoints) points.push_back(datapoint_to_json(p));
  j["datapoints"] = std::move(points);
  return j;
}

Posterior2dBlock posterior_2d_block_from_json(const nlohmann::ordered_json& j, const std::string& what) {
  Posterior2dBlock b;
  b.model = json_field<std::string>(j, "model", what);
  kBlockFields.read(j, what, b);
  const nlohmann::ordered_json& points = json_member(j, "datapoints", what);
  if (!points.is_array()) throw std::invalid_argument(what + ".datapoints: expected an array");
  for (std::size_t i = 0; i < points.size(); ++i)
    b.datapoints.push_back(datapoint_from_json(points[i], what + ".datapoints[" + std::to_string(i) + "]"));
  if (b.hmc_acceptance_rate.size() != b.hmc_chains * b.size())
    throw std::invalid_argument(what + ": " + std::to_string(b.hmc_acceptance_rate.size()) +
                                " HMC acceptance rates for " + std::to_string(b.size()) + " datapoints of " +
                                std::to_string(b.hmc_chains) + " chains");
  for (std::size_t i = 0; i < b.datapoints.size(); ++i)
    if (b.datapoints[i].hmc_draws.cols() != b.hmc_chains * b.hmc_draws_per_chain)
      throw std::invalid_argument(what + ".datapoints[" + std::to_string(i) + "]: " +
                                  std::to_string(b.datapoints[i].hmc_draws.cols()) + " HMC draws, expected " +
                                  std::to_string(b.hmc_chains) + " x " + std::to_string(b.hmc_draws_per_chain));
  return b;
}

namespace {

/// Blocks in run order, each starting where the previous one ends, none empty, all of one run.
void check_consecutive(const std::vector<Posterior2dBlock>& blocks) {
  if (blocks.empty()) throw std::invalid_argument("assemble_posterior_2d: no blocks");
  const Posterior2dBlock& first = blocks.front();
  Index next = first.first;
  for (const Posterior2dBlock& b : blocks) {
    if (b.first != next || b.size() < 1)
      throw std::invalid_argument("assemble_posterior_2d: a block of " + std::to_string(b.size()) +
                                  " datapoints starts at " + std::to_string(b.first) + ", expected " +
                                  std::to_string(next) + " (blocks must be consecutive, in order, and not empty)");
    next += b.size();
    if (b.model != first.model || b.hmc_chains != first.hmc_chains ||
        b.hmc_draws_per_chain != first.hmc_draws_per_chain || b.json_draws != first.json_draws)
      throw std::invalid_argument("assemble_posterior_2d: the block at " + std::to_string(b.first) +
                                  " was computed with another model or settings than the first (" + b.model + ", " +
                                  std::to_string(b.hmc_chains) + " x " + std::to_string(b.hmc_draws_per_chain) +
                                  " HMC draws, " + std::to_string(b.json_draws) + " kept; the first: " + first.model +
                                  ", " + std::to_string(first.hmc_chains) + " x " +
                                  std::to_string(first.hmc_draws_per_chain) + ", " + std::to_string(first.json_draws) + ")");
    if (b.hmc_acceptance_rate.size() != b.hmc_chains * b.size())
      throw std::invalid_argument("assemble_posterior_2d: the block at " + std::to_string(b.first) + " has " +
                                  std::to_string(b.hmc_acceptance_rate.size()) + " HMC acceptance rates, expected " +
                                  std::to_string(b.hmc_chains * b.size()));
  }
}

}  // namespace

Posterior2dComparison assemble_posterior_2d(const std::vector<Posterior2dBlock>& blocks) {
  check_consecutive(blocks);
  const Posterior2dBlock& first = blocks.front();
  Posterior2dComparison result;
  result.model = first.model;
  result.hmc_chains = first.hmc_chains;
  result.hmc_draws_per_chain = first.hmc_draws_per_chain;
  result.json_draws = first.json_draws;
  Index hmc_gradient_evaluations = 0, q_star_gradient_evaluations = 0, chains = 0;
  for (const Posterior2dBlock& b : blocks) chains += b.hmc_acceptance_rate.size();
  VectorD acceptance(chains);
  chains = 0;
  for (const Posterior2dBlock& b : blocks) {
    result.datapoints.insert(result.datapoints.end(), b.datapoints.begin(), b.datapoints.end());
    acceptance.segment(chains, b.hmc_acceptance_rate.size()) = b.hmc_acceptance_rate;
    chains += b.hmc_acceptance_rate.size();
    hmc_gradient_evaluations += b.hmc_gradient_evaluations;
    q_star_gradient_evaluations += b.q_star_gradient_evaluations;
    result.hmc_divergences += b.hmc_divergences;
    result.exact_unconverged_datapoints += b.exact_unconverged_datapoints;
    result.exact_posterior_seconds += b.exact_posterior_seconds;
    result.local_optimization_seconds += b.local_optimization_seconds;
    result.kl_quadrature_seconds += b.kl_quadrature_seconds;
    result.hmc_seconds += b.hmc_seconds;
    result.grid_densities_seconds += b.grid_densities_seconds;
  }
  const Index B = static_cast<Index>(result.datapoints.size());
  VectorD kl_q(B), kl_q_star(B);
  for (Index i = 0; i < B; ++i) {
    kl_q(i) = result.datapoints[static_cast<std::size_t>(i)].kl_q;
    kl_q_star(i) = result.datapoints[static_cast<std::size_t>(i)].kl_q_star;
  }
  result.hmc_gradient_evaluations_per_datapoint = hmc_gradient_evaluations / B;
  result.q_star_gradient_evaluations_per_datapoint = q_star_gradient_evaluations / B;
  result.hmc_mean_acceptance_rate = acceptance.mean();
  result.mean_kl_q = kl_q.mean();
  result.mean_kl_q_star = kl_q_star.mean();
  return result;
}

}  // namespace vigap
