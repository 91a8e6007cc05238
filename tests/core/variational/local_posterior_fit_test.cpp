#include "core/variational/local_posterior_fit.hpp"

#include <gtest/gtest.h>

#include "core/models/linear_gaussian_model.hpp"
#include "support/expect_throw_message.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::expect_throw_message;

struct Problem {
  LinearGaussianModel model;
  MatrixF X;
  DiagonalGaussian start;
  RandomStreams streams;
};

Problem make_problem(Index d, Index B) {
  Rng rng(77);  // a fixture; the fits' draws come from the streams' test seed
  LinearGaussianModel model = LinearGaussianModel::random(8, d, 0.5, 0.3, rng);
  MatrixF X = model.sample(B, rng).data;
  DiagonalGaussian start(MatrixD::Zero(d, B), MatrixD::Zero(d, B), "N(0, I)");
  return {std::move(model), std::move(X), std::move(start),
          RandomStreams::consecutive(testing::test_seed(5), 0, B)};
}

LocalFitOptions quick_options() {
  LocalFitOptions o;
  LocalOptimizationOptions& gaussian = o.gaussian;
  gaussian.max_steps = 60;
  gaussian.check_interval = 20;
  gaussian.check_samples = 10;
  gaussian.samples_per_step = 5;
  gaussian.patience = 1;  // some datapoints stop early: their costs differ
  gaussian.selection_samples = 20;
  LocalFlowOptions& flow = o.flow;
  flow.max_steps = 40;
  flow.check_interval = 10;
  flow.samples = 4;
  flow.patience = 2;
  flow.selection_samples = 20;
  flow.flow = AffineCouplingFlowArchitecture{1, 2, {4}, Activation::tanh, 3.0};  // latent_dim: the model's
  return o;
}

TEST(LocalPosteriorFitResult, GaussianFamiliesAreOptimizeLocalGaussiansFitWithItsCost) {
  const Problem p = make_problem(3, 4);
  const LocalFitOptions options = quick_options();
  for (PosteriorFamily family : {PosteriorFamily::ffg, PosteriorFamily::full}) {
    const LocalPosteriorFitResult fit = fit_local_posterior(p.model, p.X, family, p.start, options, p.streams);
    LocalOptimizationOptions direct_options = options.gaussian;
    direct_options.family =
        family == PosteriorFamily::ffg ? LocalGaussianFamily::diagonal : LocalGaussianFamily::full_covariance;
    const LocalGaussianOptimizationResult direct = optimize_local_gaussian(p.model, p.X, p.start, direct_options, p.streams);
    EXPECT_EQ(fit.family, family);
    EXPECT_EQ(fit.steps, direct.steps);
    EXPECT_EQ(fit.iterations, direct.steps_taken);
    EXPECT_EQ(fit.stopped_by_rule, direct.stopped_by_rule);
    EXPECT_TRUE(fit.final_objective == direct.best_check_elbo);
    EXPECT_EQ(fit.gradient_evaluations, direct.gradient_evaluations);
    // The fit's own evaluations are the optimizer's count; the selection adds 2·E per datapoint.
    EXPECT_EQ(fit.fit_decoder_evaluations(), direct.gradient_evaluations + direct.likelihood_evaluations);
    EXPECT_EQ(fit.selection_decoder_evaluations, 40);
    EXPECT_EQ(fit.total_decoder_evaluations(), fit.fit_decoder_evaluations() + 4 * 40);
    if (family == PosteriorFamily::ffg) {
      EXPECT_TRUE(fit.diagonal().mean() == std::get<DiagonalGaussian>(direct.optimized).mean());
      expect_throw_message<std::invalid_argument>([&] { fit.full_covariance(); }, {"family 'ffg'", "not 'full'"});
    } else {
      EXPECT_TRUE(fit.full_covariance().mean() == std::get<FullCovarianceGaussian>(direct.optimized).mean());
      expect_throw_message<std::invalid_argument>([&] { fit.flow(); }, {"family 'full'", "not 'flow'"});
    }
    EXPECT_EQ(fit.approximation().describe(), direct.approximation().describe());
  }
}

TEST(LocalPosteriorFitResult, FlowIsOptimizeLocalFlowsFitWithItsCost) {
  const Problem p = make_problem(2, 3);
  const LocalFitOptions options = quick_options();
  const LocalPosteriorFitResult fit = fit_local_posterior(p.model, p.X, PosteriorFamily::flow, p.start, options, p.streams);
  const LocalFlowOptimizationResult direct = optimize_local_flow(p.model, p.X, p.start, options.flow, p.streams);
  EXPECT_EQ(fit.steps, direct.steps);
  EXPECT_EQ(fit.iterations, direct.stopped_at_step);
  EXPECT_EQ(fit.all_stopped_by_rule, direct.converged);
  EXPECT_TRUE(fit.final_objective == direct.best_window_elbo);
  EXPECT_TRUE(fit.flow().base_mean() == direct.approximation.base_mean());
  // Every datapoint is evaluated at every step of the batch, with its gradient.
  EXPECT_EQ(fit.gradient_evaluations, 3 * direct.steps * 4);
  EXPECT_EQ(fit.fit_decoder_evaluations(), fit.gradient_evaluations);
  EXPECT_EQ(fit.total_decoder_evaluations(), fit.gradient_evaluations + 3 * 40);
  for (size_t b = 0; b < 3; ++b) {
    if (fit.stopped_by_rule[b])
      EXPECT_EQ(fit.iterations[b] % 10, 0) << "stopped at a check";
    else
      EXPECT_EQ(fit.iterations[b], 40) << "ran to max_steps";
  }
  EXPECT_TRUE(fit.approximation().has_density_gradient());
}

TEST(LocalPosteriorFitResult, RejectsTheAmortizedFamilyAndBadOptions) {
  const Problem p = make_problem(2, 2);
  LocalFitOptions options = quick_options();
  expect_throw_message<std::invalid_argument>(
      [&] { fit_local_posterior(p.model, p.X, PosteriorFamily::amortized, p.start, options, p.streams); },
      {"family 'amortized' is not fitted per datapoint", "ffg", "full", "flow"});
  options.gaussian.samples_per_step = 0;
  expect_throw_message<std::invalid_argument>(
      [&] { fit_local_posterior(p.model, p.X, PosteriorFamily::full, p.start, options, p.streams); },
      {"samples_per_step"});
  EXPECT_NO_THROW(options.validate(PosteriorFamily::flow));  // the flow does not read the Gaussian block
  expect_throw_message<std::invalid_argument>([&] { options.validate(); }, {"samples_per_step"});
  EXPECT_EQ(LocalFitOptions{}.to_json()["flow"]["samples"], LocalFlowOptions{}.samples);
}

}  // namespace
}  // namespace vigap
