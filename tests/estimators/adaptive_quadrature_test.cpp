// The quadrature's error estimate against the true error: it must bound it and must not
// exceed it by orders of magnitude (else it says nothing), and refinement must either meet
// the tolerance or list the datapoints it did not.
#include "estimators/adaptive_quadrature.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "core/models/linear_gaussian_model.hpp"
#include "core/models/mlp_decoder_model.hpp"
#include "estimators/exact_marginal_likelihood.hpp"

namespace vigap {
namespace {

TEST(TrapezoidErrorEstimate, IsTheHalfRuleDifference) {
  EXPECT_NEAR(trapezoid_error_estimate(0.0, 1e-3), 1e-3 + 1e-12, 1e-18);
  EXPECT_NEAR(trapezoid_error_estimate(-5.0, -5.0), 1e-12, 1e-20);
  EXPECT_TRUE(std::isinf(trapezoid_error_estimate(0.0, -INFINITY)));
  EXPECT_TRUE(std::isinf(trapezoid_error_estimate(std::nan(""), 0.0)));
}

// Each datapoint's value on `options` against a reference; the estimate must bound the
// error (up to the reference's own estimate and `floor`) and be at most `max_ratio` times it.
struct Tightness {
  double worst_ratio = 0.0;   // max over datapoints of estimate / max(error, floor)
  double worst_excess = 0.0;  // max over datapoints of error - estimate - reference estimate - floor (must be <= 0)
};

Tightness tightness(const VectorD& value, const VectorD& estimate, const VectorD& reference,
                    const VectorD& reference_estimate, double floor) {
  Tightness t;
  for (Index b = 0; b < value.size(); ++b) {
    const double error = std::abs(value(b) - reference(b));
    t.worst_ratio = std::max(t.worst_ratio, estimate(b) / std::max(error, floor));
    t.worst_excess = std::max(t.worst_excess, error - estimate(b) - reference_estimate(b) - floor);
  }
  return t;
}

// One refined pass on a grid of n nodes per dimension, no finer level: the error of that grid.
QuadratureOptions single_grid(Index n) {
  QuadratureOptions options;
  options.refined_nodes_per_dimension = n;
  options.max_refined_nodes_per_dimension = n;
  options.max_refinements = 2;
  options.tolerance = 1e-300;  // never met: every datapoint runs its passes and is listed
  return options;
}

TEST(AdaptiveQuadratureErrorEstimate, BoundsAndTracksTheTrueErrorOnTheLinearGaussianModel) {
  Rng rng(31);
  for (Index d = 1; d <= 2; ++d) {
    const LinearGaussianModel model = LinearGaussianModel::random(8, d, 0.5, 1.0, rng);  // posterior sd ~0.17
    const MatrixF X = model.sample(20, rng).data;
    const VectorD truth = model.log_marginal_likelihood(X);
    const VectorD zero = VectorD::Zero(X.cols());
    // Defaults: errors at the rounding of the closed form; the estimate must come down to a
    // hundredth of the tolerance (errors below that are all as good as asked for).
    const double kFloor = 0.01 * QuadratureOptions{}.tolerance;
    for (Index n : {0}) {
      const ExactMarginalLikelihood r = exact_marginal_likelihood(model, X, n == 0 ? QuadratureOptions{} : single_grid(n));
      const Estimate& e = r.log_marginal_likelihood;
      const Tightness t = tightness(e.per_datapoint, e.per_datapoint_standard_error, truth, zero, kFloor);
      std::cout << "[ tightness ] linear-Gaussian d=" << d << " refined n=" << n << ": max estimate/error "
                << t.worst_ratio << ", max |error| " << (e.per_datapoint - truth).cwiseAbs().maxCoeff() << "\n";
      EXPECT_LE(t.worst_excess, 0.0) << "d=" << d << " n=" << n;
      EXPECT_LE(t.worst_ratio, 100.0) << "d=" << d << " n=" << n;
    }
    // The coarse prior-box rule alone at spacings of 1.4 and 1 posterior standard deviations:
    // errors of 1e-5 and 1e-9, and the estimate still bounds them (there it is |I_h - I_2h|,
    // loose: the 4h rule is too coarse to show the rate).
    for (Index coarse : {61, 81}) {
      QuadratureOptions options;
      options.coarse_nodes_per_dimension = coarse;
      options.max_refinements = 0;
      const ExactMarginalLikelihood r = exact_marginal_likelihood(model, X, options);
      const Estimate& e = r.log_marginal_likelihood;
      const Tightness t = tightness(e.per_datapoint, e.per_datapoint_standard_error, truth, zero, 1e-11);
      std::cout << "[ tightness ] linear-Gaussian d=" << d << " coarse only n=" << coarse << ": max estimate/error "
                << t.worst_ratio << ", max |error| " << (e.per_datapoint - truth).cwiseAbs().maxCoeff() << "\n";
      EXPECT_LE(t.worst_excess, 0.0) << "d=" << d << " coarse n=" << coarse;
    }
  }
}

TEST(AdaptiveQuadratureErrorEstimate, BoundsAndTracksTheErrorOfAFinerRuleOnAnMlpDecoder) {
  // Non-Gaussian posteriors (as in exact_marginal_likelihood_test), smooth (tanh) and piecewise
  // smooth (ELU). Reference: the prior-box rule alone with 1121 nodes per dimension (spacing
  // 0.0125). Above 1e-6 nats (the float decoder's own rounding and the reference's accuracy
  // on the ELU decoder, whose rules converge erratically) the estimate must bound the error and
  // be at most 100 times it.
  Rng rng(21);
  for (Activation activation : {Activation::tanh, Activation::elu}) {
    MlpDecoderModel model(2, {16, 16}, 12, activation, Likelihood::bernoulli);
    model.network().initialize(rng);
    model.network().parameters() *= 3.0f;
    const Index B = 20;
    MatrixF X(12, B);
    for (Index b = 0; b < B; ++b)
      for (Index i = 0; i < 12; ++i) X(i, b) = uniform_01(rng) < 0.5 ? 1.0f : 0.0f;
    QuadratureOptions fine;
    fine.coarse_nodes_per_dimension = 1121;
    fine.max_refinements = 0;
    const ExactMarginalLikelihood reference = exact_marginal_likelihood(model, X, fine);
    for (Index n : {0, 17, 25}) {  // defaults, then single refined grids (no finer level)
      const ExactMarginalLikelihood r = exact_marginal_likelihood(model, X, n == 0 ? QuadratureOptions{} : single_grid(n));
      const Tightness t = tightness(r.log_marginal_likelihood.per_datapoint,
                                    r.log_marginal_likelihood.per_datapoint_standard_error,
                                    reference.log_marginal_likelihood.per_datapoint,
                                    reference.log_marginal_likelihood.per_datapoint_standard_error, 1e-6);
      std::cout << "[ tightness ] MLP " << to_string(activation) << " refined n=" << n << ": max estimate/error "
                << t.worst_ratio << ", max |error| "
                << (r.log_marginal_likelihood.per_datapoint - reference.log_marginal_likelihood.per_datapoint)
                       .cwiseAbs()
                       .maxCoeff()
                << "\n";
      EXPECT_LE(t.worst_excess, 0.0) << to_string(activation) << " n=" << n;
      // At the defaults (what refinement delivers) within 100 times; on a single coarse refined
      // grid, where the ELU decoder's rules converge slowly, within 1000 times.
      EXPECT_LE(t.worst_ratio, n == 0 ? 100.0 : 1000.0) << to_string(activation) << " n=" << n;
    }
  }
}

TEST(AdaptiveQuadrature, ListsTheDatapointsThatDidNotMeetTheToleranceWithinTheBudget) {
  Rng rng(5);
  const LinearGaussianModel model = LinearGaussianModel::random(8, 2, 0.5, 1.0, rng);
  const MatrixF X = model.sample(6, rng).data;
  QuadratureOptions options = single_grid(9);
  options.tolerance = 1e-13;  // below the estimate's rounding term: never met
  const ExactMarginalLikelihood r = exact_marginal_likelihood(model, X, options);
  ASSERT_EQ(r.unconverged, X.cols());
  const auto& list = r.log_marginal_likelihood.settings.at("datapoints_over_tolerance");
  ASSERT_EQ(static_cast<Index>(list.size()), X.cols());
  for (Index b = 0; b < X.cols(); ++b) {
    EXPECT_EQ(list[b]["datapoint"].get<Index>(), b);
    EXPECT_DOUBLE_EQ(list[b]["error_estimate"].get<double>(), r.log_marginal_likelihood.per_datapoint_standard_error(b));
    EXPECT_EQ(list[b]["nodes_per_dimension"].get<Index>(), 9);
  }
  const std::string warning = over_tolerance_warning(r.over_tolerance, options.tolerance, "log p(x)", 100);
  EXPECT_NE(warning.find("6 datapoints"), std::string::npos) << warning;
  EXPECT_NE(warning.find("datapoint 105"), std::string::npos) << warning;
  EXPECT_EQ(to_json(r.over_tolerance, 100)[0]["datapoint"].get<Index>(), 100);
  // At the defaults every datapoint meets the tolerance and the list is empty.
  const ExactMarginalLikelihood defaults = exact_marginal_likelihood(model, X);
  EXPECT_EQ(defaults.unconverged, 0);
  EXPECT_TRUE(defaults.log_marginal_likelihood.settings.at("datapoints_over_tolerance").empty());
  EXPECT_TRUE(over_tolerance_warning(defaults.over_tolerance, 1e-5, "log p(x)").empty());
}

TEST(AdaptiveQuadrature, RejectsABudgetBelowTheRefinedGrid) {
  QuadratureOptions options;
  options.max_refined_nodes_per_dimension = 17;
  EXPECT_THROW(options.validate(2), std::invalid_argument);  // refined grid: 33 nodes
  options.max_refined_nodes_per_dimension = 33;
  EXPECT_NO_THROW(options.validate(2));
}

}  // namespace
}  // namespace vigap
