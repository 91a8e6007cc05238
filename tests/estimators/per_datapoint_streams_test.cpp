// Every estimator's draws for a datapoint are a function of (seed, dataset index, purpose,
// position): on the linear-Gaussian model, whose arithmetic is per column, datapoints [0, 40) in
// one batch give the same per-datapoint values (bits) as [0, 20) and [20, 40) in two batches.
#include <gtest/gtest.h>

#include "core/random_streams.hpp"
#include "core/variational/local_flow_optimization.hpp"
#include "core/variational/local_gaussian_optimization.hpp"
#include "estimators/annealed_importance_sampling.hpp"
#include "estimators/bidirectional_monte_carlo.hpp"
#include "estimators/elbo_estimator.hpp"
#include "estimators/importance_sampling.hpp"
#include "estimators/iwae_bound.hpp"
#include "samplers/hmc_sampler.hpp"
#include "support/linear_gaussian_posteriors.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

constexpr Index kB = 40;

class PerDatapointStreams : public ::testing::Test {
 protected:
  PerDatapointStreams()
      : problem_(testing::make_linear_gaussian_posteriors(2, kB, ::vigap::testing::test_seed(5))),
        streams_(RandomStreams::consecutive(::vigap::testing::test_seed(17), 1000, kB)) {}

  /// f(X columns, q of those columns, streams of those columns) -> per-datapoint values; the whole
  /// batch against its two halves.
  template <typename F>
  void expect_split_independent(const F& f, const std::string& what,
                                const std::vector<Index>& splits = {20, 13}) const {
    const DiagonalGaussian q = problem_.shifted_diagonal(0.5, 1.5);
    const VectorD whole = f(problem_.X, q, streams_);
    ASSERT_EQ(whole.size(), kB) << what;
    // [0, 20) + [20, 40) as the issue asks, and [0, 13) + [13, 40): an odd offset moves every
    // datapoint's columns to another memory alignment, which must not change their rounding.
    for (const Index split : splits) {
      VectorD joined(kB);
      for (const auto& [first, count] : {std::pair<Index, Index>{0, split}, std::pair<Index, Index>{split, kB - split}}) {
        const MatrixF X = problem_.X.middleCols(first, count);
        const DiagonalGaussian part(q.mean().middleCols(first, count), q.log_variance().middleCols(first, count));
        joined.segment(first, count) = f(X, part, streams_.slice(first, count));
      }
      for (Index b = 0; b < kB; ++b) EXPECT_EQ(whole(b), joined(b)) << what << ", split at " << split << ", datapoint " << b;
    }
    // The other datapoints' draws differ: a stream keyed by position would not pass this.
    EXPECT_NE(whole(0), whole(1)) << what;
  }

  testing::LinearGaussianPosteriors problem_;
  RandomStreams streams_;
};

TEST_F(PerDatapointStreams, ElboIwaeAndImportanceSampling) {
  expect_split_independent(
      [&](const MatrixF& X, const DiagonalGaussian& q, const RandomStreams& s) {
        ElboOptions o;
        o.samples = 30;
        o.kl_form = ElboKlForm::monte_carlo;
        o.max_latent_columns_per_call = 64;  // chunks of 64 / B samples: differ between the batches
        return estimate_elbo(problem_.model, q, X, o, s).per_datapoint;
      },
      "ELBO");
  expect_split_independent(
      [&](const MatrixF& X, const DiagonalGaussian& q, const RandomStreams& s) {
        IwaeBoundOptions o;
        o.samples = 7;
        o.replicates = 3;
        o.max_latent_columns_per_call = 100;
        return estimate_iwae_bound(problem_.model, q, X, o, s).per_datapoint;
      },
      "IWAE");
  expect_split_independent(
      [&](const MatrixF& X, const DiagonalGaussian& q, const RandomStreams& s) {
        ImportanceSamplingOptions o;
        o.samples = 50;
        o.max_latent_columns_per_call = 90;
        const ImportanceSamplingResult r = estimate_log_marginal_likelihood_by_importance_sampling(problem_.model, q, X, o, s);
        VectorD v(2 * X.cols());
        v << r.log_marginal_likelihood.per_datapoint, r.effective_sample_size;
        return VectorD(v.head(X.cols()) + 1e-3 * v.tail(X.cols()));
      },
      "importance sampling");
}

