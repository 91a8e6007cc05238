// The decoder evaluations a run is predicted to cost, checked by counting: a model wrapper counts
// every latent column the gap table pushes through the decoder, and with the q* fits run to
// max_steps (patience out of reach) the count must equal the prediction exactly. Then the
// forecast's arithmetic (ranks, blocks) and its measured throughput.
#include "analyses/run_cost.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "analyses/decoder_evaluation_budget.hpp"
#include "analyses/run_cost_forecast.hpp"
#include "support/counting_model.hpp"
#include "support/expect_throw_message.hpp"
#include "support/linear_gaussian_posteriors.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::CountingModel;

constexpr Index kB = 3;

/// Small settings in which every stage is counted (latent dim 4 > 3: AIS and sampled ELBOs) and
/// the q* fits never stop early.
GapTableOptions counted_options(AisStepSizeAdaptation adaptation) {
  GapTableOptions o;
  o.eval_samples = 40;
  o.ais.num_annealing_steps = 30;
  o.ais.chains = 5;
  o.ais.leapfrog_steps = 3;
  o.ais.step_size_adaptation = adaptation;
  o.ais.pilot_chains = 2;
  o.gaussian.max_steps = 57;  // not a multiple of the check interval: a last check is counted
  o.gaussian.check_interval = 10;
  o.gaussian.check_samples = 7;
  o.gaussian.samples_per_step = 4;
  o.gaussian.patience = 1000000;
  o.gaussian.selection_samples = 6;
  o.flow.max_steps = 23;
  o.flow.samples = 3;
  o.flow.check_interval = 5;
  o.flow.patience = 1000000;
  o.flow.selection_samples = 8;
  o.flow.flow.num_layers = 1;
  o.flow.flow.hidden_sizes = {4};
  return o;
}

TEST(RunCost, TheGapTableSpendsExactlyThePredictedDecoderEvaluations) {
  const auto problem = testing::make_linear_gaussian_posteriors(4, kB, 71);
  const CountingModel model(problem.model);
  const DiagonalGaussian amortized = problem.shifted_diagonal(0.5, 1.5);
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(72), 0, kB);
  for (AisStepSizeAdaptation adaptation : {AisStepSizeAdaptation::pilot, AisStepSizeAdaptation::online}) {
    SCOPED_TRACE(to_string(adaptation));
    const GapTableOptions options = counted_options(adaptation);
    const RunCost cost = gap_table_run_cost(options, 4, kB);
    ASSERT_EQ(cost.stages.size(), 2u + 2u * options.families.size());
    EXPECT_FALSE(cost.upper_bound());  // the patience is out of reach: every count is exact
    model.take();
    compute_gap_table(model, amortized, "amortized FFG", amortized, problem.X, options, streams);
    EXPECT_EQ(model.take(), cost.total()) << cost.to_json().dump(2);
    EXPECT_EQ(cost.minimum_total(), cost.total());
  }
}

TEST(RunCost, WithAReachablePatienceTheGapTableSpendsBetweenTheMinimumAndTheMaximum) {
  const auto problem = testing::make_linear_gaussian_posteriors(4, kB, 77);
  const CountingModel model(problem.model);
  const DiagonalGaussian amortized = problem.shifted_diagonal(0.5, 1.5);
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(78), 0, kB);
  GapTableOptions options = counted_options(AisStepSizeAdaptation::pilot);
  options.gaussian.max_steps = 2000;
  options.gaussian.patience = 2;
  options.flow.max_steps = 400;
  options.flow.patience = 2;
  const RunCost cost = gap_table_run_cost(options, 4, kB);
  EXPECT_TRUE(cost.upper_bound());
  EXPECT_LT(cost.minimum_total(), cost.total());
  model.take();
  compute_gap_table(model, amortized, "amortized FFG", amortized, problem.X, options, streams);
  const Index spent = model.take();
  EXPECT_GE(spent, cost.minimum_total()) << cost.to_json().dump(2);
  EXPECT_LE(spent, cost.total()) << cost.to_json().dump(2);
  // The rule did fire: 200 checks in a row each beating the last, on 7 noisy draws, do not happen.
  EXPECT_LT(spent, cost.total());
}

