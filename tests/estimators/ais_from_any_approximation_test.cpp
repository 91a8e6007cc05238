// AIS from q and the ELBO through the PosteriorApproximation interface alone: a flow posterior
// (newly possible for AIS), and clear errors for an approximation without a density.
#include <gtest/gtest.h>

#include <cmath>

#include "core/models/linear_gaussian_model.hpp"
#include "core/variational/flow_posterior.hpp"
#include "estimators/annealed_importance_sampling.hpp"
#include "estimators/elbo_estimator.hpp"
#include "support/expect_throw_message.hpp"
#include "support/samples_only_approximation.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

/// A linear-Gaussian problem (D observations, d latents, B datapoints) and a flow posterior
/// with small random conditioners around its exact posterior's diagonal.
struct Problem {
  LinearGaussianModel model;
  ModelSample data;
  FlowPosterior q;
};

Problem make_problem(Index D, Index d, Index B, Rng& rng) {
  LinearGaussianModel model = LinearGaussianModel::random(D, d, 1.0, 0.7, rng);
  ModelSample data = model.sample(B, rng);
  MatrixD log_variance(d, B);
  log_variance.colwise() = model.posterior_covariance().diagonal().array().log().matrix();
  AffineCouplingFlow flow(AffineCouplingFlowArchitecture{d, 2, {8}, Activation::tanh, 3.0});
  fill_standard_normal(flow.parameters(), rng);
  flow.parameters() *= 0.05f;
  FlowPosterior q(model.posterior_mean(data.data), log_variance.array() + 0.2, {flow});
  return {std::move(model), std::move(data), std::move(q)};
}

TEST(AisFromAnyApproximation, FromAFlowPosteriorAgreesWithTheClosedForm) {
  Rng rng(testing::test_seed(41));
  const auto [model, data, q] = make_problem(10, 4, 4, rng);
  AisOptions o;
  o.num_annealing_steps = 50;
  o.chains = 16;
  o.leapfrog_steps = 10;
  o.initial_step_size = 0.1;
  o.max_step_size = 3.0;
  const AnnealedImportanceSamplingResult r = annealed_importance_sampling(model, q, data.data, o, rng);
  const VectorD truth = model.log_marginal_likelihood(data.data);
  for (Index b = 0; b < truth.size(); ++b)
    EXPECT_LT(std::abs(r.estimate.per_datapoint(b) - truth(b)), 4.0 * r.estimate.per_datapoint_standard_error(b) + 0.01)
        << "datapoint " << b;
  EXPECT_EQ(r.estimate.settings["initial_distribution"], q.describe());
}

TEST(AisFromAnyApproximation, ApproximationsWithoutADensityGiveClearErrors) {
  Rng rng(testing::test_seed(42));
  const auto [model, data, q] = make_problem(5, 2, 2, rng);
  const testing::SamplesOnlyApproximation draws(2, 2, "HMC-like draws");
  AisOptions o;
  o.num_annealing_steps = 3;
  testing::expect_throw_message<std::invalid_argument>(
      [&] { annealed_importance_sampling(model, draws, data.data, o, rng); }, {"\"HMC-like draws\"", "no density"});
  ElboOptions elbo;
  elbo.kl_form = ElboKlForm::analytic;
  testing::expect_throw_message<std::invalid_argument>([&] { estimate_elbo(model, draws, data.data, elbo, rng); },
                                                       {"closed-form KL", "HMC-like draws"});
}

TEST(AisFromAnyApproximation, AnalyticElboNeedsAClosedFormKl) {
  Rng rng(testing::test_seed(43));
  const auto [model, data, q] = make_problem(6, 2, 2, rng);
  ElboOptions elbo;
  elbo.samples = 10;
  elbo.kl_form = ElboKlForm::analytic;
  testing::expect_throw_message<std::invalid_argument>([&] { estimate_elbo(model, q, data.data, elbo, rng); },
                                                       {"kl_form analytic", "closed-form KL"});
  elbo.kl_form = ElboKlForm::automatic;  // Monte Carlo for the flow
  EXPECT_EQ(estimate_elbo(model, q, data.data, elbo, rng).settings["kl_form"], "monte-carlo");
}

}  // namespace
}  // namespace vigap
