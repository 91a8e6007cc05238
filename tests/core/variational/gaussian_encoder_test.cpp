#include "core/variational/gaussian_encoder.hpp"

#include <gtest/gtest.h>

#include "support/thread_count.hpp"

namespace vigap {
namespace {

// Fixed column blocks: a datapoint's mean and log-variance are the same bits encoded alone, at
// any offset inside a batch of 37, and with 1 or 2 threads; so is the parameter gradient with 1
// and 2 threads.
TEST(GaussianEncoderColumnBlocks, ColumnResultsDoNotDependOnBatchOffsetOrThreads) {
  Rng rng(51);
  const Index D = 23, d = 5;
  GaussianEncoder encoder(D, {40}, d, Activation::tanh);
  encoder.network().initialize(rng);
  MatrixF x(D, 1);
  fill_standard_normal(x, rng);
  auto encode = [&](const MatrixF& X, int threads) {
    return testing::with_threads(threads, [&] {
      GaussianEncoder::Workspace ws;
      MatrixF mean, log_variance;
      encoder.forward(X, ws, mean, log_variance);
      VectorF grad = VectorF::Zero(encoder.network().num_parameters());
      encoder.backward(X, mean, log_variance, ws, &grad);
      return std::make_tuple(mean, log_variance, grad);
    });
  };
  const auto [mean, log_variance, unused] = encode(x, 1);
  for (const int threads : {1, 2}) {
    for (const Index offset : {0, 1, 15, 31, 32, 36}) {
      MatrixF X(D, 37);
      fill_standard_normal(X, rng);
      X.col(offset) = x.col(0);
      const auto [mean_b, log_variance_b, grad_b] = encode(X, threads);
      const std::string where = "threads " + std::to_string(threads) + ", offset " + std::to_string(offset);
      EXPECT_TRUE(mean_b.col(offset) == mean.col(0)) << where;
      EXPECT_TRUE(log_variance_b.col(offset) == log_variance.col(0)) << where;
      if (threads == 2) EXPECT_TRUE(std::get<2>(encode(X, 1)) == grad_b) << where;
    }
  }
}

}  // namespace
}  // namespace vigap