TEST(RunCost, TheAisStageIsWhatAisReportsItSpent) {
  const auto problem = testing::make_linear_gaussian_posteriors(4, kB, 73);
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(74), 0, kB);
  GapTableOptions options = counted_options(AisStepSizeAdaptation::pilot);
  options.families = {};
  const RunCost cost = gap_table_run_cost(options, 4, kB);
  ASSERT_EQ(cost.stages.front().name, "log p(x) by AIS");
  const AnnealedImportanceSamplingResult r = annealed_importance_sampling(problem.model, problem.X, options.ais, streams);
  EXPECT_EQ(cost.stages.front().decoder_evaluations, r.gradient_evaluations);
  EXPECT_EQ(cost.stages.front().samples_per_datapoint, options.ais.chains);
}

TEST(RunCost, QuadratureStagesAreListedButNotCounted) {
  GapTableOptions options;
  options.families = {PosteriorFamily::ffg};
  const RunCost cost = gap_table_run_cost(options, 2, 10);
  ASSERT_EQ(cost.stages.size(), 4u);
  EXPECT_FALSE(cost.stages[0].counted);  // log p(x)
  EXPECT_FALSE(cost.stages[1].counted);  // the amortized ELBO
  EXPECT_TRUE(cost.stages[2].counted);   // the q*_ffg fit
  EXPECT_EQ(cost.total(), 10 * (local_gaussian_max_decoder_evaluations(options.gaussian) + 2 * options.gaussian.selection_samples));
}

TEST(RunCost, TheEvaluationCountsEachEstimator) {
  EvaluationOptions options;
  options.estimators = {EvaluationEstimator::elbo, EvaluationEstimator::iwae, EvaluationEstimator::ais};
  options.elbo.samples = 100;
  options.iwae_ks = {10, 5000};
  options.iwae.replicates = 2;
  options.ais.num_annealing_steps = 100;
  options.ais.chains = 16;
  options.ais.step_size_adaptation = AisStepSizeAdaptation::online;
  const RunCost cost = evaluation_run_cost(options, 50, 7);
  ASSERT_EQ(cost.stages.size(), 4u);
  EXPECT_EQ(cost.total(), 7 * (100 + 2 * (10 + 5000) + 16 * (1 + 99 * 10)));
  EXPECT_FALSE(cost.upper_bound());
}

TEST(RunCost, TheHmcVsViStudySpendsExactlyThePredictedDecoderEvaluations) {
  // Budgets that buy nothing of some methods (1, 12), and ones that buy every method: each stage's
  // prediction must equal the evaluations the study's rows report for it, summed over the budgets.
  constexpr Index kHmcB = 2;
  const auto problem = testing::make_linear_gaussian_posteriors(2, kHmcB, 75);
  const DiagonalGaussian encoder_q = problem.shifted_diagonal(0.5, 1.5);
  const RandomStreams streams = RandomStreams::consecutive(testing::test_seed(76), 0, kHmcB);
  HmcVsViOptions options;
  options.budgets = {1, 12, 300, 1000};
  options.grid_nodes = 21;
  options.vi_draws = 200;
  options.flow.flow.num_layers = 1;
  options.flow.flow.hidden_sizes = {4};
  const RunCost cost = hmc_vs_vi_run_cost(options, kHmcB);
  EXPECT_FALSE(cost.upper_bound());
  const HmcVsVi r = compute_hmc_vs_vi(problem.model, encoder_q, problem.X, options, streams);
  const auto spent = [](const auto& rows) {
    Index total = 0;
    for (const auto& row : rows) total += row.tallies.decoder_evaluations_total;
    return total;
  };
  const std::vector<std::pair<std::string, Index>> expected{
      {"HMC", spent(r.hmc)},
      {"q*_diagonal", spent(r.q_star_diagonal)},
      {"q*_full_covariance", spent(r.q_star_full_covariance)},
      {"local flow", spent(r.local_flow)},
      {"AIS from the prior", spent(r.ais_from_prior)},
      {"AIS from the amortized q", spent(r.ais_from_encoder_q)},
      {"importance sampling from the amortized q", spent(r.importance_sampling_from_encoder_q)}};
  Index total = 0;
  for (const auto& [name, evaluations] : expected) {
    const auto stage = std::find_if(cost.stages.begin(), cost.stages.end(),
                                    [&](const RunCostStage& s) { return s.name == name; });
    ASSERT_NE(stage, cost.stages.end()) << name;
    EXPECT_TRUE(stage->counted) << name;
    EXPECT_GT(evaluations, 0) << name;
    EXPECT_EQ(stage->decoder_evaluations, evaluations) << name << "\n" << cost.to_json().dump(2);
    total += evaluations;
  }
  EXPECT_EQ(cost.total(), total);
}

