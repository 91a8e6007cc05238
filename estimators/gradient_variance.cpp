#include "estimators/gradient_variance.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "core/math/mean_and_standard_error.hpp"

namespace vigap {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Streaming per-coordinate moments of R gradient vectors (shifted by the first one, in double),
/// and the paired values ½‖ĝ_{2j} - ĝ_{2j+1}‖² for the trace's standard error.
class GradientAccumulator {
 public:
  void add(const VectorF& g) {
    if (count_ == 0) {
      shift_ = g.cast<double>();
      sum_.setZero(g.size());
      sum_squares_.setZero(g.size());
    }
    sum_ += g.cast<double>() - shift_;
    sum_squares_ += (g.cast<double>() - shift_).cwiseAbs2();
    if (count_ % 2 == 1)
      pair_values_.push_back(0.5 * (g.cast<double>() - previous_.cast<double>()).squaredNorm());
    else
      previous_ = g;
    ++count_;
  }

  /// Per-datapoint summaries: trace (with its paired standard error), mean and median SNR, ‖E ĝ‖².
  struct Summary {
    double total_variance = 0.0, total_variance_standard_error = kNaN;
    double mean_snr = kNaN, median_snr = kNaN, mean_squared_norm = 0.0;
  };

  Summary summarize() const {
    Summary s;
    const double R = static_cast<double>(count_);
    const VectorD mean = shift_ + sum_ / R;
    const VectorD variance = ((sum_squares_ - sum_.cwiseAbs2() / R) / (R - 1.0)).cwiseMax(0.0);
    s.total_variance = variance.sum();
    s.mean_squared_norm = mean.squaredNorm() - s.total_variance / R;
    if (pair_values_.size() >= 2) {
      const Eigen::Map<const VectorD> pairs(pair_values_.data(), static_cast<Index>(pair_values_.size()));
      s.total_variance_standard_error = mean_and_standard_error(pairs).standard_error;
    }
    std::vector<double> snr;
    snr.reserve(static_cast<size_t>(mean.size()));
    for (Index i = 0; i < mean.size(); ++i)
      if (variance(i) > 0.0) snr.push_back(std::abs(mean(i)) / std::sqrt(variance(i)));
    if (!snr.empty()) {
      double total = 0.0;
      for (double v : snr) total += v;
      s.mean_snr = total / static_cast<double>(snr.size());
      const size_t middle = snr.size() / 2;
      std::nth_element(snr.begin(), snr.begin() + static_cast<std::ptrdiff_t>(middle), snr.end());
      const double upper = snr[middle];
      if (snr.size() % 2 == 1) {
        s.median_snr = upper;
      } else {
        const double lower = *std::max_element(snr.begin(), snr.begin() + static_cast<std::ptrdiff_t>(middle));
        s.median_snr = 0.5 * (lower + upper);
      }
    }
    return s;
  }

