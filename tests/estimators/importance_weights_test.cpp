#include "estimators/importance_weights.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "support/expect_throw_message.hpp"
#include "core/math/log_sum_exp.hpp"
#include "support/linear_gaussian_posteriors.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::expect_throw_message;

// k x B log weights on a wide scale: exp() of them under- and overflows double.
MatrixD wide_log_weights(Index k, Index B, std::uint64_t seed) {
  Rng rng(testing::test_seed(seed));
  MatrixD lw = standard_normal_matrix(k, B, rng) * 3.0;
  for (Index b = 0; b < B; ++b) lw.col(b).array() += -2000.0 + 1000.0 * static_cast<double>(b);
  return lw;
}

TEST(LogWeightAccumulator, MatchesDirectComputationForAnyChunking) {
  const Index k = 101, B = 4;
  const MatrixD lw = wide_log_weights(k, B, 3);
  for (Index chunk : {Index(1), Index(7), Index(50), k}) {
    LogWeightAccumulator acc(B);
    for (Index first = 0; first < k; first += chunk) acc.add(lw.middleRows(first, std::min(chunk, k - first)));
    ASSERT_EQ(acc.count(), k);
    for (Index b = 0; b < B; ++b) {
      const VectorD v = lw.col(b);
      const double lse = log_sum_exp(v);
      const double lse2 = log_sum_exp(2.0 * v);
      EXPECT_NEAR(acc.log_sum_weights()(b), lse, 1e-9 * std::abs(lse)) << "chunk " << chunk;
      EXPECT_NEAR(acc.log_sum_squared_weights()(b), lse2, 1e-9 * std::abs(lse2));
      EXPECT_NEAR(acc.log_mean_weight()(b), lse - std::log(double(k)), 1e-9 * std::abs(lse));
      // Weights rescaled by their maximum: the delta method and ESS by the textbook formulas.
      const VectorD w = (v.array() - v.maxCoeff()).exp().matrix();
      const double mean = w.mean();
      const double sd = std::sqrt((w.array() - mean).square().sum() / double(k - 1));
      EXPECT_NEAR(acc.log_mean_weight_standard_error()(b), sd / std::sqrt(double(k)) / mean, 1e-10);
      EXPECT_NEAR(acc.effective_sample_size()(b), w.sum() * w.sum() / w.squaredNorm(), 1e-8);
      EXPECT_NEAR(acc.mean_log_weight()(b), v.mean(), 1e-12 * std::abs(v.mean()));
      const double sd_log = std::sqrt((v.array() - v.mean()).square().sum() / double(k - 1));
      EXPECT_NEAR(acc.mean_log_weight_standard_error()(b), sd_log / std::sqrt(double(k)), 1e-10);
    }
  }
}

TEST(LogWeightAccumulator, ZeroWeightsAndTooFewSamples) {
  const double inf = std::numeric_limits<double>::infinity();
  LogWeightAccumulator acc(2);
  MatrixD lw(2, 2);
  lw << -inf, -inf, 1.0, -inf;
  acc.add(lw);
  EXPECT_DOUBLE_EQ(acc.log_sum_weights()(0), 1.0);  // a weight of 0 adds nothing
  EXPECT_DOUBLE_EQ(acc.effective_sample_size()(0), 1.0);
  EXPECT_EQ(acc.log_sum_weights()(1), -inf);  // all weights 0
  EXPECT_EQ(acc.mean_log_weight()(0), -inf);
  MatrixD more(1, 2);
  more << 1.0, 0.0;
  acc.add(more);
  EXPECT_NEAR(acc.log_sum_weights()(0), 1.0 + std::log(2.0), 1e-14);
  EXPECT_DOUBLE_EQ(acc.log_sum_weights()(1), 0.0);

  LogWeightAccumulator single(1);
  single.add(MatrixD::Constant(1, 1, -3.0));
  EXPECT_TRUE(std::isnan(single.log_mean_weight_standard_error()(0)));  // one weight: no spread
  EXPECT_TRUE(std::isnan(single.mean_log_weight_standard_error()(0)));
  EXPECT_DOUBLE_EQ(single.log_mean_weight()(0), -3.0);
  expect_throw_message<std::invalid_argument>([&] { single.add(MatrixD::Zero(1, 2)); }, {"expected 1 columns"});
}

