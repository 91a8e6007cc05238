#include "estimators/exact_posterior.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/math/log_sum_exp.hpp"
#include "estimators/quadrature_grid.hpp"

namespace vigap {

void ExactPosteriorOptions::validate(Index latent_dim) const {
  quadrature.validate(latent_dim);
  if (sampling_nodes_per_dimension != 0 && (sampling_nodes_per_dimension < 3 || sampling_nodes_per_dimension % 2 == 0))
    throw std::invalid_argument(
        "ExactPosteriorOptions: sampling_nodes_per_dimension must be 0 (automatic) or odd and >= 3, found " +
        std::to_string(sampling_nodes_per_dimension));
  if (!(sampling_half_width > 0.0) || !std::isfinite(sampling_half_width))
    throw std::invalid_argument("ExactPosteriorOptions: sampling_half_width must be positive and finite, found " +
                                std::to_string(sampling_half_width));
}

Index ExactPosteriorOptions::sampling_nodes(Index d) const {
  if (sampling_nodes_per_dimension > 0) return sampling_nodes_per_dimension;
  return d == 1 ? 1025 : d == 2 ? 129 : 49;
}

ExactPosterior::ExactPosterior(const GenerativeModel& model, MatrixF X, ExactPosteriorOptions options)
    : model_(model), X_(std::move(X)), options_(std::move(options)) {
  options_.validate(model_.latent_dim());
  quadrature_ = exact_marginal_likelihood(model_, X_, options_.quadrature);
}

VectorD ExactPosterior::log_density(const MatrixD& Z, Index S) const {
  check_latents(Z, S, "ExactPosterior::log_density");
  VectorD out = model_.log_joint(X_, Z, S);
  const VectorD& log_px = log_marginal_likelihood().per_datapoint;
  for (Index c = 0; c < out.size(); ++c) out(c) -= log_px(c / S);
  return out;
}

MatrixD ExactPosterior::log_density_on_grid(const MatrixD& grid) const {
  if (grid.rows() != latent_dim())
    throw std::invalid_argument("ExactPosterior::log_density_on_grid: grid has " + std::to_string(grid.rows()) +
                                " rows, the latent dimension is " + std::to_string(latent_dim()));
  MatrixD out = model_.log_likelihood_all_pairs(X_, grid);
  out.rowwise() += model_.log_prior(grid).transpose();
  out.colwise() -= log_marginal_likelihood().per_datapoint;
  return out;
}

FullCovarianceGaussian ExactPosterior::moment_matched_gaussian() const {
  const QuadratureFrames frames = QuadratureFrames::from_moments(mean(), covariance());
  return FullCovarianceGaussian(mean(), frames.scales, "moment-matched Gaussian of the exact posterior");
}

MatrixD ExactPosterior::sample(Index S, BatchRng& generators) const {
  check_generators(generators, S, "ExactPosterior::sample");
  const Index d = latent_dim();
  const Index B = num_datapoints();
  const QuadratureGrid reference = trapezoid_grid(d, options_.sampling_half_width, options_.sampling_nodes(d));
  const Index G = reference.size();
  const QuadratureFrames frames = QuadratureFrames::from_moments(mean(), covariance());
  const Index max_columns = options_.quadrature.max_latent_columns_per_call;
  const Index group_size = std::max<Index>(1, std::min(B, max_columns / G));
  MatrixD Z(d, B * S);
  VectorD cumulative(G), cell_lower(d), cell_upper(d), u(d);
  for (Index start = 0; start < B; start += group_size) {
    const Index m = std::min(group_size, B - start);
    QuadratureFrames group;
    group.centers = frames.centers.middleCols(start, m);
    group.scales.assign(frames.scales.begin() + start, frames.scales.begin() + start + m);
    const MatrixF X_group = X_.middleCols(start, m);
    MatrixD log_joint(G, m);  // column i: datapoint start + i
    const Index block = std::max<Index>(1, std::min(G, max_columns / m));
    for (Index first = 0; first < G; first += block) {
      const Index count = std::min(block, G - first);
      const VectorD values = model_.log_joint(X_group, group.nodes(reference, first, count), count);
      log_joint.middleRows(first, count) = Eigen::Map<const MatrixD>(values.data(), count, m);
    }
    for (Index i = 0; i < m; ++i) {
      const Index b = start + i;
      const VectorD log_mass = log_joint.col(i) + reference.log_weights;
      const double top = log_mass.maxCoeff();
      if (!std::isfinite(top))
        throw std::runtime_error("ExactPosterior::sample: no posterior mass on the sampling grid of datapoint " +
                                 std::to_string(b));
      double total = 0.0;
      for (Index g = 0; g < G; ++g) cumulative(g) = total += std::exp(log_mass(g) - top);
      const MatrixD& L = group.scales[static_cast<size_t>(i)];
      Rng& rng = generators.for_datapoint(b);
      for (Index s = 0; s < S; ++s) {
        const double target = uniform_01(rng) * total;
        const Index g = std::min<Index>(
            G - 1, std::upper_bound(cumulative.data(), cumulative.data() + G, target) - cumulative.data());
        reference.cell(g, cell_lower, cell_upper);
        for (Index j = 0; j < d; ++j) u(j) = cell_lower(j) + uniform_01(rng) * (cell_upper(j) - cell_lower(j));
        Z.col(b * S + s) = group.centers.col(i) + L * u;
      }
    }
  }
  return Z;
}

}  // namespace vigap
