#pragma once
// Importance weights w = p(x, z) / q(z|x), z ~ q, drawn and evaluated in memory-bounded chunks,
// and their streaming per-datapoint statistics. The ELBO, IWAE and importance-sampling
// estimators are all built on this one sweep.
#include <functional>

#include "core/models/generative_model.hpp"
#include "core/progress_reporter.hpp"
#include "core/random.hpp"
#include "core/types.hpp"
#include "core/variational/posterior_approximation.hpp"

namespace vigap {

/// Default cap on latent columns (datapoints x samples) per model call: 32768 columns keep a
/// 784-output decoder's logits at about 0.1 GB (plus its hidden activations); larger chunks
/// were not faster for the 784-200-200-50 decoder (IWAE-5000 timings, 8192 to 262144 columns).
inline constexpr Index kDefaultMaxLatentColumnsPerCall = 32768;

/// The log weights of one chunk of the sweep: samples first_sample ... first_sample + k - 1 of
/// every datapoint. Matrices are k x B: column b holds datapoint b's samples, in sample order.
struct LogWeightChunk {
  Index first_sample = 0;
  MatrixD log_weight;      ///< log w = log p(x_b, z) - log q(z | x_b)
  MatrixD log_likelihood;  ///< log p(x_b | z) (what the analytic-KL ELBO averages)
};

/// Called once per chunk, in sample order.
using LogWeightConsumer = std::function<void(const LogWeightChunk&)>;

/// Draws K samples z_{b,k} ~ q(z | x_b) for every datapoint b (columns of X) and hands their
/// log weights log p(x_b, z_{b,k}) - log q(z_{b,k} | x_b) to `consume`, chunk by chunk.
///
/// Random stream: datapoint b's samples come from its own generator generators[b], sample
/// index k = 0, 1, ..., K-1 in order (one batched call proposal.sample_with_log_density(1, ·) per
/// sample index). So the draws of datapoint b (and the estimators built on this sweep) depend
/// neither on max_latent_columns_per_call nor on the other datapoints of X: only the grouping of
/// the model calls changes. Model work is batched: each chunk holds
/// k = max(1, min(K, max_latent_columns_per_call / B)) samples of every datapoint, and the model
/// is called on blocks of whole datapoints of at most max_latent_columns_per_call columns.
/// `progress` gets a status line after each chunk.
///
/// Throws std::invalid_argument when K or max_latent_columns_per_call < 1, the proposal has no
/// density, or the shapes of model, proposal and X disagree.
void sweep_log_weights(const GenerativeModel& model, const PosteriorApproximation& proposal, const MatrixF& X,
                       Index samples_per_datapoint, Index max_latent_columns_per_call, BatchRng& generators,
                       const LogWeightConsumer& consume, const ProgressReporter& progress = quiet_progress());

/// As above with rng drawing for every datapoint in batch order (one generator for the batch).
void sweep_log_weights(const GenerativeModel& model, const PosteriorApproximation& proposal, const MatrixF& X,
                       Index samples_per_datapoint, Index max_latent_columns_per_call, Rng& rng,
                       const LogWeightConsumer& consume, const ProgressReporter& progress = quiet_progress());

/// Streaming per-datapoint statistics of log weights log w_{b,1..n}, accumulated in double:
/// a running log-sum-exp of log w and of 2 log w (for IWAE, importance sampling and the ESS)
/// and a running mean and sum of squared deviations of log w (for the ELBO, Welford's update),
/// each updated one value at a time in the order added. So adding the same values of a
/// datapoint in any chunking, next to any other datapoints, gives the same bits. A log weight of -inf is a weight of 0 (all -inf: log-sums
/// -inf, errors and ESS NaN); NaN or +inf log weights make that datapoint's results non-finite.
class LogWeightAccumulator {
 public:
  explicit LogWeightAccumulator(Index num_datapoints);

  /// Adds a k x B block: column b holds k new log weights of datapoint b.
  void add(const Eigen::Ref<const MatrixD>& log_weights);
  /// Forgets everything added (keeps B).
  void reset();

  Index num_datapoints() const { return max_log_weight_.size(); }
  Index count() const { return count_; }  ///< n, values added per datapoint

  /// log Σ_k w_k.
  VectorD log_sum_weights() const;
  /// log Σ_k w_k².
  VectorD log_sum_squared_weights() const;
  /// log (1/n) Σ_k w_k: the IWAE_n bound / the importance-sampling log p̂(x).
  VectorD log_mean_weight() const;
  /// Delta-method standard error of log mean(w): se(mean w) / mean w
  ///   = sqrt( (n Σw² / (Σw)² - 1) / (n - 1) ) = sqrt( (n / ESS - 1) / (n - 1) ),
  /// computed from the two log-sums (no overflow for any scale of w). NaN when n < 2.
  VectorD log_mean_weight_standard_error() const;
  /// ESS of the normalized weights, (Σw)² / Σw², in [1, n].
  VectorD effective_sample_size() const;
  /// (1/n) Σ_k log w_k: the Monte Carlo ELBO.
  VectorD mean_log_weight() const;
  /// sd(log w) / sqrt(n) with the unbiased (n - 1) variance. NaN when n < 2.
  VectorD mean_log_weight_standard_error() const;

 private:
  Index count_ = 0;
  VectorD max_log_weight_;       ///< running max m_b of log w
  VectorD scaled_sum_;           ///< Σ exp(log w - m_b)
  VectorD scaled_sum_squares_;   ///< Σ exp(2 (log w - m_b))
  VectorD mean_;                 ///< running mean of log w
  VectorD sum_squared_deviations_;  ///< running Σ (log w - mean)²
};

}  // namespace vigap
