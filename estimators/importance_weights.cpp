#include "estimators/importance_weights.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace vigap {

namespace {

constexpr double kNegativeInfinity = -std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_sweep_arguments(const GenerativeModel& model, const PosteriorApproximation& proposal, const MatrixF& X,
                           Index K, Index max_columns) {
  if (K < 1)
    throw std::invalid_argument("sweep_log_weights: samples per datapoint (K) must be >= 1, found " +
                                std::to_string(K));
  if (max_columns < 1)
    throw std::invalid_argument("sweep_log_weights: max_latent_columns_per_call must be >= 1, found " +
                                std::to_string(max_columns));
  if (!proposal.has_density())
    throw std::invalid_argument("sweep_log_weights: the proposal '" + proposal.describe() +
                                "' has no density; importance weights need log q(z|x)");
  if (X.rows() != model.data_dim())
    throw std::invalid_argument("sweep_log_weights: data have dimension " + std::to_string(X.rows()) +
                                ", the model '" + model.describe() + "' expects " + std::to_string(model.data_dim()));
  if (X.cols() < 1) throw std::invalid_argument("sweep_log_weights: no datapoints (X has 0 columns)");
  if (proposal.latent_dim() != model.latent_dim())
    throw std::invalid_argument("sweep_log_weights: the proposal has latent dimension " +
                                std::to_string(proposal.latent_dim()) + ", the model " +
                                std::to_string(model.latent_dim()));
  if (proposal.num_datapoints() != X.cols())
    throw std::invalid_argument("sweep_log_weights: the proposal is for " + std::to_string(proposal.num_datapoints()) +
                                " datapoints, X has " + std::to_string(X.cols()) + " columns");
}

}  // namespace

void sweep_log_weights(const GenerativeModel& model, const PosteriorApproximation& proposal, const MatrixF& X,
                       Index K, Index max_columns, Rng& rng, const LogWeightConsumer& consume,
                       const ProgressReporter& progress) {
  check_sweep_arguments(model, proposal, X, K, max_columns);
  BatchRng one(std::vector<Rng>{rng});
  sweep_log_weights(model, proposal, X, K, max_columns, one, consume, progress);
  rng = one[0];
}

void sweep_log_weights(const GenerativeModel& model, const PosteriorApproximation& proposal, const MatrixF& X,
                       Index K, Index max_columns, BatchRng& rng, const LogWeightConsumer& consume,
                       const ProgressReporter& progress) {
  check_sweep_arguments(model, proposal, X, K, max_columns);
  const Index B = X.cols();
  const Index d = model.latent_dim();
  const Index samples_per_chunk = std::max<Index>(1, std::min(K, max_columns / B));
  const Index datapoints_per_call = std::max<Index>(1, max_columns / samples_per_chunk);

  LogWeightChunk chunk;
  MatrixD Z;
  VectorD log_q, log_q_one;
  VectorD log_likelihood;
  for (Index first = 0; first < K; first += samples_per_chunk) {
    const Index k = std::min(samples_per_chunk, K - first);
    // One batched draw per sample index keeps the random stream independent of k; the
    // columns are rearranged into the model's layout (sample j of datapoint b at b·k + j).
    Z.resize(d, B * k);
    log_q.resize(B * k);
    for (Index j = 0; j < k; ++j) {
      const MatrixD draw = proposal.sample_with_log_density(1, rng, log_q_one);
      for (Index b = 0; b < B; ++b) {
        Z.col(b * k + j) = draw.col(b);
        log_q(b * k + j) = log_q_one(b);
      }
    }
    if (datapoints_per_call >= B) {
      log_likelihood = model.log_likelihood(X, Z, k);
    } else {
      log_likelihood.resize(B * k);
      for (Index b0 = 0; b0 < B; b0 += datapoints_per_call) {
        const Index nb = std::min(datapoints_per_call, B - b0);
        const MatrixF X_block = X.middleCols(b0, nb);
        const MatrixD Z_block = Z.middleCols(b0 * k, nb * k);
        log_likelihood.segment(b0 * k, nb * k) = model.log_likelihood(X_block, Z_block, k);
      }
    }
    const VectorD log_prior = model.log_prior(Z);
    chunk.first_sample = first;
    chunk.log_likelihood = Eigen::Map<const MatrixD>(log_likelihood.data(), k, B);
    chunk.log_weight = chunk.log_likelihood;
    chunk.log_weight.reshaped() += log_prior - log_q;
    consume(chunk);
    if (progress.enabled())
      progress.update("importance weights: " + std::to_string(first + k) + " / " + std::to_string(K) +
                      " samples of " + std::to_string(B) + " datapoints");
  }
  progress.finish();
}

LogWeightAccumulator::LogWeightAccumulator(Index num_datapoints) {
  if (num_datapoints < 1)
    throw std::invalid_argument("LogWeightAccumulator: the number of datapoints must be >= 1, found " +
                                std::to_string(num_datapoints));
  max_log_weight_.resize(num_datapoints);
  scaled_sum_.resize(num_datapoints);
  scaled_sum_squares_.resize(num_datapoints);
  mean_.resize(num_datapoints);
  sum_squared_deviations_.resize(num_datapoints);
  reset();
}