TEST_F(PerDatapointStreams, AnnealedImportanceSamplingAndBdmc) {
  AisOptions o;
  o.num_annealing_steps = 15;
  o.chains = 3;
  o.leapfrog_steps = 4;
  for (const AisStepSizeAdaptation adaptation :
       {AisStepSizeAdaptation::none, AisStepSizeAdaptation::online, AisStepSizeAdaptation::pilot}) {
    o.step_size_adaptation = adaptation;
    expect_split_independent(
        [&](const MatrixF& X, const DiagonalGaussian&, const RandomStreams& s) {
          return annealed_importance_sampling(problem_.model, X, o, s).estimate.per_datapoint;
        },
        "AIS from the prior, " + to_string(adaptation));
    expect_split_independent(
        [&](const MatrixF& X, const DiagonalGaussian& q, const RandomStreams& s) {
          return annealed_importance_sampling(problem_.model, q, X, o, s).estimate.per_datapoint;
        },
        "AIS from q, " + to_string(adaptation));
  }
  o.step_size_adaptation = AisStepSizeAdaptation::pilot;
  expect_split_independent(
      [&](const MatrixF& X, const DiagonalGaussian&, const RandomStreams& s) {
        const MatrixD truth = problem_.posterior_mean.middleCols(static_cast<Index>(s.dataset_indices()[0] - 1000), X.cols());
        return reverse_annealed_importance_sampling(problem_.model, X, truth, o, s).estimate.per_datapoint;
      },
      "reverse AIS");
  expect_split_independent(
      [&](const MatrixF&, const DiagonalGaussian&, const RandomStreams& s) {
        const BidirectionalMonteCarloResult r = bidirectional_monte_carlo(problem_.model, o, s);
        return VectorD(r.forward.estimate.per_datapoint + 1e3 * r.reverse.estimate.per_datapoint);
      },
      "BDMC (simulated pair b keyed by its index)");
}

HmcOptions small_hmc_options() {
  HmcOptions o;
  o.chains = 2;
  o.warmup = 30;
  o.draws = 20;
  o.leapfrog_steps = 3;
  return o;
}

TEST_F(PerDatapointStreams, HmcPosteriorSampling) {
  const HmcOptions o = small_hmc_options();
  expect_split_independent(
      [&](const MatrixF& X, const DiagonalGaussian&, const RandomStreams& s) {
        const HmcResult r = hmc_sample_posterior(problem_.model, X, o, s);
        return VectorD(r.posterior_means().row(0).transpose() + r.posterior_means().row(1).transpose() * 1e-3);
      },
      "HMC posterior means", {20});
}

// At an odd split offset (13) a datapoint's chains sit at other column offsets of the batch (and
// the last ones in a product's tail): the linear-Gaussian model evaluates column by column, so
// HMC's draws do not depend on them.
TEST_F(PerDatapointStreams, HmcPosteriorSamplingAtAnOddSplitOffset) {
  const HmcOptions o = small_hmc_options();
  expect_split_independent(
      [&](const MatrixF& X, const DiagonalGaussian&, const RandomStreams& s) {
        const HmcResult r = hmc_sample_posterior(problem_.model, X, o, s);
        return VectorD(r.posterior_means().row(0).transpose() + r.posterior_means().row(1).transpose() * 1e-3);
      },
      "HMC posterior means", {13});
}

TEST_F(PerDatapointStreams, LocalOptimization) {
  for (const LocalGaussianFamily family : {LocalGaussianFamily::diagonal, LocalGaussianFamily::full_covariance}) {
    LocalOptimizationOptions o;
    o.family = family;
    o.samples_per_step = 4;
    o.max_steps = 60;
    o.check_interval = 10;
    o.check_samples = 8;
    o.patience = 2;  // datapoints stop at different steps: the active set shrinks differently
    expect_split_independent(
        [&](const MatrixF& X, const DiagonalGaussian& q, const RandomStreams& s) {
          const LocalGaussianOptimizationResult r = optimize_local_gaussian(problem_.model, X, q, o, s);
          VectorD v = r.best_check_elbo;
          for (Index b = 0; b < X.cols(); ++b) v(b) += 1e-3 * static_cast<double>(r.steps_taken[static_cast<size_t>(b)]);
          return v;
        },
        "q* " + to_string(family));
  }
  LocalFlowOptions o;
  o.samples = 3;
  o.max_steps = 30;
  o.check_interval = 5;
  o.patience = 2;
  o.flow.num_layers = 2;
  o.flow.hidden_sizes = {4};
  expect_split_independent(
      [&](const MatrixF& X, const DiagonalGaussian& q, const RandomStreams& s) {
        return optimize_local_flow(problem_.model, X, q, o, s).best_window_elbo;
      },
      "local flow");
}

}  // namespace
}  // namespace vigap
