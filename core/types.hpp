#pragma once
// Numeric types used across vigap.
//
// Network math (weights, activations, data) is float32; latents handed across the
// GenerativeModel interface, log densities and every reduction over samples are double.
// All matrices are column-major: one column per datapoint (X is D x B) or per latent
// sample (Z is d x (B*S), the S samples of datapoint b in columns b*S ... b*S+S-1).
//
// How options and result types are named, in every layer:
// - `<Name>Options`: every options struct. Each field's default is in its comment, and
//   validate() throws std::invalid_argument naming the option (Ceres style).
// - A procedure run on a batch (a sampler, an optimizer, a fit, a Monte Carlo estimator run, a
//   quadrature pass) is a function named by a verb phrase or by the procedure, returning
//   `<Procedure>Result`: hmc_sample_posterior -> HmcResult, annealed_importance_sampling ->
//   AnnealedImportanceSamplingResult, optimize_local_gaussian -> LocalGaussianOptimizationResult,
//   fit_local_posterior -> LocalPosteriorFitResult, integrate_on_frames -> QuadraturePassResult.
// - A function named after the quantity it computes returns that quantity's type:
//   exact_marginal_likelihood -> ExactMarginalLikelihood, kl_divergence_by_quadrature ->
//   QuadratureKlDivergence, aggregate_posterior_decomposition_by_* -> AggregatePosteriorDecomposition.
//   One scalar with its standard errors is an `Estimate` (value, errors, bias direction;
//   estimate_elbo, estimate_iwae_bound) or, without a bias direction, `<Quantity>Estimate`.
// - Training returns `<Training>Summary` (VaeTrainingSummary, ExactMarginalLikelihoodTrainingSummary).
// - An analysis is `compute_<noun>(...)` returning `<Noun>` with to_json() / results_json() and
//   to_markdown() (GapTable, HmcVsVi, ObjectiveComparison, EstimatorVarianceStudy,
//   AggregatePosteriorReport, Posterior2dComparison).
// - Parts of a result are `<Noun>Row` (one line of a table) or `<Noun>Record` (one entry of a log).
// - Every long function takes `const ProgressReporter& progress = quiet_progress()` last
//   (core/progress_reporter.hpp).
#include <Eigen/Dense>

namespace vigap {

using Index = Eigen::Index;

using MatrixF = Eigen::MatrixXf;
using VectorF = Eigen::VectorXf;
using RowVectorF = Eigen::RowVectorXf;
using MatrixD = Eigen::MatrixXd;
using VectorD = Eigen::VectorXd;
using RowVectorD = Eigen::RowVectorXd;

}  // namespace vigap