TEST(RunCostForecast, SecondsScaleWithRanksUpToTheBlocks) {
  RunCostForecast f;
  f.cost.stages.push_back({"AIS", 7200000, 10, false, true});
  f.stage_columns_per_second = {1000.0};
  f.ranks = 2;
  f.blocks = 4;
  EXPECT_DOUBLE_EQ(f.seconds(1), 7200.0);
  EXPECT_DOUBLE_EQ(f.seconds(2), 3600.0);
  EXPECT_DOUBLE_EQ(f.seconds(4), 1800.0);
  EXPECT_DOUBLE_EQ(f.seconds(8), 1800.0);  // 4 blocks keep at most 4 ranks busy
  EXPECT_TRUE(f.worth_printing(false));
  const nlohmann::ordered_json j = f.to_json();
  EXPECT_EQ(j["decoder_evaluations"], 7200000);
  EXPECT_DOUBLE_EQ(j["forecast_seconds"].get<double>(), 3600.0);
  EXPECT_DOUBLE_EQ(j["forecast_hours_by_ranks"]["1"].get<double>(), 2.0);
  const std::string text = f.summary("vigap-x");
  EXPECT_NE(text.find("vigap-x: cost: 7.20e+06 decoder evaluations (AIS 7.20e+06)"), std::string::npos) << text;
  EXPECT_NE(text.find("1.00 h on this run's 2 ranks (4 blocks); 2.00 h on 1; 30.0 min on 4"), std::string::npos) << text;
  f.cost.stages.front().decoder_evaluations = 5000;  // 2.5 s on 2 ranks
  EXPECT_FALSE(f.worth_printing(false));
  EXPECT_TRUE(f.worth_printing(true));
  // An upper-bounded stage shows its range.
  f.cost.stages.push_back({"q*_ffg fit", 36000000, 50, true, true, 3600000});
  f.stage_columns_per_second.push_back(1000.0);
  EXPECT_DOUBLE_EQ(f.seconds(1), 36005.0);
  EXPECT_DOUBLE_EQ(f.minimum_seconds(1), 3605.0);
  const std::string range = f.summary("vigap-x");
  EXPECT_NE(range.find("cost: 3.60e+06 to 3.60e+07 decoder evaluations (AIS 5.00e+03; q*_ffg fit 3.60e+06 to 3.60e+07)"),
            std::string::npos)
      << range;
  EXPECT_NE(range.find("between 30.0 min and 5.00 h on this run's 2 ranks"), std::string::npos) << range;
  EXPECT_DOUBLE_EQ(f.to_json()["forecast_minimum_seconds"].get<double>(), 3605.0 / 2.0);
}