void LogWeightAccumulator::reset() {
  count_ = 0;
  max_log_weight_.setConstant(kNegativeInfinity);
  scaled_sum_.setZero();
  scaled_sum_squares_.setZero();
  mean_.setZero();
  sum_squared_deviations_.setZero();
}

void LogWeightAccumulator::add(const Eigen::Ref<const MatrixD>& log_weights) {
  const Index B = num_datapoints();
  if (log_weights.cols() != B)
    throw std::invalid_argument("LogWeightAccumulator::add: expected " + std::to_string(B) +
                                " columns (one per datapoint), found " + std::to_string(log_weights.cols()));
  const Index k = log_weights.rows();
  if (k == 0) return;
  // One value at a time, so that the statistics do not depend on how the values were chunked.
  for (Index b = 0; b < B; ++b) {
    const auto v = log_weights.col(b);
    double m = max_log_weight_(b);
    double s1 = scaled_sum_(b), s2 = scaled_sum_squares_(b);
    double mean = mean_(b), ssd = sum_squared_deviations_(b);
    for (Index i = 0; i < k; ++i) {
      const double x = v(i);
      const double n = static_cast<double>(count_ + i + 1);
      // Running log-sum-exp of log w and 2 log w around the running maximum m.
      if (std::isnan(x) || std::isnan(m)) {
        m = kNaN;
      } else if (x > m) {
        if (m == kNegativeInfinity) {
          s1 = 1.0;
          s2 = 1.0;
        } else {
          const double scale = std::exp(m - x);
          s1 = s1 * scale + 1.0;
          s2 = s2 * scale * scale + 1.0;
        }
        m = x;
      } else if (x != kNegativeInfinity) {
        const double e = std::exp(x - m);
        s1 += e;
        s2 += e * e;
      }
      // Welford's update of the mean and sum of squared deviations of log w.
      if (std::isfinite(x) && std::isfinite(mean)) {
        const double delta = x - mean;
        mean += delta / n;
        ssd += delta * (x - mean);
      } else {  // -inf stays -inf, NaN stays NaN; the spread is undefined
        mean = count_ + i == 0 ? x : mean + x;
        ssd = kNaN;
      }
    }
    max_log_weight_(b) = m;
    scaled_sum_(b) = s1;
    scaled_sum_squares_(b) = s2;
    mean_(b) = mean;
    sum_squared_deviations_(b) = ssd;
  }
  count_ += k;
}

// Scalar std::log per datapoint in the two functions below: Eigen's vectorized log rounds a
// packet's entries differently from its scalar tail, so a datapoint's value would depend on its
// position among the batch's datapoints.
VectorD LogWeightAccumulator::log_sum_weights() const {
  VectorD out(num_datapoints());
  for (Index b = 0; b < out.size(); ++b) out(b) = max_log_weight_(b) + std::log(scaled_sum_(b));
  return out;
}

VectorD LogWeightAccumulator::log_sum_squared_weights() const {
  VectorD out(num_datapoints());
  for (Index b = 0; b < out.size(); ++b) out(b) = 2.0 * max_log_weight_(b) + std::log(scaled_sum_squares_(b));
  return out;
}

VectorD LogWeightAccumulator::log_mean_weight() const {
  return (log_sum_weights().array() - std::log(static_cast<double>(count_))).matrix();
}

VectorD LogWeightAccumulator::log_mean_weight_standard_error() const {
  const Index B = num_datapoints();
  VectorD se(B);
  if (count_ < 2) return se.setConstant(kNaN);
  const double n = static_cast<double>(count_);
  for (Index b = 0; b < B; ++b) {
    // n Σw² / (Σw)² = n s2 / s1² (the common scale exp(m) cancels); in [1, n].
    const double ratio = n * scaled_sum_squares_(b) / (scaled_sum_(b) * scaled_sum_(b));
    se(b) = std::sqrt(std::max(0.0, ratio - 1.0) / (n - 1.0));
    if (std::isnan(max_log_weight_(b)) || max_log_weight_(b) == kNegativeInfinity) se(b) = kNaN;
  }
  return se;
}

VectorD LogWeightAccumulator::effective_sample_size() const {
  VectorD ess = (scaled_sum_.array().square() / scaled_sum_squares_.array()).matrix();
  for (Index b = 0; b < ess.size(); ++b)
    if (std::isnan(max_log_weight_(b)) || max_log_weight_(b) == kNegativeInfinity) ess(b) = kNaN;
  return ess;
}

VectorD LogWeightAccumulator::mean_log_weight() const { return mean_; }

VectorD LogWeightAccumulator::mean_log_weight_standard_error() const {
  const Index B = num_datapoints();
  VectorD se(B);
  if (count_ < 2) return se.setConstant(kNaN);
  const double n = static_cast<double>(count_);
  return (sum_squared_deviations_.array() / ((n - 1.0) * n)).sqrt().matrix();
}

}  // namespace vigap
