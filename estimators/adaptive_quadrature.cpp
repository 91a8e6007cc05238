#include "estimators/adaptive_quadrature.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

namespace vigap {

namespace {

const double kInfinity = std::numeric_limits<double>::infinity();
/// A refined pass evaluates nodes in blocks of max_latent_columns_per_call / kDatapointsPerRefinedCall
/// (or the whole grid when smaller), so that at least this many datapoints fit in one call.
constexpr Index kDatapointsPerRefinedCall = 16;
// Half-rule differences above this are never blamed on the integrand's rounding: float decoders
// put a floor of ~1e-6 (small D) to ~1e-5 nats (D = 784) under any grid (QuadratureOptions::tolerance).
const double kRoundingFloorCeiling = 1e-4;

void require(bool ok, const std::string& option, const std::string& expected, const std::string& found) {
  if (!ok)
    throw std::invalid_argument("QuadratureOptions: " + option + " must be " + expected + ", found " + found);
}

std::string str(double v) { return std::to_string(v); }
std::string str(Index v) { return std::to_string(v); }

// Lower Cholesky factor of a symmetric positive (semi)definite matrix, with growing jitter
// when the factorization fails numerically.
MatrixD cholesky_lower(const MatrixD& covariance) {
  const Index d = covariance.rows();
  MatrixD c = 0.5 * (covariance + covariance.transpose());
  double jitter = 1e-14 * std::max(1.0, c.diagonal().cwiseAbs().maxCoeff());
  for (int attempt = 0; attempt < 40; ++attempt) {
    Eigen::LLT<MatrixD> llt(c);
    if (llt.info() == Eigen::Success && (llt.matrixL().toDenseMatrix().diagonal().array() > 0.0).all())
      return llt.matrixL();
    c += jitter * MatrixD::Identity(d, d);
    jitter *= 10.0;
  }
  throw std::runtime_error("adaptive quadrature: covariance is not positive definite");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// QuadratureOptions

Index QuadratureOptions::coarse_nodes(Index d) const {
  if (coarse_nodes_per_dimension > 0) return coarse_nodes_per_dimension;
  return d == 1 ? 1401 : d == 2 ? 141 : 41;
}

Index QuadratureOptions::refined_nodes(Index d) const {
  if (refined_nodes_per_dimension > 0) return refined_nodes_per_dimension;
  return d == 1 ? 65 : d == 2 ? 33 : 29;
}

Index QuadratureOptions::max_refined_nodes(Index d) const {
  if (max_refined_nodes_per_dimension > 0) return max_refined_nodes_per_dimension;
  return std::max(refined_nodes(d), d == 1 ? Index{4097} : d == 2 ? Index{257} : Index{57});
}

void QuadratureOptions::validate(Index latent_dim) const {
  if (latent_dim > 3)
    throw std::invalid_argument(
        "quadrature: latent dimension is " + std::to_string(latent_dim) +
        ", at most 3 is supported: the number of grid nodes, and so the cost, is exponential in the latent "
        "dimension (n^d nodes per datapoint); use AIS (estimators/ais) for log p(x) in higher dimensions");
  require(latent_dim >= 1, "the latent dimension", ">= 1", str(latent_dim));
  require(prior_half_width > 0.0 && std::isfinite(prior_half_width), "prior_half_width", "positive and finite",
          str(prior_half_width));
  auto check_nodes = [](Index n, const char* name) {
    require(n == 0 || (n >= 3 && n % 2 == 1), name, "0 (automatic) or odd and >= 3", str(n));
  };
  check_nodes(coarse_nodes_per_dimension, "coarse_nodes_per_dimension");
  check_nodes(refined_nodes_per_dimension, "refined_nodes_per_dimension");
  require(max_refined_nodes_per_dimension == 0 || max_refined_nodes_per_dimension >= refined_nodes(latent_dim),
          "max_refined_nodes_per_dimension",
          "0 (automatic) or at least the refined nodes per dimension (" + str(refined_nodes(latent_dim)) + ")",
          str(max_refined_nodes_per_dimension));
  require(refined_half_width > 0.0 && std::isfinite(refined_half_width), "refined_half_width",
          "positive and finite", str(refined_half_width));
  require(tolerance > 0.0, "tolerance", "positive", str(tolerance));
  require(max_refinements >= 0, "max_refinements", ">= 0", str(max_refinements));
  require(datapoint_chunk_size >= 1, "datapoint_chunk_size", ">= 1", str(datapoint_chunk_size));
  require(grid_block_size >= 1, "grid_block_size", ">= 1", str(grid_block_size));
  require(max_latent_columns_per_call >= 1, "max_latent_columns_per_call", ">= 1", str(max_latent_columns_per_call));
}

nlohmann::ordered_json QuadratureOptions::to_json(Index latent_dim) const {
  nlohmann::ordered_json j;
  j["rule"] = "tensor trapezoid, coarse prior box then per-datapoint whitened refinement";
  j["prior_half_width"] = prior_half_width;
  j["coarse_nodes_per_dimension"] = coarse_nodes(latent_dim);
  j["refined_nodes_per_dimension"] = refined_nodes(latent_dim);
  j["refined_half_width"] = refined_half_width;
  j["tolerance"] = tolerance;
  j["max_refinements"] = max_refinements;
  j["max_refined_nodes_per_dimension"] = max_refined_nodes(latent_dim);
  return j;
}

// ---------------------------------------------------------------------------------------------
// QuadratureFrames

QuadratureFrames QuadratureFrames::from_moments(const MatrixD& means, const std::vector<MatrixD>& covariances) {
  if (static_cast<Index>(covariances.size()) != means.cols())
    throw std::invalid_argument("QuadratureFrames::from_moments: " + std::to_string(covariances.size()) +
                                " covariances for " + std::to_string(means.cols()) + " means");
  QuadratureFrames frames;
  frames.centers = means;
  frames.scales.reserve(covariances.size());
  for (const MatrixD& c : covariances) frames.scales.push_back(cholesky_lower(c));  // dense, zero above the diagonal
  return frames;
}

double QuadratureFrames::log_jacobian(Index b) const {
  return scales[static_cast<size_t>(b)].diagonal().array().abs().log().sum();
}

MatrixD QuadratureFrames::nodes(const QuadratureGrid& reference, Index first, Index count) const {
  const Index d = centers.rows();
  const Index B = size();
  MatrixD Z(d, B * count);
  const auto U = reference.nodes.middleCols(first, count);
  for (Index b = 0; b < B; ++b) {
    Z.middleCols(b * count, count).noalias() = scales[static_cast<size_t>(b)].lazyProduct(U);  // d x d: no GEMM
    Z.middleCols(b * count, count).colwise() += centers.col(b);
  }
  return Z;
}

// ---------------------------------------------------------------------------------------------
// QuadraturePassResult

void QuadraturePassResult::assign(Index to, const QuadraturePassResult& other, Index from) {
  log_integral(to) = other.log_integral(from);
  half_rule_log_integral(to) = other.half_rule_log_integral(from);
  quarter_rule_log_integral(to) = other.quarter_rule_log_integral(from);
  boundary_mass_fraction(to) = other.boundary_mass_fraction(from);
  error_estimate(to) = other.error_estimate(from);
  mean.col(to) = other.mean.col(from);
  covariance[static_cast<size_t>(to)] = other.covariance[static_cast<size_t>(from)];
  spacing(to) = other.spacing(from);
  nodes_per_dimension[static_cast<size_t>(to)] = other.nodes_per_dimension[static_cast<size_t>(from)];
  frames.centers.col(to) = other.frames.centers.col(from);
  frames.scales[static_cast<size_t>(to)] = other.frames.scales[static_cast<size_t>(from)];
}

QuadraturePassResult QuadraturePassResult::empty(Index d, Index B) {
  QuadraturePassResult s;
  s.log_integral = VectorD::Constant(B, -kInfinity);
  s.half_rule_log_integral = VectorD::Constant(B, -kInfinity);
  s.quarter_rule_log_integral = VectorD::Constant(B, std::numeric_limits<double>::quiet_NaN());
  s.boundary_mass_fraction = VectorD::Ones(B);
  s.error_estimate = VectorD::Constant(B, kInfinity);
  s.mean = MatrixD::Zero(d, B);
  s.covariance.assign(static_cast<size_t>(B), MatrixD::Identity(d, d));
  s.spacing = VectorD::Ones(B);
  s.nodes_per_dimension.assign(static_cast<size_t>(B), 0);
  s.frames.centers = MatrixD::Zero(d, B);
  s.frames.scales.assign(static_cast<size_t>(B), MatrixD::Identity(d, d));
  return s;
}

// ---------------------------------------------------------------------------------------------
// Error estimate

double trapezoid_error_estimate(double log_full, double log_half) {
  const double delta1 = std::abs(log_full - log_half);
  if (std::isnan(delta1)) return kInfinity;
  return delta1 + 1e-12;
}

// ---------------------------------------------------------------------------------------------
// QuadratureAccumulator

QuadratureAccumulator::QuadratureAccumulator(const QuadratureGrid& grid, Index B) : grid_(grid) {
  const Index d = grid.dimension();
  const Index G = grid.size();
  const bool quarter = grid.quarter_rule_log_weights.size() == G;
  const Index K = 1 + d + d * (d + 1) / 2 + 2 + (quarter ? 1 : 0);
  table_.resize(G, K);
  const VectorD w = grid.log_weights.array().exp();
  table_.col(0) = w;
  Index k = 1;
  for (Index i = 0; i < d; ++i) table_.col(k++) = w.array() * grid.nodes.row(i).transpose().array();
  for (Index i = 0; i < d; ++i)
    for (Index j = i; j < d; ++j)
      table_.col(k++) = w.array() * grid.nodes.row(i).transpose().array() * grid.nodes.row(j).transpose().array();
  table_.col(k++) = grid.half_rule_log_weights.array().exp();
  table_.col(k++) = w.array() * grid.on_boundary.array();
  if (quarter) table_.col(k++) = grid.quarter_rule_log_weights.array().exp();
  max_ = VectorD::Constant(B, -kInfinity);
  sums_ = MatrixD::Zero(B, K);
}

void QuadratureAccumulator::add(const MatrixD& log_values, Index first) {
  const Index B = max_.size();
  if (log_values.rows() != B || first < 0 || first + log_values.cols() > grid_.size())
    throw std::invalid_argument("QuadratureAccumulator::add: block does not match the grid or the batch");
  // Explicit loops, the same instructions for every datapoint and node: Eigen's vectorized exp
  // and products round a SIMD body and a scalar tail differently, which would make a datapoint's
  // sums depend on how many datapoints share the block and on its row in it.
  const Index G = log_values.cols();
  const Index K = table_.cols();
  for (Index b = 0; b < B; ++b) {
    double block_max = -kInfinity;
    for (Index g = 0; g < G; ++g) block_max = std::max(block_max, log_values(b, g));
    if (std::isfinite(block_max) && block_max > max_(b)) {
      const double rescale = std::isfinite(max_(b)) ? std::exp(max_(b) - block_max) : 0.0;
      for (Index k = 0; k < K; ++k) sums_(b, k) *= rescale;
      max_(b) = block_max;
    }
    if (!std::isfinite(max_(b))) continue;
    for (Index g = 0; g < G; ++g) {
      const double weight = std::exp(log_values(b, g) - max_(b));
      for (Index k = 0; k < K; ++k) sums_(b, k) += weight * table_(first + g, k);
    }
  }
}

QuadraturePassResult QuadratureAccumulator::finish(const QuadratureFrames& frames) const {
  const Index d = grid_.dimension();
  const Index B = max_.size();
  if (frames.size() != B || frames.centers.rows() != d)
    throw std::invalid_argument("QuadratureAccumulator::finish: frames do not match the batch");
  QuadraturePassResult s = QuadraturePassResult::empty(d, B);
  s.frames = frames;
  const double h = grid_.spacing.minCoeff();
  s.spacing.setConstant(h);
  s.nodes_per_dimension.assign(static_cast<size_t>(B), grid_.nodes_per_dimension);
  const bool has_quarter = table_.cols() == 1 + d + d * (d + 1) / 2 + 3;
  const Index half_column = 1 + d + d * (d + 1) / 2;
  for (Index b = 0; b < B; ++b) {
    const MatrixD& L = frames.scales[static_cast<size_t>(b)];
    const double s0 = sums_(b, 0);
    if (!(s0 > 0.0) || !std::isfinite(max_(b)) || !std::isfinite(s0)) {
      s.mean.col(b) = frames.centers.col(b);
      s.covariance[static_cast<size_t>(b)] = L * L.transpose();
      continue;
    }
    const double log_jacobian = frames.log_jacobian(b);
    s.log_integral(b) = max_(b) + std::log(s0) + log_jacobian;
    const double half = sums_(b, half_column);
    s.half_rule_log_integral(b) = half > 0.0 ? max_(b) + std::log(half) + log_jacobian : -kInfinity;
    s.boundary_mass_fraction(b) = sums_(b, half_column + 1) / s0;
    if (has_quarter) {
      const double quarter = sums_(b, half_column + 2);
      s.quarter_rule_log_integral(b) = quarter > 0.0 ? max_(b) + std::log(quarter) + log_jacobian : -kInfinity;
    }
    s.error_estimate(b) =
        trapezoid_error_estimate(s.log_integral(b), s.half_rule_log_integral(b)) +
        2.0 / h * s.boundary_mass_fraction(b);
    const VectorD mean_u = sums_.row(b).segment(1, d).transpose() / s0;
    MatrixD second(d, d);
    Index k = 1 + d;
    for (Index i = 0; i < d; ++i)
      for (Index j = i; j < d; ++j) second(i, j) = second(j, i) = sums_(b, k++) / s0;
    MatrixD cov_u = second - mean_u * mean_u.transpose();
    // Unresolved: mass narrower than half a cell in some direction. Both rules then see a
    // handful of nodes and their difference bounds nothing.
    const double smallest_variance = Eigen::SelfAdjointEigenSolver<MatrixD>(cov_u, Eigen::EigenvaluesOnly).eigenvalues()(0);
    if (!(smallest_variance >= 0.25 * h * h)) s.error_estimate(b) = kInfinity;
    s.mean.col(b) = frames.centers.col(b) + L * mean_u;
    MatrixD cov = L * cov_u * L.transpose();
    s.covariance[static_cast<size_t>(b)] = 0.5 * (cov + cov.transpose());
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Passes and refinement

QuadraturePassResult integrate_on_frames(const QuadratureGrid& reference, const QuadratureFrames& frames,
                                         const std::vector<Index>& datapoints, const LogIntegrand& log_integrand,
                                         Index max_columns, bool whole_batch) {
  const Index d = reference.dimension();
  const Index n = static_cast<Index>(datapoints.size());
  const Index G = reference.size();
  if (frames.size() != n) throw std::invalid_argument("integrate_on_frames: one frame per datapoint expected");
  QuadraturePassResult result = QuadraturePassResult::empty(d, n);
  // Nodes go in blocks fixed by the grid and max_columns alone, never by how many datapoints share
  // a call, so every datapoint accumulates the same node blocks in the same order whatever its
  // batch (its bits then do not depend on the batch); datapoints are grouped to fill a call.
  const Index block = std::max<Index>(1, std::min(G, max_columns / kDatapointsPerRefinedCall));
  const Index group_size = whole_batch ? n : std::max<Index>(1, std::min(n, max_columns / block));
  for (Index start = 0; start < n; start += group_size) {
    const Index m = std::min(group_size, n - start);
    QuadratureFrames group;
    group.centers = frames.centers.middleCols(start, m);
    group.scales.assign(frames.scales.begin() + start, frames.scales.begin() + start + m);
    const std::vector<Index> indices(datapoints.begin() + start, datapoints.begin() + start + m);
    QuadratureAccumulator accumulator(reference, m);
    for (Index first = 0; first < G; first += block) {
      const Index count = std::min(block, G - first);
      const VectorD values = log_integrand(indices, group.nodes(reference, first, count), count);
      if (values.size() != m * count)
        throw std::logic_error("integrate_on_frames: the integrand returned " + std::to_string(values.size()) +
                               " values for " + std::to_string(m * count) + " nodes");
      accumulator.add(Eigen::Map<const MatrixD>(values.data(), count, m).transpose(), first);
    }
    const QuadraturePassResult part = accumulator.finish(group);
    for (Index i = 0; i < m; ++i) result.assign(start + i, part, i);
  }
  return result;
}

QuadratureRefinementResult refine_quadrature(QuadraturePassResult& summary, const LogIntegrand& log_integrand,
                                             const QuadratureOptions& options, Index d, bool whole_batch) {
  const Index B = summary.log_integral.size();
  // Level 0: the refined grid; level k: 2^k times as fine (2^k (n - 1) + 1 nodes per
  // dimension), for datapoints whose error stalled on level k - 1 (mass not Gaussian-like
  // enough for that grid), up to the budget.
  const Index n = options.refined_nodes(d);
  std::vector<QuadratureGrid> levels;
  for (Index nodes = n; nodes <= options.max_refined_nodes(d); nodes = 2 * nodes - 1)
    levels.push_back(trapezoid_grid(d, options.refined_half_width, nodes));
  const Index num_levels = static_cast<Index>(levels.size());
  const double center_limit = 2.0 * options.prior_half_width;
  QuadratureRefinementResult record;
  record.passes.assign(static_cast<size_t>(B), 0);
  std::vector<Index> level(static_cast<size_t>(B), 0);
  std::vector<bool> stopped(static_cast<size_t>(B), false);
  std::vector<std::string> reason(static_cast<size_t>(B), "max_refinements");
  QuadraturePassResult last = summary;
  auto needs_work = [&](Index b) { return !(summary.error_estimate(b) <= options.tolerance); };
  auto active = [&](Index b) { return needs_work(b) && !stopped[static_cast<size_t>(b)]; };

  // The next frame of datapoint b: the last pass's moments widened by half a cell (an
  // unresolved spike has none), x4 in variance when mass sits on the faces, clipped.
  auto next_frame = [&](Index b, VectorD& center, MatrixD& scale) {
    const MatrixD& L = last.frames.scales[static_cast<size_t>(b)];
    const double h = last.spacing(b);
    MatrixD covariance;
    if (std::isfinite(last.log_integral(b)) && last.covariance[static_cast<size_t>(b)].allFinite() &&
        last.mean.col(b).allFinite()) {
      covariance = last.covariance[static_cast<size_t>(b)] + 0.25 * h * h * L * L.transpose();
      center = last.mean.col(b);
      if (last.boundary_mass_fraction(b) * 2.0 / h > 0.1 * options.tolerance) covariance *= 4.0;
    } else {  // nothing found on the last grid: widen it
      covariance = 4.0 * L * L.transpose();
      center = last.frames.centers.col(b);
    }
    Eigen::SelfAdjointEigenSolver<MatrixD> eigen(0.5 * (covariance + covariance.transpose()));
    const VectorD clipped = eigen.eigenvalues().cwiseMax(1e-12).cwiseMin(4.0);
    covariance = eigen.eigenvectors() * clipped.asDiagonal() * eigen.eigenvectors().transpose();
    center = center.cwiseMax(-center_limit).cwiseMin(center_limit);
    scale = cholesky_lower(covariance);
  };

  for (Index pass = 0; pass < options.max_refinements; ++pass) {
    bool any = false;
    for (Index lv = 0; lv < num_levels; ++lv) {
      std::vector<Index> members;
      for (Index b = 0; b < B; ++b)
        if (active(b) && level[static_cast<size_t>(b)] == lv) members.push_back(b);
      if (members.empty()) continue;
      any = true;
      std::vector<Index> evaluated = members;
      if (whole_batch) {
        evaluated.resize(static_cast<size_t>(B));
        for (Index b = 0; b < B; ++b) evaluated[static_cast<size_t>(b)] = b;
      }
      const Index m = static_cast<Index>(evaluated.size());
      QuadratureFrames frames;
      frames.centers.resize(d, m);
      frames.scales.resize(static_cast<size_t>(m));
      std::vector<bool> member(static_cast<size_t>(m), false);
      for (Index i = 0; i < m; ++i) {
        const Index b = evaluated[static_cast<size_t>(i)];
        member[static_cast<size_t>(i)] = active(b) && level[static_cast<size_t>(b)] == lv;
        if (!member[static_cast<size_t>(i)]) {  // whole-batch filler: its best frame, result ignored
          frames.centers.col(i) = summary.frames.centers.col(b);
          frames.scales[static_cast<size_t>(i)] = summary.frames.scales[static_cast<size_t>(b)];
          continue;
        }
        VectorD center;
        next_frame(b, center, frames.scales[static_cast<size_t>(i)]);
        frames.centers.col(i) = center;
      }
      const QuadraturePassResult result = integrate_on_frames(levels[static_cast<size_t>(lv)], frames, evaluated,
                                                              log_integrand, options.max_latent_columns_per_call,
                                                              whole_batch);
      for (Index i = 0; i < m; ++i) {
        if (!member[static_cast<size_t>(i)]) continue;
        const Index b = evaluated[static_cast<size_t>(i)];
        ++record.passes[static_cast<size_t>(b)];
        record.nodes_evaluated += levels[static_cast<size_t>(lv)].size();
        last.assign(b, result, i);
        const double error = result.error_estimate(i);
        const double previous = summary.error_estimate(b);
        if (!std::isnan(error) && (error < previous || std::isnan(previous))) summary.assign(b, result, i);
        // Stalled: a resolved pass (finite error) no better than half the best so far. The
        // error then comes from the shape of the mass (try a finer level, within the budget)
        // or, when a finer level's nested rules no longer contract, from the rounding of the
        // integrand itself (float networks), which no grid removes.
        if (std::isfinite(error) && !(error < 0.5 * previous) && needs_work(b)) {
          const size_t bi = static_cast<size_t>(b);
          const double delta1 = std::abs(result.log_integral(i) - result.half_rule_log_integral(i));
          const double delta2 = std::abs(result.half_rule_log_integral(i) - result.quarter_rule_log_integral(i));
          const bool rounding_floor = level[bi] >= 1 && !(delta1 < delta2) && delta1 < kRoundingFloorCeiling;
          if (rounding_floor || level[bi] + 1 >= num_levels) {
            stopped[bi] = true;
            reason[bi] = rounding_floor ? "rounding floor" : "budget";
          } else {
            ++level[bi];
          }
        }
      }
    }
    if (!any) break;
  }
  for (Index b = 0; b < B; ++b) {
    const size_t bi = static_cast<size_t>(b);
    if (!needs_work(b)) continue;
    ++record.unconverged;
    if (stopped[bi]) ++record.stalled;
    record.over_tolerance.push_back({b, summary.log_integral(b), summary.error_estimate(b), record.passes[bi],
                                     levels[static_cast<size_t>(level[bi])].nodes_per_dimension, reason[bi]});
  }
  return record;
}

nlohmann::ordered_json to_json(const std::vector<OverTolerance>& over_tolerance, Index first_index) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const OverTolerance& o : over_tolerance) {
    nlohmann::ordered_json j;
    j["datapoint"] = first_index + o.datapoint;
    j["log_integral"] = o.log_integral;
    if (std::isfinite(o.error_estimate))
      j["error_estimate"] = o.error_estimate;
    else
      j["error_estimate"] = "inf";
    j["passes"] = o.passes;
    j["nodes_per_dimension"] = o.nodes_per_dimension;
    j["reason"] = o.reason;
    list.push_back(j);
  }
  return list;
}

std::string over_tolerance_warning(const std::vector<OverTolerance>& over_tolerance, double tolerance,
                                   const std::string& what, Index first_index) {
  if (over_tolerance.empty()) return {};
  char line[256];
  std::snprintf(line, sizeof line, "warning: quadrature of %s did not meet the tolerance %.3g nats on %zu datapoint%s:\n",
                what.c_str(), tolerance, over_tolerance.size(), over_tolerance.size() == 1 ? "" : "s");
  std::string text = line;
  for (const OverTolerance& o : over_tolerance) {
    std::snprintf(line, sizeof line,
                  "  datapoint %lld: %.6f, error estimate %.3g nats (%lld passes, finest grid %lld nodes per "
                  "dimension; stopped: %s)\n",
                  static_cast<long long>(first_index + o.datapoint), o.log_integral, o.error_estimate,
                  static_cast<long long>(o.passes), static_cast<long long>(o.nodes_per_dimension), o.reason.c_str());
    text += line;
  }
  return text;
}

}  // namespace vigap