TEST(RunCostForecast, TheThroughputIsMeasuredOnTheModelAndNothingWhenNothingIsCounted) {
  const auto problem = testing::make_linear_gaussian_posteriors(3, 4, 75);
  const CountingModel model(problem.model);
  Rng rng(testing::test_seed(76));
  const DecoderThroughput t = measure_decoder_throughput(model, problem.X, 5, 0.05, rng);
  EXPECT_EQ(t.columns_per_call, 4 * 5);
  EXPECT_GE(t.calls, 2);
  EXPECT_GE(t.seconds, 0.05);
  EXPECT_GT(t.columns_per_second, 0.0);
  EXPECT_EQ(model.take(), (t.calls + 1) * 20);  // the untimed warm-up call too
  testing::expect_throw_message<std::invalid_argument>(
      [&] { measure_decoder_throughput(model, problem.X, 0, 0.05, rng); }, {"samples per datapoint must be >= 1"});

  GapTableOptions options;
  options.families = {};
  const RunCostForecast none = forecast_run_cost(model, problem.X, gap_table_run_cost(options, 3, 4), 1, 1, 10);
  EXPECT_TRUE(none.throughputs.empty());
  EXPECT_EQ(none.seconds(1), 0.0);
  EXPECT_EQ(model.take(), 0);
}

// Each stage at its own call width: AIS's chains x the block's datapoints, a q* fit's samples x the
// block's, an ELBO capped near 10,000 columns; one measurement per distinct width, and a stage
// forecast at twice the rate takes half the time.
TEST(RunCostForecast, EachStageIsTimedAtTheWidthOfItsOwnCalls) {
  EXPECT_EQ(forecast_call_width(100, 2, 20), 200);
  EXPECT_EQ(forecast_call_width(50, 2, 20), 100);
  EXPECT_EQ(forecast_call_width(5000, 2, 20), 10000);
  EXPECT_EQ(forecast_call_width(20000, 2, 20), 10000);  // S capped at 10,000, one datapoint
  EXPECT_EQ(forecast_call_width(100, 10, 3), 300);      // a run of 3 datapoints
  EXPECT_EQ(forecast_call_width(100, 1000, 1000), 10000);

  const auto problem = testing::make_linear_gaussian_posteriors(3, 4, 77);
  const CountingModel model(problem.model);
  RunCost cost;
  cost.stages.push_back({"AIS", 4000, 5, false, true});
  cost.stages.push_back({"fit", 3000, 3, false, true});
  cost.stages.push_back({"quadrature", 0, 0, false, false});
  cost.stages.push_back({"ELBO", 400, 5, false, true});
  const RunCostForecast f = forecast_run_cost(model, problem.X, cost, 1, 2, 2);
  ASSERT_EQ(f.throughputs.size(), 2u);
  EXPECT_EQ(f.throughputs[0].columns_per_call, 2 * 3);
  EXPECT_EQ(f.throughputs[1].columns_per_call, 2 * 5);
  ASSERT_EQ(f.stage_columns_per_second.size(), 4u);
  EXPECT_EQ(f.stage_columns_per_second[0], f.throughputs[1].columns_per_second);
  EXPECT_EQ(f.stage_columns_per_second[1], f.throughputs[0].columns_per_second);
  EXPECT_EQ(f.stage_columns_per_second[2], 0.0);
  EXPECT_EQ(f.stage_columns_per_second[3], f.throughputs[1].columns_per_second);
  EXPECT_DOUBLE_EQ(f.seconds(1), 4400.0 / f.throughputs[1].columns_per_second + 3000.0 / f.throughputs[0].columns_per_second);
  const nlohmann::ordered_json j = f.to_json();
  ASSERT_EQ(j["throughput"].size(), 2u);
  EXPECT_EQ(j["stages"][0]["columns_per_second"].get<double>(), f.throughputs[1].columns_per_second);
  EXPECT_FALSE(j["stages"][2].contains("columns_per_second"));
  EXPECT_NE(f.summary("vigap-x").find("evaluations/s measured here (6, 10 columns a call)"), std::string::npos)
      << f.summary("vigap-x");

  RunCostForecast g;
  g.cost.stages.push_back({"AIS", 2000000, 100, false, true});
  g.cost.stages.push_back({"fit", 1000000, 50, false, true});
  g.stage_columns_per_second = {2000.0, 1000.0};
  g.blocks = 8;
  EXPECT_DOUBLE_EQ(g.seconds(1), 2000.0);
  EXPECT_DOUBLE_EQ(g.seconds(2), 1000.0);
}

}  // namespace
}  // namespace vigap