// Collects every log weight of a sweep into a K x B matrix.
MatrixD collect(const GenerativeModel& model, const PosteriorApproximation& q, const MatrixF& X, Index K,
                Index max_columns, std::uint64_t seed, Index* calls = nullptr) {
  Rng rng(testing::test_seed(seed));
  MatrixD all(K, X.cols());
  Index next = 0, n_calls = 0;
  sweep_log_weights(model, q, X, K, max_columns, rng, [&](const LogWeightChunk& chunk) {
    EXPECT_EQ(chunk.first_sample, next);
    EXPECT_EQ(chunk.log_weight.cols(), X.cols());
    EXPECT_LE(chunk.log_weight.size(), std::max(max_columns, X.cols()));
    all.middleRows(chunk.first_sample, chunk.log_weight.rows()) = chunk.log_weight;
    next += chunk.log_weight.rows();
    ++n_calls;
  });
  EXPECT_EQ(next, K);
  if (calls) *calls = n_calls;
  return all;
}

TEST(SweepLogWeights, TheDrawsDoNotDependOnTheChunkSize) {
  const auto problem = testing::make_linear_gaussian_posteriors(3, 5, 11);
  const DiagonalGaussian q = problem.shifted_diagonal(1.0, 2.0);
  const Index K = 37;
  Index calls = 0;
  const MatrixD reference = collect(problem.model, q, problem.X, K, 1 << 20, 5, &calls);
  EXPECT_EQ(calls, 1);
  // 3 < B = 5 columns per call also splits the datapoints of a sample over model calls.
  for (Index max_columns : {Index(3), Index(5), Index(12), Index(100)}) {
    const MatrixD chunked = collect(problem.model, q, problem.X, K, max_columns, 5, &calls);
    EXPECT_EQ(calls, (K + std::max<Index>(1, max_columns / 5) - 1) / std::max<Index>(1, max_columns / 5));
    EXPECT_LT((chunked - reference).cwiseAbs().maxCoeff(), 1e-9) << "max columns " << max_columns;
  }
  // The log weights are log p(x, z) - log q(z) of z drawn by q.sample_with_log_density(1, ·), one
  // call per sample index.
  Rng rng(testing::test_seed(5));
  for (Index j = 0; j < 3; ++j) {
    VectorD log_q;
    const MatrixD z = q.sample_with_log_density(1, rng, log_q);
    const VectorD expected = problem.model.log_joint(problem.X, z, 1) - log_q;
    for (Index b = 0; b < 5; ++b) EXPECT_NEAR(reference(j, b), expected(b), 1e-9);
  }
}

class NoDensity final : public PosteriorApproximation {
 public:
  Index latent_dim() const override { return 1; }
  Index num_datapoints() const override { return 1; }
  std::string describe() const override { return "sampler without density"; }
  MatrixD sample(Index S, BatchRng& rng) const override { return standard_normal_matrix(1, S, rng); }
  bool has_density() const override { return false; }
  VectorD log_density(const MatrixD&, Index) const override { throw std::logic_error("no density"); }
};

TEST(SweepLogWeights, RejectsBadArgumentsWithClearMessages) {
  const auto problem = testing::make_linear_gaussian_posteriors(1, 2, 1);
  const DiagonalGaussian q = problem.best_diagonal();
  Rng rng(testing::test_seed(1));
  const LogWeightConsumer ignore = [](const LogWeightChunk&) {};
  expect_throw_message<std::invalid_argument>(
      [&] { sweep_log_weights(problem.model, q, problem.X, 0, 10, rng, ignore); }, {"(K)", ">= 1", "found 0"});
  expect_throw_message<std::invalid_argument>(
      [&] { sweep_log_weights(problem.model, q, problem.X, 5, 0, rng, ignore); }, {"max_latent_columns_per_call"});
  expect_throw_message<std::invalid_argument>(
      [&] { sweep_log_weights(problem.model, q, problem.X.leftCols(1), 5, 10, rng, ignore); },
      {"2 datapoints", "1 columns"});
  expect_throw_message<std::invalid_argument>(
      [&] { sweep_log_weights(problem.model, NoDensity(), problem.X.leftCols(1), 5, 10, rng, ignore); },
      {"no density"});
  const auto other = testing::make_linear_gaussian_posteriors(2, 2, 1);
  expect_throw_message<std::invalid_argument>(
      [&] { sweep_log_weights(problem.model, other.best_diagonal(), problem.X, 5, 10, rng, ignore); },
      {"latent dimension"});
}

}  // namespace
}  // namespace vigap
