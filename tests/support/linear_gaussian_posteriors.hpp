#pragma once
// Test helper: a random linear-Gaussian problem with its exact posterior, the KL-optimal
// diagonal Gaussian approximation, and that approximation's closed-form KL to the posterior.
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/models/linear_gaussian_model.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/full_covariance_gaussian.hpp"
#include "support/test_seed.hpp"

namespace vigap::testing {

/// KL(N(m1, S1) ‖ N(m2, S2)) = ½[tr(S2⁻¹S1) + (m2-m1)ᵀS2⁻¹(m2-m1) - d + log|S2| - log|S1|].
inline double gaussian_kl(const VectorD& m1, const MatrixD& S1, const VectorD& m2, const MatrixD& S2) {
  const Eigen::LLT<MatrixD> llt2(S2);
  const VectorD diff = m2 - m1;
  const double log_det1 = 2.0 * Eigen::LLT<MatrixD>(S1).matrixLLT().diagonal().array().log().sum();
  const double log_det2 = 2.0 * llt2.matrixLLT().diagonal().array().log().sum();
  return 0.5 * (llt2.solve(S1).trace() + diff.dot(llt2.solve(diff)) - static_cast<double>(m1.size()) + log_det2 -
                log_det1);
}

struct LinearGaussianPosteriors {
  LinearGaussianModel model;
  MatrixF X;                       ///< D x B data drawn from the model
  VectorD log_marginal_likelihood;  ///< exact log p(x_b)
  MatrixD posterior_mean;           ///< d x B
  MatrixD posterior_precision;      ///< Λ = Σ⁻¹ (shared by every x)

  /// q = p(z|x): mean E[z|x], Cholesky factor of Σ for every datapoint.
  FullCovarianceGaussian exact_posterior() const {
    const MatrixD L = model.posterior_covariance().llt().matrixL();
    return FullCovarianceGaussian(posterior_mean, std::vector<MatrixD>(X.cols(), L), "exact posterior");
  }

  /// argmin over diagonal Gaussians of KL(q ‖ p(z|x)): mean E[z|x], variances 1 / Λ_jj.
  DiagonalGaussian best_diagonal() const {
    MatrixD log_variance(posterior_mean.rows(), posterior_mean.cols());
    log_variance.colwise() = -posterior_precision.diagonal().array().log().matrix();
    return DiagonalGaussian(posterior_mean, log_variance, "KL-optimal diagonal Gaussian");
  }

  /// A poor diagonal Gaussian: the best one shifted by `shift` posterior standard deviations in
  /// every coordinate, with variances multiplied by `variance_factor`.
  DiagonalGaussian shifted_diagonal(double shift, double variance_factor) const {
    const VectorD variance = posterior_precision.diagonal().cwiseInverse();
    MatrixD mean = posterior_mean;
    mean.colwise() += shift * variance.cwiseSqrt();
    MatrixD log_variance(mean.rows(), mean.cols());
    log_variance.colwise() = (variance * variance_factor).array().log().matrix();
    return DiagonalGaussian(mean, log_variance, "shifted diagonal Gaussian");
  }

  /// KL(q ‖ p(z|x)) of best_diagonal(), the same for every x:
  /// ½[tr(Σ⁻¹ Σ_q) - d + log|Σ| - log|Σ_q|] with Σ_q = diag(1/Λ_jj), so tr(Σ⁻¹Σ_q) = d.
  double best_diagonal_kl() const {
    const Index d = posterior_precision.rows();
    const MatrixD sigma_q = posterior_precision.diagonal().cwiseInverse().asDiagonal();
    const double trace = (posterior_precision * sigma_q).trace();
    const double log_det_sigma = -2.0 * Eigen::LLT<MatrixD>(posterior_precision).matrixLLT().diagonal().array().log().sum();
    const double log_det_sigma_q = sigma_q.diagonal().array().log().sum();
    return 0.5 * (trace - static_cast<double>(d) + log_det_sigma - log_det_sigma_q);
  }
};

/// D = max(10, 10 d) so that the posterior correlations stay moderate (KL of the best
/// diagonal Gaussian about d² / (4D) nats), sigma 0.5, weights N(0, 0.3²). Drawn from
/// test_seed(seed) (the seed offset VIGAP_TEST_SEED applies).
inline LinearGaussianPosteriors make_linear_gaussian_posteriors(Index latent_dim, Index num_datapoints,
                                                               std::uint64_t seed) {
  Rng rng(test_seed(seed));
  const Index D = std::max<Index>(10, 10 * latent_dim);
  LinearGaussianModel model = LinearGaussianModel::random(D, latent_dim, 0.5, 0.3, rng);
  MatrixF X = model.sample(num_datapoints, rng).data;
  VectorD log_p = model.log_marginal_likelihood(X);
  MatrixD mean = model.posterior_mean(X);
  MatrixD precision = model.posterior_covariance().inverse();
  return LinearGaussianPosteriors{std::move(model), std::move(X), std::move(log_p), std::move(mean),
                                  std::move(precision)};
}

}  // namespace vigap::testing