 private:
  Index count_ = 0;
  VectorD shift_, sum_, sum_squares_;
  VectorF previous_;
  std::vector<double> pair_values_;
};

/// Per-datapoint arrays of one gradient's summaries.
struct GradientColumns {
  VectorD total_variance, total_variance_standard_error, mean_snr, median_snr, mean_squared_norm;
  explicit GradientColumns(Index B)
      : total_variance(B), total_variance_standard_error(B), mean_snr(B), median_snr(B), mean_squared_norm(B) {}
  void set(Index b, const GradientAccumulator::Summary& s) {
    total_variance(b) = s.total_variance;
    total_variance_standard_error(b) = s.total_variance_standard_error;
    mean_snr(b) = s.mean_snr;
    median_snr(b) = s.median_snr;
    mean_squared_norm(b) = s.mean_squared_norm;
  }
};

Estimate make_estimate(const std::string& name, BiasDirection bias, const std::string& note, const VectorD& values,
                       const VectorD& standard_errors, Index samples, const nlohmann::ordered_json& settings) {
  Estimate e;
  e.estimator = name;
  e.bias_direction = bias;
  e.bias_note = note;
  e.per_datapoint = values;
  e.per_datapoint_standard_error = standard_errors;
  e.samples_per_datapoint = samples;
  e.settings = settings;
  e.summarize();
  return e;
}

GradientStatistics make_statistics(const GradientColumns& c, Index num_parameters, Index samples,
                                   const nlohmann::ordered_json& settings) {
  GradientStatistics g;
  g.computed = true;
  g.num_parameters = num_parameters;
  const VectorD unknown = VectorD::Constant(c.total_variance.size(), kNaN);
  g.total_variance = make_estimate("gradient total variance tr Cov", BiasDirection::unbiased, "", c.total_variance,
                                   c.total_variance_standard_error, samples, settings);
  g.mean_snr = make_estimate("gradient SNR, mean over parameters", BiasDirection::biased_high, "noise floor sqrt(2/pi/R)",
                             c.mean_snr, unknown, samples, settings);
  g.median_snr = make_estimate("gradient SNR, median over parameters", BiasDirection::biased_high, "noise floor sqrt(2/pi/R)",
                               c.median_snr, unknown, samples, settings);
  g.mean_squared_norm = make_estimate("squared norm of the expected gradient", BiasDirection::unbiased, "", c.mean_squared_norm,
                                      unknown, samples, settings);
  return g;
}

nlohmann::ordered_json statistics_json(const GradientStatistics& g, bool include_per_datapoint) {
  nlohmann::ordered_json j;
  j["num_parameters"] = g.num_parameters;
  j["total_variance"] = to_json(g.total_variance, include_per_datapoint);
  j["mean_snr"] = to_json(g.mean_snr, include_per_datapoint);
  j["median_snr"] = to_json(g.median_snr, include_per_datapoint);
  j["mean_squared_norm"] = to_json(g.mean_squared_norm, include_per_datapoint);
  return j;
}

}  // namespace

void GradientVarianceOptions::validate() const {
  objective.validate();
  if (replicates < 4)
    throw std::invalid_argument("the number of replicates R must be >= 4 (variances and their standard errors), "
                                "found " + std::to_string(replicates));
}

namespace {
GradientVarianceResult gradient_variance_with(const TrainableEncoder& encoder, const TrainableDecoder& decoder,
                                              const MatrixF& X, const GradientVarianceOptions& options,
                                              BatchRng& streams);
}  // namespace

GradientVarianceResult estimate_gradient_variance(const TrainableEncoder& encoder, const TrainableDecoder& decoder,
                                                  const MatrixF& X, const GradientVarianceOptions& options, Rng& rng) {
  BatchRng streams = BatchRng::seeded_from(rng, X.cols());  // datapoint b: the b-th split_rng of rng
  return gradient_variance_with(encoder, decoder, X, options, streams);
}

GradientVarianceResult estimate_gradient_variance(const TrainableEncoder& encoder, const TrainableDecoder& decoder,
                                                  const MatrixF& X, const GradientVarianceOptions& options,
                                                  const RandomStreams& random_streams) {
  random_streams.check_size(X.cols(), "estimate_gradient_variance");
  BatchRng streams = random_streams.generators(StreamPurpose::gradient_variance);
  return gradient_variance_with(encoder, decoder, X, options, streams);
}

