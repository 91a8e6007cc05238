#include "estimators/aggregate_posterior.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

namespace vigap {

namespace {

const double kLog2Pi = std::log(2.0 * std::numbers::pi);

/// Components farther than this many standard deviations from a block of nodes (on either axis) are
/// skipped there: their density is below e^{-72} ≈ 5e-32 of their peak.
constexpr double kReach = 12.0;

/// Columns per block so that rows x columns stays within max_entries (at least 1).
Index block_columns(Index rows, Index max_entries) {
  return std::max<Index>(1, max_entries / std::max<Index>(1, rows));
}

/// M[n, i] = N(nodes_i; mean_n, sd_n) for nodes first..first+count-1: N x count.
MatrixD component_densities(const VectorD& mean, const VectorD& sd, const VectorD& nodes, Index first, Index count) {
  const Index N = mean.size();
  MatrixD M(N, count);
  const double inv_sqrt_2pi = 1.0 / std::sqrt(2.0 * std::numbers::pi);
  for (Index i = 0; i < count; ++i) {
    const double x = nodes(first + i);
    for (Index n = 0; n < N; ++n) {
      const double u = (x - mean(n)) / sd(n);
      M(n, i) = std::exp(-0.5 * u * u) * inv_sqrt_2pi / sd(n);
    }
  }
  return M;
}

/// M[n, i] = (Φ((nodes_i + h/2 - mean_n)/sd_n) - Φ((nodes_i - h/2 - mean_n)/sd_n)) / h: the mean density of
/// N(mean_n, sd_n²) over the cell of node i. The difference is taken on the side of the smaller tail.
MatrixD component_cell_densities(const VectorD& mean, const VectorD& sd, const VectorD& nodes, double h, Index first,
                                 Index count) {
  const Index N = mean.size();
  MatrixD M(N, count);
  const double inv_sqrt2 = 1.0 / std::sqrt(2.0);
  for (Index i = 0; i < count; ++i) {
    const double x = nodes(first + i);
    for (Index n = 0; n < N; ++n) {
      const double a = (x - 0.5 * h - mean(n)) / sd(n), b = (x + 0.5 * h - mean(n)) / sd(n);
      // Φ(b) - Φ(a) = ½[erfc(-b/√2) ... ]: upper tail when a > 0, lower tail otherwise.
      const double mass = a > 0.0 ? 0.5 * (std::erfc(a * inv_sqrt2) - std::erfc(b * inv_sqrt2))
                                  : 0.5 * (std::erfc(-b * inv_sqrt2) - std::erfc(-a * inv_sqrt2));
      M(n, i) = mass / h;
    }
  }
  return M;
}

}  // namespace

AggregatePosterior::AggregatePosterior(const DiagonalGaussian& components)
    : components_(components), mean_(components.mean()), std_dev_((0.5 * components.log_variance().array()).exp()) {
  if (mean_.cols() == 0) throw std::invalid_argument("AggregatePosterior: no components (N = 0 datapoints)");
  if (mean_.rows() == 0) throw std::invalid_argument("AggregatePosterior: latent dimension 0");
  if (!mean_.allFinite() || !components.log_variance().allFinite() || !std_dev_.allFinite() ||
      (std_dev_.array() <= 0.0).any())
    throw std::invalid_argument(
        "AggregatePosterior: the components' means and log-variances must be finite with positive standard "
        "deviations, found a non-finite value or a zero standard deviation");
}

VectorD AggregatePosterior::log_density(const MatrixD& Z, Index max_block_entries) const {
  if (Z.rows() != latent_dim())
    throw std::invalid_argument("AggregatePosterior::log_density: Z has " + std::to_string(Z.rows()) +
                                " rows, expected the latent dimension " + std::to_string(latent_dim()));
  const Index N = num_components(), d = latent_dim();
  // log N(z; μ_n, σ_n) = Pᵀ z² + Rᵀ z + c_n with P = -½/σ², R = μ/σ².
  const MatrixD precision = std_dev_.array().square().inverse().matrix();
  const MatrixD P = -0.5 * precision;
  const MatrixD R = mean_.cwiseProduct(precision);
  const VectorD c = (-0.5 * mean_.cwiseProduct(R).colwise().sum() - std_dev_.array().log().matrix().colwise().sum())
                        .transpose()
                        .array() -
                    0.5 * static_cast<double>(d) * kLog2Pi;
  const double log_n = std::log(static_cast<double>(N));
  VectorD out(Z.cols());
  const Index block = block_columns(N, max_block_entries);
  for (Index first = 0; first < Z.cols(); first += block) {
    const Index count = std::min(block, Z.cols() - first);
    const MatrixD Zb = Z.middleCols(first, count);
    MatrixD L = P.transpose() * Zb.array().square().matrix();  // N x count
    L.noalias() += R.transpose() * Zb;
    L.colwise() += c;
#pragma omp parallel for schedule(static)
    for (Index k = 0; k < count; ++k) {
      const double m = L.col(k).maxCoeff();
      double s = 0.0;
      for (Index n = 0; n < N; ++n) s += std::exp(L(n, k) - m);
      out(first + k) = m + std::log(s) - log_n;
    }
  }
  return out;
}

void AggregatePosterior::visit_density_on_grid(const VectorD& x, const VectorD& y,
                                               const std::function<void(Index, Index, const MatrixD&)>& visit,
                                               Index max_block_entries) const {
  visit_grid(x, y, false, visit, max_block_entries);
}

void AggregatePosterior::visit_grid(const VectorD& x, const VectorD& y, bool cell_average,
                                    const std::function<void(Index, Index, const MatrixD&)>& visit,
                                    Index max_block_entries) const {
  const Index d = latent_dim(), N = num_components();
  if (d > 2)
    throw std::invalid_argument("AggregatePosterior::visit_density_on_grid: tensor grids need latent dimension <= 2, found " +
                                std::to_string(d));
  if (x.size() == 0 || (d == 2 && y.size() == 0))
    throw std::invalid_argument("AggregatePosterior::visit_density_on_grid: empty grid axis");
  if (cell_average && (x.size() < 2 || (d == 2 && y.size() < 2)))
    throw std::invalid_argument("AggregatePosterior::cell_averaged_density_on_grid: needs at least 2 nodes per axis");
  const auto factor = [&](const VectorD& m, const VectorD& s, const VectorD& nodes, Index first, Index count) {
    return cell_average ? component_cell_densities(m, s, nodes, nodes(1) - nodes(0), first, count)
                        : component_densities(m, s, nodes, first, count);
  };
  const Index n1 = x.size(), n2 = d == 2 ? y.size() : 1;
  const Index bi = std::min(n1, block_columns(N, max_block_entries));
  const Index bj = std::min(n2, block_columns(N, max_block_entries));
  const double inv_n = 1.0 / static_cast<double>(N);
  // Components that reach a block: |node - μ| <= kReach σ on the axis (with half a cell for cell averages).
  const auto reaching = [&](Index axis, const VectorD& nodes, Index first, Index count, const std::vector<Index>& from) {
    const double margin = cell_average ? 0.5 * (nodes(1) - nodes(0)) : 0.0;
    const double low = nodes(first) - margin, high = nodes(first + count - 1) + margin;
    std::vector<Index> out;
    for (const Index n : from) {
      const double m = mean_(axis, n), r = kReach * std_dev_(axis, n);
      if (m + r >= low && m - r <= high) out.push_back(n);
    }
    return out;
  };
  const auto column = [](const MatrixD& m, Index axis, const std::vector<Index>& rows) {
    VectorD v(static_cast<Index>(rows.size()));
    for (size_t k = 0; k < rows.size(); ++k) v(static_cast<Index>(k)) = m(axis, rows[k]);
    return v;
  };
  std::vector<Index> everyone(static_cast<size_t>(N));
  for (Index n = 0; n < N; ++n) everyone[static_cast<size_t>(n)] = n;
  for (Index i0 = 0; i0 < n1; i0 += bi) {
    const Index ci = std::min(bi, n1 - i0);
    const std::vector<Index> rows_i = reaching(0, x, i0, ci, everyone);
    const MatrixD A = factor(column(mean_, 0, rows_i), column(std_dev_, 0, rows_i), x, i0, ci);  // |rows_i| x ci
    if (d == 1) {
      visit(i0, 0, A.transpose() * VectorD::Constant(A.rows(), inv_n));
      continue;
    }
    for (Index j0 = 0; j0 < n2; j0 += bj) {
      const Index cj = std::min(bj, n2 - j0);
      std::vector<Index> positions;  // rows of A whose component also reaches this j-block
      std::vector<Index> rows_ij;
      for (size_t k = 0; k < rows_i.size(); ++k) {
        const Index n = rows_i[k];
        const double m = mean_(1, n), r = kReach * std_dev_(1, n);
        const double margin = cell_average ? 0.5 * (y(1) - y(0)) : 0.0;
        if (m + r >= y(j0) - margin && m - r <= y(j0 + cj - 1) + margin) {
          positions.push_back(static_cast<Index>(k));
          rows_ij.push_back(n);
        }
      }
      MatrixD Q;
      if (rows_ij.empty()) {
        Q = MatrixD::Zero(ci, cj);
      } else {
        const MatrixD A_ij = A(positions, Eigen::all);
        const MatrixD B = factor(column(mean_, 1, rows_ij), column(std_dev_, 1, rows_ij), y, j0, cj);
        Q.noalias() = A_ij.transpose() * B;
        Q *= inv_n;
      }
      visit(i0, j0, Q);
    }
  }
}

MatrixD AggregatePosterior::density_on_grid(const VectorD& x, const VectorD& y) const {
  MatrixD out(x.size(), latent_dim() == 2 ? y.size() : 1);
  visit_density_on_grid(x, y, [&](Index i0, Index j0, const MatrixD& Q) { out.block(i0, j0, Q.rows(), Q.cols()) = Q; });
  return out;
}

MatrixD AggregatePosterior::cell_averaged_density_on_grid(const VectorD& x, const VectorD& y) const {
  MatrixD out(x.size(), latent_dim() == 2 ? y.size() : 1);
  visit_grid(
      x, y, true, [&](Index i0, Index j0, const MatrixD& Q) { out.block(i0, j0, Q.rows(), Q.cols()) = Q; },
      Index{1} << 22);
  return out;
}

VectorD AggregatePosterior::mean_kl_to_prior_per_unit() const {
  const MatrixD variance = std_dev_.array().square().matrix();
  const MatrixD terms =
      0.5 * (mean_.array().square() + variance.array() - 1.0 - components_.log_variance().array()).matrix();
  return terms.rowwise().mean();
}

double AggregatePosterior::mean_kl_to_prior() const { return mean_kl_to_prior_per_unit().sum(); }

double AggregatePosterior::mean_component_entropy() const {
  const double d = static_cast<double>(latent_dim());
  return 0.5 * d * (kLog2Pi + 1.0) + 0.5 * components_.log_variance().colwise().sum().mean();
}

double AggregatePosterior::expected_log_prior() const {
  const double d = static_cast<double>(latent_dim());
  return -0.5 * d * kLog2Pi -
         0.5 * (mean_.array().square() + std_dev_.array().square()).matrix().colwise().sum().mean();
}

}  // namespace vigap
