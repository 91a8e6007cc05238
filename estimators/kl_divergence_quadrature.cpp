#include "estimators/kl_divergence_quadrature.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

#include "estimators/exact_marginal_likelihood.hpp"
#include "estimators/quadrature_grid.hpp"

namespace vigap {

void KlQuadratureOptions::validate(Index latent_dim) const {
  quadrature.validate(latent_dim);
  if (initial_samples < 2)
    throw std::invalid_argument("KlQuadratureOptions: initial_samples must be >= 2, found " +
                                std::to_string(initial_samples));
}

namespace {
QuadratureKlDivergence kl_divergence_with_generators(const GenerativeModel& model, const PosteriorApproximation& q,
                                                     const MatrixF& X, const Estimate& log_marginal_likelihood,
                                                     const KlQuadratureOptions& options, BatchRng& rng);
}  // namespace

QuadratureKlDivergence kl_divergence_by_quadrature(const GenerativeModel& model, const PosteriorApproximation& q,
                                                   const MatrixF& X, const Estimate& log_marginal_likelihood,
                                                   const KlQuadratureOptions& options, Rng& rng) {
  BatchRng one(std::vector<Rng>{rng});
  QuadratureKlDivergence result = kl_divergence_with_generators(model, q, X, log_marginal_likelihood, options, one);
  rng = one[0];
  return result;
}

QuadratureKlDivergence kl_divergence_by_quadrature(const GenerativeModel& model, const PosteriorApproximation& q,
                                                   const MatrixF& X, const Estimate& log_marginal_likelihood,
                                                   const KlQuadratureOptions& options, const RandomStreams& streams) {
  streams.check_size(X.cols(), "kl_divergence_by_quadrature");
  BatchRng rng = streams.generators(StreamPurpose::kl_quadrature);
  return kl_divergence_with_generators(model, q, X, log_marginal_likelihood, options, rng);
}

namespace {

QuadratureKlDivergence kl_divergence_with_generators(const GenerativeModel& model, const PosteriorApproximation& q,
                                                     const MatrixF& X, const Estimate& log_marginal_likelihood,
                                                     const KlQuadratureOptions& options, BatchRng& rng) {
  check_quadrature_inputs(model, X, options.quadrature, "kl_divergence_by_quadrature");
  options.validate(model.latent_dim());
  const auto start_time = std::chrono::steady_clock::now();
  const Index d = model.latent_dim();
  const Index B = X.cols();
  if (!q.has_density())
    throw std::invalid_argument("kl_divergence_by_quadrature: the approximation (" + q.describe() +
                                ") has no density; compare samplers by sample discrepancies instead");
  if (q.latent_dim() != d || q.num_datapoints() != B)
    throw std::invalid_argument("kl_divergence_by_quadrature: the approximation has latent dimension " +
                                std::to_string(q.latent_dim()) + " and " + std::to_string(q.num_datapoints()) +
                                " datapoints, expected " + std::to_string(d) + " and " + std::to_string(B));
  if (log_marginal_likelihood.per_datapoint.size() != B)
    throw std::invalid_argument("kl_divergence_by_quadrature: log p(x) has " +
                                std::to_string(log_marginal_likelihood.per_datapoint.size()) + " values for " +
                                std::to_string(B) + " datapoints");
  const VectorD& log_px = log_marginal_likelihood.per_datapoint;
  const VectorD log_px_error = log_marginal_likelihood.per_datapoint_standard_error.size() == B
                                   ? log_marginal_likelihood.per_datapoint_standard_error
                                   : VectorD::Zero(B);

  // Place the first grid on the moments of draws from q, then refine on q's own density.
  const Index S0 = options.initial_samples;
  const MatrixD draws = q.sample(S0, rng);
  MatrixD means(d, B);
  std::vector<MatrixD> covariances(static_cast<size_t>(B));
  for (Index b = 0; b < B; ++b) {
    const auto block = draws.middleCols(b * S0, S0);
    means.col(b) = block.rowwise().mean();
    const MatrixD centered = block.colwise() - means.col(b);
    covariances[static_cast<size_t>(b)] =
        centered.lazyProduct(centered.transpose()) / static_cast<double>(S0 - 1) + 1e-12 * MatrixD::Identity(d, d);
  }
  const QuadratureGrid reference =
      trapezoid_grid(d, options.quadrature.refined_half_width, options.quadrature.refined_nodes(d));
  const LogIntegrand log_q = [&](const std::vector<Index>&, const MatrixD& Z, Index S) {
    return q.log_density(Z, S);
  };
  std::vector<Index> all(static_cast<size_t>(B));
  for (Index b = 0; b < B; ++b) all[static_cast<size_t>(b)] = b;
  const Index max_columns = options.quadrature.max_latent_columns_per_call;
  QuadraturePassResult summary = integrate_on_frames(reference, QuadratureFrames::from_moments(means, covariances), all,
                                                     log_q, max_columns, /*whole_batch=*/true);
  const QuadratureRefinementResult record = refine_quadrature(summary, log_q, options.quadrature, d, /*whole_batch=*/true);

  // Final pass: q and the joint on each datapoint's grid.
  const QuadratureFrames& frames = summary.frames;
  const Index G = reference.size();
  VectorD mass = VectorD::Zero(B), mass_half = VectorD::Zero(B);
  VectorD kl = VectorD::Zero(B), kl_half = VectorD::Zero(B), boundary = VectorD::Zero(B);
  VectorD log_jacobian(B);
  for (Index b = 0; b < B; ++b) log_jacobian(b) = frames.log_jacobian(b);
  const Index block = std::max<Index>(1, std::min(G, max_columns / B));
  for (Index first = 0; first < G; first += block) {
    const Index count = std::min(block, G - first);
    const MatrixD Z = frames.nodes(reference, first, count);
    const VectorD lq = q.log_density(Z, count);
    const VectorD lj = model.log_joint(X, Z, count);
    for (Index b = 0; b < B; ++b)
      for (Index s = 0; s < count; ++s) {
        const Index c = b * count + s;
        const Index g = first + s;
        const double t = std::exp(lq(c) + reference.log_weights(g) + log_jacobian(b));
        if (!(t > 0.0)) continue;
        const double log_ratio = lq(c) - lj(c) + log_px(b);  // log q - log p(z|x)
        mass(b) += t;
        kl(b) += t * log_ratio;
        const double t_half = std::exp(lq(c) + reference.half_rule_log_weights(g) + log_jacobian(b));
        mass_half(b) += t_half;
        kl_half(b) += t_half * log_ratio;
        if (reference.on_boundary(g) > 0.0) boundary(b) += t * (1.0 + std::abs(log_ratio));
      }
  }
  const double h = reference.spacing.minCoeff();
  // KL = Σ w q (log q - log p(x,z)) + mass·log p(x): an error in log p(x) enters KL but cancels in the ELBO.
  const VectorD rule_error = ((kl - kl_half).array().abs() + (2.0 / h) * boundary.array()).matrix();
  const VectorD kl_error = (rule_error.array() + log_px_error.array() * mass.array()).matrix();
  const VectorD elbo_error = (rule_error.array() + log_px_error.array() * (1.0 - mass.array()).abs()).matrix();

  QuadratureKlDivergence result;
  result.approximation_mass = mass;
  result.log_marginal_likelihood = log_marginal_likelihood;
  nlohmann::ordered_json settings = options.quadrature.to_json(d);
  settings["model"] = model.describe();
  settings["approximation"] = q.describe();
  settings["initial_samples"] = S0;
  settings["max_abs_mass_deviation"] = (mass.array() - 1.0).abs().maxCoeff();
  settings["unconverged_datapoints"] = record.unconverged;
  settings["error_estimate"] =
      "per_datapoint_standard_error is the quadrature error estimate (half rule + truncation + log p(x) error), nats";
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();

  Estimate& k = result.kl_divergence;
  k.estimator = "quadrature kl divergence";
  k.bias_direction = BiasDirection::exact;
  k.per_datapoint = kl;
  k.per_datapoint_standard_error = kl_error;
  k.samples_per_datapoint = G;
  k.settings = settings;
  k.seconds = seconds;
  k.summarize();

  Estimate& e = result.elbo;
  e.estimator = "quadrature elbo";
  e.bias_direction = BiasDirection::exact;
  e.per_datapoint = log_px - kl;
  e.per_datapoint_standard_error = elbo_error;
  e.samples_per_datapoint = G;
  e.settings = settings;
  e.seconds = seconds;
  e.summarize();
  return result;
}

}  // namespace

QuadratureKlDivergence kl_divergence_by_quadrature(const GenerativeModel& model, const PosteriorApproximation& q,
                                                   const MatrixF& X, const KlQuadratureOptions& options, Rng& rng) {
  options.validate(model.latent_dim());
  const ExactMarginalLikelihood exact = exact_marginal_likelihood(model, X, options.quadrature);
  return kl_divergence_by_quadrature(model, q, X, exact.log_marginal_likelihood, options, rng);
}

QuadratureKlDivergence kl_divergence_by_quadrature(const GenerativeModel& model, const PosteriorApproximation& q,
                                                   const MatrixF& X, const KlQuadratureOptions& options,
                                                   const RandomStreams& streams) {
  options.validate(model.latent_dim());
  const ExactMarginalLikelihood exact = exact_marginal_likelihood(model, X, options.quadrature);
  return kl_divergence_by_quadrature(model, q, X, exact.log_marginal_likelihood, options, streams);
}

}  // namespace vigap