namespace {

GradientVarianceResult gradient_variance_with(const TrainableEncoder& encoder, const TrainableDecoder& decoder,
                                              const MatrixF& X, const GradientVarianceOptions& options,
                                              BatchRng& streams) {
  options.validate();
  const auto start = std::chrono::steady_clock::now();
  const Index B = X.cols();
  const Index S = options.objective.samples;
  const Index R = options.replicates;
  const Index d = encoder.latent_dim();
  if (B < 1) throw std::invalid_argument("estimate_gradient_variance: no datapoints");
  if (decoder.latent_dim() != d || decoder.data_dim() != encoder.data_dim() || X.rows() != encoder.data_dim())
    throw std::invalid_argument("estimate_gradient_variance: encoder " + encoder.describe() + ", decoder " +
                                decoder.describe() + " and data of dimension " + std::to_string(X.rows()) +
                                " do not fit together");


  VectorD objective_mean(B), objective_mean_se(B), objective_variance(B), objective_variance_se(B);
  GradientColumns encoder_columns(B), decoder_columns(B);
  const bool want_encoder = options.encoder_gradient, want_decoder = options.decoder_gradient;

#pragma omp parallel for schedule(dynamic, 1) if (B > 1 && omp_get_max_threads() > 1)
  for (Index b = 0; b < B; ++b) {
    VaeObjectiveWorkspace workspace;
    const MatrixF x = X.col(b);
    MatrixF noise(d, S);
    VectorF grad_encoder, grad_decoder;
    VectorD per_datapoint;
    VectorD values(R);
    GradientAccumulator encoder_accumulator, decoder_accumulator;
    for (Index r = 0; r < R; ++r) {
      fill_standard_normal(noise, streams[b]);
      values(r) = vae_objective(encoder, decoder, x, noise, options.objective, workspace,
                                want_encoder ? &grad_encoder : nullptr, want_decoder ? &grad_decoder : nullptr,
                                &per_datapoint);
      if (want_encoder) encoder_accumulator.add(grad_encoder);
      if (want_decoder) decoder_accumulator.add(grad_decoder);
    }
    const MeanAndStandardError stats = mean_and_standard_error(values);
    objective_mean(b) = stats.mean;
    objective_mean_se(b) = stats.standard_error;
    objective_variance(b) = stats.variance;
    const double n = static_cast<double>(R);
    const double m4 = (values.array() - stats.mean).square().square().mean();
    const double s4 = stats.variance * stats.variance;
    objective_variance_se(b) = std::sqrt(std::max(0.0, (m4 - s4 * (n - 3.0) / (n - 1.0)) / n));
    if (want_encoder) encoder_columns.set(b, encoder_accumulator.summarize());
    if (want_decoder) decoder_columns.set(b, decoder_accumulator.summarize());
  }

  GradientVarianceResult result;
  const VaeObjectiveOptions& o = options.objective;
  result.settings["objective"] = to_string(o.objective);
  result.settings["samples"] = S;
  if (o.objective == TrainingObjective::elbo) result.settings["kl_estimator"] = to_string(o.kl_estimator);
  result.settings["encoder_gradient"] = to_string(o.encoder_gradient);
  result.settings["kl_weight"] = o.kl_weight;
  result.settings["replicates"] = R;
  const std::string name = o.objective == TrainingObjective::elbo
                               ? "elbo (S=" + std::to_string(S) + ", " + to_string(o.kl_estimator) + " KL)"
                               : "iwae (K=" + std::to_string(S) + ")";
  result.objective_mean = make_estimate(name, BiasDirection::lower_bound, "on log p(x)", objective_mean, objective_mean_se, S * R, result.settings);
  result.objective_variance = make_estimate("variance of the " + name + " estimate", BiasDirection::unbiased, "", objective_variance,
                                            objective_variance_se, S * R, result.settings);
  if (want_encoder)
    result.encoder = make_statistics(encoder_columns, encoder.num_parameters(), S * R, result.settings);
  if (want_decoder)
    result.decoder = make_statistics(decoder_columns, decoder.num_parameters(), S * R, result.settings);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

nlohmann::ordered_json to_json(const GradientVarianceResult& r, bool include_per_datapoint) {
  nlohmann::ordered_json j;
  j["settings"] = r.settings;
  j["objective_mean"] = to_json(r.objective_mean, include_per_datapoint);
  j["objective_variance"] = to_json(r.objective_variance, include_per_datapoint);
  if (r.encoder.computed) j["encoder"] = statistics_json(r.encoder, include_per_datapoint);
  if (r.decoder.computed) j["decoder"] = statistics_json(r.decoder, include_per_datapoint);
  return j;
}

}  // namespace vigap
