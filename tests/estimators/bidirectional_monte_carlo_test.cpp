#include "estimators/bidirectional_monte_carlo.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/models/linear_gaussian_model.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

AisOptions bdmc_options(Index T) {
  AisOptions o;
  o.num_annealing_steps = T;
  o.chains = 8;
  o.initial_step_size = 0.1;
  return o;
}

TEST(BidirectionalMonteCarlo, SandwichesTheTruthAndNarrowsWithT) {
  Rng rng(testing::test_seed(41));
  const LinearGaussianModel model = LinearGaussianModel::random(20, 10, 1.0, 0.7, rng);
  const ModelSample simulated = model.sample(6, rng);
  const VectorD truth = model.log_marginal_likelihood(simulated.data);
  // The mean gap is a difference of two independent AIS runs' means (8 chains each): its standard
  // error is the two reported ones combined; orderings and the final bound are one-sided at 3.9 of
  // them (P <~ 5e-5 each). At T = 500 and 2000 the expected gaps (~0.1) are within the noise of
  // 8 reverse chains, so the ordering there is "not significantly wider".
  double previous_gap = std::numeric_limits<double>::infinity(), previous_se = 0.0;
  for (const Index T : {5, 50, 500, 2000}) {
    const BidirectionalMonteCarloResult r = bidirectional_monte_carlo(model, simulated, bdmc_options(T), rng);
    const Estimate& lower = r.forward.estimate;
    const Estimate& upper = r.reverse.estimate;
    EXPECT_EQ(upper.bias_direction, BiasDirection::stochastic_upper_bound);
    for (Index b = 0; b < truth.size(); ++b) {
      EXPECT_LE(lower.per_datapoint(b), truth(b) + 4.0 * lower.per_datapoint_standard_error(b) + 0.01)
          << "T = " << T << ", datapoint " << b;
      EXPECT_GE(upper.per_datapoint(b), truth(b) - 4.0 * upper.per_datapoint_standard_error(b) - 0.01)
          << "T = " << T << ", datapoint " << b;
    }
    EXPECT_NEAR(r.mean_gap, (upper.per_datapoint - lower.per_datapoint).mean(), 1e-12);
    const double gap_se = std::hypot(lower.monte_carlo_standard_error, upper.monte_carlo_standard_error);
    EXPECT_LT(r.mean_gap, previous_gap + 3.9 * std::hypot(gap_se, previous_se)) << "T = " << T << ", se " << gap_se;
    previous_gap = r.mean_gap;
    previous_se = gap_se;
  }
  // T = 2000: a narrow sandwich around the truth.
  EXPECT_LT(previous_gap, 0.2 + 3.9 * previous_se) << "se " << previous_se;
}

TEST(BidirectionalMonteCarlo, SimulatesItsOwnData) {
  Rng rng(testing::test_seed(42));
  const LinearGaussianModel model = LinearGaussianModel::random(5, 2, 1.0, 0.5, rng);
  const BidirectionalMonteCarloResult r = bidirectional_monte_carlo(model, 3, bdmc_options(20), rng);
  EXPECT_EQ(r.simulated.data.cols(), 3);
  EXPECT_EQ(r.gap.size(), 3);
  EXPECT_THROW(bidirectional_monte_carlo(model, 0, bdmc_options(20), rng), std::invalid_argument);
  ModelSample bad = r.simulated;
  bad.latents = MatrixD::Zero(3, 3);
  EXPECT_THROW(bidirectional_monte_carlo(model, bad, bdmc_options(20), rng), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
