#include "analyses/estimator_variance_block.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <utility>

#include "core/elapsed_seconds.hpp"
#include "core/io/exact_json.hpp"
#include "core/io/json_fields.hpp"
#include "core/progress_reporter.hpp"
#include "estimators/estimate_concatenation.hpp"

namespace vigap {

namespace {

/// One sweep over the datapoints X: for each count, every variant on the same noise (substream
/// (sweep_id << 32 | count) of `streams`, per datapoint, whatever the other counts of the list).
EstimatorVarianceSweepBlock run_sweep(const TrainableEncoder& encoder, const TrainableDecoder& decoder,
                                      const MatrixF& X, const std::vector<Index>& counts,
                                      const std::vector<EstimatorVariant>& variants, Index replicates,
                                      const RandomStreams& streams, std::uint64_t sweep_id,
                                      const ProgressReporter& progress, const std::string& letter) {
  EstimatorVarianceSweepBlock sweep{letter, counts, {}, X.cols(), 0.0};
  if (X.cols() == 0) return sweep;  // a block past the IWAE sweep's datapoints
  const auto start = std::chrono::steady_clock::now();
  for (Index count : counts) {
    const RandomStreams stream = streams.with_substream((sweep_id << 32) | static_cast<std::uint64_t>(count));
    std::vector<GradientVarianceResult> row;
    for (const EstimatorVariant& v : variants) {
      progress.update("estimator-variance: " + v.label + ", " + letter + " = " + std::to_string(count) + " (" +
                      std::to_string(X.cols()) + " datapoints x " + std::to_string(replicates) + " replicates)");
      GradientVarianceOptions options;
      options.objective.objective = v.objective;
      options.objective.kl_estimator = v.kl;
      options.objective.samples = count;
      options.objective.encoder_gradient = v.gradient;
      options.replicates = replicates;
      options.decoder_gradient = v.decoder;
      row.push_back(estimate_gradient_variance(encoder, decoder, X, options, stream));
    }
    sweep.results.push_back(std::move(row));
  }
  progress.finish();
  sweep.seconds = seconds_since(start);
  return sweep;
}

}  // namespace

Index iwae_datapoints_of_block(Index run_first, Index iwae_count, Index first, Index count) {
  return std::clamp<Index>(run_first + iwae_count - first, 0, count);
}

EstimatorVarianceBlock compute_estimator_variance_block(const TrainableEncoder& encoder, const TrainableDecoder& decoder,
                                                        const MatrixF& X, const EstimatorVarianceStudyOptions& options,
                                                        const RandomStreams& streams, Index first_datapoint,
                                                        Index iwae_datapoints, const ProgressReporter& progress) {
  options.validate();
  const Index count = X.cols();
  if (count < 1) throw std::invalid_argument("compute_estimator_variance_study: no datapoints");
  if (X.rows() != decoder.data_dim() || encoder.data_dim() != decoder.data_dim() ||
      encoder.latent_dim() != decoder.latent_dim())
    throw std::invalid_argument("compute_estimator_variance_study: data of dimension " + std::to_string(X.rows()) +
                                ", an encoder " + std::to_string(encoder.data_dim()) + " -> " +
                                std::to_string(encoder.latent_dim()) + " and a decoder " +
                                std::to_string(decoder.latent_dim()) + " -> " + std::to_string(decoder.data_dim()) +
                                " do not fit together");
  if (first_datapoint < 0)
    throw std::invalid_argument("compute_estimator_variance_study: first_datapoint must be >= 0, found " +
                                std::to_string(first_datapoint));
  if (iwae_datapoints < 0 || iwae_datapoints > count)
    throw std::invalid_argument("compute_estimator_variance_study: " + std::to_string(iwae_datapoints) +
                                " IWAE datapoints in a block of " + std::to_string(count));
  streams.check_size(count, "compute_estimator_variance_study");
  const auto total_start = std::chrono::steady_clock::now();

  EstimatorVarianceBlock block;
  block.first_datapoint = first_datapoint;
  block.num_datapoints = count;
  block.model = decoder.describe();
  block.replicates = options.replicates;
  block.encoder_parameters = encoder.num_parameters();
  block.decoder_parameters = decoder.num_parameters();
  block.snr_noise_floor = options.snr_noise_floor();
  block.elbo = run_sweep(encoder, decoder, X, options.elbo_samples, elbo_variance_variants(), options.replicates,
                         streams, 0, progress, "S");
  block.iwae = run_sweep(encoder, decoder, X.leftCols(iwae_datapoints), options.iwae_samples, iwae_variance_variants(),
                         options.replicates, streams.slice(0, iwae_datapoints), 1, progress, "K");
  block.seconds = seconds_since(total_start);
  return block;
}

// ---- JSON of a block ----

namespace {

const std::vector<EstimatorVariant>& variants_of(const std::string& letter) {
  return letter == "S" ? elbo_variance_variants() : iwae_variance_variants();
}

nlohmann::ordered_json statistics_to_json(const GradientStatistics& g) {
  nlohmann::ordered_json j;
  j["computed"] = g.computed;
  if (!g.computed) return j;
  j["num_parameters"] = g.num_parameters;
  j["total_variance"] = estimate_block_to_json(g.total_variance);
  j["mean_snr"] = estimate_block_to_json(g.mean_snr);
  j["median_snr"] = estimate_block_to_json(g.median_snr);
  j["mean_squared_norm"] = estimate_block_to_json(g.mean_squared_norm);
  return j;
}

GradientStatistics statistics_from_json(const nlohmann::ordered_json& j, const std::string& what) {
  GradientStatistics g;
  g.computed = json_field<bool>(j, "computed", what);
  if (!g.computed) return g;
  g.num_parameters = json_field<Index>(j, "num_parameters", what);
  g.total_variance = estimate_block_from_json(json_member(j, "total_variance", what), what + ".total_variance");
  g.mean_snr = estimate_block_from_json(json_member(j, "mean_snr", what), what + ".mean_snr");
  g.median_snr = estimate_block_from_json(json_member(j, "median_snr", what), what + ".median_snr");
  g.mean_squared_norm = estimate_block_from_json(json_member(j, "mean_squared_norm", what), what + ".mean_squared_norm");
  return g;
}

nlohmann::ordered_json result_to_json(const GradientVarianceResult& r) {
  nlohmann::ordered_json j;
  j["settings"] = r.settings;
  j["objective_mean"] = estimate_block_to_json(r.objective_mean);
  j["objective_variance"] = estimate_block_to_json(r.objective_variance);
  j["encoder"] = statistics_to_json(r.encoder);
  j["decoder"] = statistics_to_json(r.decoder);
  j["seconds"] = exact_json(r.seconds);
  return j;
}

GradientVarianceResult result_from_json(const nlohmann::ordered_json& j, const std::string& what) {
  GradientVarianceResult r;
  r.settings = json_member(j, "settings", what);
  if (!r.settings.is_object()) throw std::invalid_argument(what + ".settings: expected an object");
  r.objective_mean = estimate_block_from_json(json_member(j, "objective_mean", what), what + ".objective_mean");
  r.objective_variance = estimate_block_from_json(json_member(j, "objective_variance", what), what + ".objective_variance");
  r.encoder = statistics_from_json(json_member(j, "encoder", what), what + ".encoder");
  r.decoder = statistics_from_json(json_member(j, "decoder", what), what + ".decoder");
  r.seconds = exact_double(nlohmann::json(json_member(j, "seconds", what)), what + ".seconds");
  return r;
}

/// Throws std::invalid_argument naming `what` unless every estimate of r has `datapoints` values.
void check_datapoints(const GradientVarianceResult& r, Index datapoints, const std::string& what) {
  std::vector<const Estimate*> estimates{&r.objective_mean, &r.objective_variance};
  for (const GradientStatistics* g : {&r.encoder, &r.decoder})
    if (g->computed)
      for (const Estimate* e : {&g->total_variance, &g->mean_snr, &g->median_snr, &g->mean_squared_norm})
        estimates.push_back(e);
  for (const Estimate* e : estimates)
    if (e->per_datapoint.size() != datapoints || e->per_datapoint_standard_error.size() != datapoints)
      throw std::invalid_argument(what + ": the estimate " + e->estimator + " has " +
                                  std::to_string(e->per_datapoint.size()) + " values for " +
                                  std::to_string(datapoints) + " datapoints");
}

nlohmann::ordered_json sweep_to_json(const EstimatorVarianceSweepBlock& s) {
  nlohmann::ordered_json j;
  j["letter"] = s.letter;
  j["counts"] = s.counts;
  nlohmann::ordered_json keys = nlohmann::ordered_json::array();
  for (const EstimatorVariant& v : variants_of(s.letter)) keys.push_back(v.key);
  j["variants"] = keys;
  j["datapoints"] = s.datapoints;
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (const auto& row : s.results) {
    nlohmann::ordered_json row_json = nlohmann::ordered_json::array();
    for (const GradientVarianceResult& r : row) row_json.push_back(result_to_json(r));
    results.push_back(std::move(row_json));
  }
  j["results"] = results;
  j["seconds"] = exact_json(s.seconds);
  return j;
}

EstimatorVarianceSweepBlock sweep_from_json(const nlohmann::ordered_json& j, const std::string& letter,
                                            const std::string& what) {
  EstimatorVarianceSweepBlock s;
  s.letter = json_field<std::string>(j, "letter", what);
  if (s.letter != letter) throw std::invalid_argument(what + ".letter: expected \"" + letter + "\", found \"" + s.letter + "\"");
  s.counts = index_vector(nlohmann::json(json_member(j, "counts", what)), what + ".counts");
  const std::vector<EstimatorVariant>& variants = variants_of(letter);
  std::vector<std::string> expected_keys;
  for (const EstimatorVariant& v : variants) expected_keys.push_back(v.key);
  if (json_member(j, "variants", what) != nlohmann::ordered_json(expected_keys))
    throw std::invalid_argument(what + ".variants: expected " + nlohmann::ordered_json(expected_keys).dump() +
                                ", found " + json_member(j, "variants", what).dump());
  s.datapoints = json_field<Index>(j, "datapoints", what);
  const nlohmann::ordered_json& results = json_member(j, "results", what);
  const std::size_t rows = s.datapoints > 0 ? s.counts.size() : 0;
  if (!results.is_array() || results.size() != rows)
    throw std::invalid_argument(what + ".results: expected an array of " + std::to_string(rows) + " rows");
  for (std::size_t i = 0; i < results.size(); ++i) {
    const std::string row_what = what + ".results[" + std::to_string(i) + "]";
    if (!results[i].is_array() || results[i].size() != variants.size())
      throw std::invalid_argument(row_what + ": expected an array of " + std::to_string(variants.size()) + " results");
    std::vector<GradientVarianceResult> row;
    for (std::size_t v = 0; v < variants.size(); ++v) {
      const std::string result_what = row_what + "[" + std::to_string(v) + "]";
      row.push_back(result_from_json(results[i][v], result_what));
      check_datapoints(row.back(), s.datapoints, result_what);
    }
    s.results.push_back(std::move(row));
  }
  s.seconds = exact_double(nlohmann::json(json_member(j, "seconds", what)), what + ".seconds");
  return s;
}

}  // namespace

nlohmann::ordered_json EstimatorVarianceBlock::to_json() const {
  nlohmann::ordered_json j;
  j["first_datapoint"] = first_datapoint;
  j["num_datapoints"] = num_datapoints;
  j["model"] = model;
  j["replicates"] = replicates;
  j["encoder_parameters"] = encoder_parameters;
  j["decoder_parameters"] = decoder_parameters;
  j["snr_noise_floor"] = exact_json(snr_noise_floor);
  j["elbo"] = sweep_to_json(elbo);
  j["iwae"] = sweep_to_json(iwae);
  j["seconds"] = exact_json(seconds);
  return j;
}

EstimatorVarianceBlock estimator_variance_block_from_json(const nlohmann::ordered_json& j, const std::string& what) {
  EstimatorVarianceBlock b;
  b.first_datapoint = json_field<Index>(j, "first_datapoint", what);
  b.num_datapoints = json_field<Index>(j, "num_datapoints", what);
  b.model = json_field<std::string>(j, "model", what);
  b.replicates = json_field<Index>(j, "replicates", what);
  b.encoder_parameters = json_field<Index>(j, "encoder_parameters", what);
  b.decoder_parameters = json_field<Index>(j, "decoder_parameters", what);
  b.snr_noise_floor = exact_double(nlohmann::json(json_member(j, "snr_noise_floor", what)), what + ".snr_noise_floor");
  b.elbo = sweep_from_json(json_member(j, "elbo", what), "S", what + ".elbo");
  b.iwae = sweep_from_json(json_member(j, "iwae", what), "K", what + ".iwae");
  if (b.num_datapoints < 1 || b.elbo.datapoints != b.num_datapoints || b.iwae.datapoints < 0 ||
      b.iwae.datapoints > b.num_datapoints)
    throw std::invalid_argument(what + ": a block of " + std::to_string(b.num_datapoints) + " datapoints with " +
                                std::to_string(b.elbo.datapoints) + " in the ELBO sweep and " +
                                std::to_string(b.iwae.datapoints) + " in the IWAE sweep");
  b.seconds = exact_double(nlohmann::json(json_member(j, "seconds", what)), what + ".seconds");
  return b;
}

// ---- Assembly ----

namespace {

/// The statistics of one gradient over the parts (all computed or none, the same parameter count).
GradientStatistics concatenate_statistics(const std::vector<const GradientStatistics*>& parts) {
  GradientStatistics g;
  g.computed = parts.front()->computed;
  g.num_parameters = parts.front()->num_parameters;
  for (const GradientStatistics* p : parts)
    if (p->computed != g.computed || p->num_parameters != g.num_parameters)
      throw std::invalid_argument("assemble_estimator_variance_study: the blocks' gradient statistics disagree (" +
                                  std::to_string(g.num_parameters) + " and " + std::to_string(p->num_parameters) +
                                  " parameters)");
  if (!g.computed) return g;
  const auto joined = [&](const Estimate GradientStatistics::*field) {
    std::vector<const Estimate*> estimates;
    for (const GradientStatistics* p : parts) estimates.push_back(&(p->*field));
    return concatenate_estimates(estimates);
  };
  g.total_variance = joined(&GradientStatistics::total_variance);
  g.mean_snr = joined(&GradientStatistics::mean_snr);
  g.median_snr = joined(&GradientStatistics::median_snr);
  g.mean_squared_norm = joined(&GradientStatistics::mean_squared_norm);
  return g;
}

/// One (count, variant) result over the parts: every estimate's per-datapoint values joined.
GradientVarianceResult concatenate_results(const std::vector<const GradientVarianceResult*>& parts) {
  GradientVarianceResult r;
  r.settings = parts.front()->settings;
  std::vector<const Estimate*> means, variances;
  std::vector<const GradientStatistics*> encoders, decoders;
  for (const GradientVarianceResult* p : parts) {
    if (p->settings != r.settings)
      throw std::invalid_argument("assemble_estimator_variance_study: the blocks' settings disagree (" +
                                  r.settings.dump() + " and " + p->settings.dump() + ")");
    means.push_back(&p->objective_mean);
    variances.push_back(&p->objective_variance);
    encoders.push_back(&p->encoder);
    decoders.push_back(&p->decoder);
    r.seconds += p->seconds;
  }
  r.objective_mean = concatenate_estimates(means);
  r.objective_variance = concatenate_estimates(variances);
  r.encoder = concatenate_statistics(encoders);
  r.decoder = concatenate_statistics(decoders);
  return r;
}

/// A sweep of the whole range from the blocks' sweeps (`member`), those with datapoints in it.
EstimatorVarianceSweep assemble_sweep(const std::vector<EstimatorVarianceBlock>& blocks,
                                      EstimatorVarianceSweepBlock EstimatorVarianceBlock::*member) {
  const EstimatorVarianceSweepBlock& first = blocks.front().*member;
  EstimatorVarianceSweep sweep{first.letter, first.counts, variants_of(first.letter), {}, 0.0};
  std::vector<const EstimatorVarianceSweepBlock*> parts;
  for (const EstimatorVarianceBlock& b : blocks) {
    const EstimatorVarianceSweepBlock& s = b.*member;
    if (s.letter != first.letter || s.counts != first.counts)
      throw std::invalid_argument("assemble_estimator_variance_study: the block at datapoint " +
                                  std::to_string(b.first_datapoint) + " has other " + first.letter + " counts");
    sweep.seconds += s.seconds;
    if (s.datapoints > 0) parts.push_back(&s);
  }
  if (parts.empty()) {
    if (!sweep.counts.empty())
      throw std::invalid_argument("assemble_estimator_variance_study: no block holds a datapoint of the " +
                                  first.letter + " sweep");
    return sweep;
  }
  for (std::size_t i = 0; i < sweep.counts.size(); ++i) {
    std::vector<GradientVarianceResult> row;
    for (std::size_t v = 0; v < sweep.variants.size(); ++v) {
      std::vector<const GradientVarianceResult*> results;
      for (const EstimatorVarianceSweepBlock* s : parts) results.push_back(&s->results[i][v]);
      row.push_back(concatenate_results(results));
    }
    sweep.results.push_back(std::move(row));
  }
  return sweep;
}

std::vector<LogLogSlope> study_slopes(const EstimatorVarianceSweep& elbo, const EstimatorVarianceSweep& iwae) {
  const auto& S = elbo.counts;
  const auto& K = iwae.counts;
  std::vector<LogLogSlope> slopes{
      {"elbo_variance_analytic_kl_vs_S", log_log_slope(S, elbo.objective_variances(0, false))},
      {"encoder_total_variance_analytic_kl_vs_S",
       log_log_slope(S, elbo.gradient_values(0, &GradientStatistics::total_variance, false, false))},
      {"encoder_total_variance_stl_vs_S",
       log_log_slope(S, elbo.gradient_values(2, &GradientStatistics::total_variance, false, false))},
      {"decoder_total_variance_vs_S",
       log_log_slope(S, elbo.gradient_values(0, &GradientStatistics::total_variance, true, false))}};
  if (K.size() >= 2) {
    slopes.push_back({"encoder_mean_snr_reparameterized_vs_K",
                      log_log_slope(K, iwae.gradient_values(0, &GradientStatistics::mean_snr, false, false))});
    slopes.push_back({"encoder_mean_snr_stl_vs_K",
                      log_log_slope(K, iwae.gradient_values(1, &GradientStatistics::mean_snr, false, false))});
    slopes.push_back({"encoder_mean_snr_dreg_vs_K",
                      log_log_slope(K, iwae.gradient_values(2, &GradientStatistics::mean_snr, false, false))});
    slopes.push_back({"decoder_mean_snr_vs_K",
                      log_log_slope(K, iwae.gradient_values(0, &GradientStatistics::mean_snr, true, false))});
  }
  return slopes;
}

void check_consecutive(const std::vector<EstimatorVarianceBlock>& blocks) {
  if (blocks.empty()) throw std::invalid_argument("assemble_estimator_variance_study: no blocks");
  const EstimatorVarianceBlock& first = blocks.front();
  Index next = first.first_datapoint;
  bool iwae_ended = false;  // a block before held fewer IWAE datapoints than datapoints
  for (const EstimatorVarianceBlock& b : blocks) {
    if (b.first_datapoint != next)
      throw std::invalid_argument("assemble_estimator_variance_study: a block starts at datapoint " +
                                  std::to_string(b.first_datapoint) + ", expected " + std::to_string(next) +
                                  " (blocks must be consecutive, in order)");
    next += b.num_datapoints;
    if (b.model != first.model || b.replicates != first.replicates ||
        b.encoder_parameters != first.encoder_parameters || b.decoder_parameters != first.decoder_parameters ||
        b.snr_noise_floor != first.snr_noise_floor)
      throw std::invalid_argument("assemble_estimator_variance_study: the block at datapoint " +
                                  std::to_string(b.first_datapoint) +
                                  " was computed with another model or settings than the first");
    if (iwae_ended && b.iwae.datapoints > 0)
      throw std::invalid_argument("assemble_estimator_variance_study: the block at datapoint " +
                                  std::to_string(b.first_datapoint) +
                                  " holds IWAE datapoints after a block that ended the IWAE sweep's range");
    iwae_ended = iwae_ended || b.iwae.datapoints < b.num_datapoints;
  }
}

}  // namespace

EstimatorVarianceStudy assemble_estimator_variance_study(const std::vector<EstimatorVarianceBlock>& blocks) {
  check_consecutive(blocks);
  const EstimatorVarianceBlock& first = blocks.front();
  EstimatorVarianceStudy study;
  study.model = first.model;
  study.replicates = first.replicates;
  study.encoder_parameters = first.encoder_parameters;
  study.decoder_parameters = first.decoder_parameters;
  study.snr_noise_floor = first.snr_noise_floor;
  for (const EstimatorVarianceBlock& b : blocks) {
    study.num_datapoints += b.num_datapoints;
    study.iwae_datapoints += b.iwae.datapoints;
    study.seconds += b.seconds;
  }
  study.elbo = assemble_sweep(blocks, &EstimatorVarianceBlock::elbo);
  study.iwae = assemble_sweep(blocks, &EstimatorVarianceBlock::iwae);
  study.log_log_slopes = study_slopes(study.elbo, study.iwae);
  return study;
}

}  // namespace vigap
