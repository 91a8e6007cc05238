#include "analyses/objective_comparison.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>
#include <stdexcept>

#include <Eigen/Eigenvalues>

#include "core/elapsed_seconds.hpp"
#include "core/io/format_number.hpp"
#include "core/io/markdown_table.hpp"
#include "core/progress_reporter.hpp"
#include "core/training/exact_marginal_likelihood_trainer.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/local_posterior_fit.hpp"
#include "estimators/exact_marginal_likelihood.hpp"
#include "estimators/gap_decomposition.hpp"
#include "estimators/kl_divergence_quadrature.hpp"

namespace vigap {

std::vector<ComparedObjective> parse_compared_objectives(const std::string& text, const std::string& option) {
  std::vector<ComparedObjective> specs;
  std::stringstream stream(text);
  std::string item;
  const std::string expected =
      "expected a comma-separated list of elbo, iwae-K (K >= 2 importance samples, e.g. iwae-5) and exact";
  while (std::getline(stream, item, ',')) {
    ComparedObjective spec;
    spec.name = item;
    if (item == "elbo") {
      spec.label = "ELBO";
    } else if (item == "exact") {
      spec.kind = ComparedObjective::Kind::exact;
      spec.label = "exact log p(x)";
    } else if (item.rfind("iwae-", 0) == 0) {
      const std::string k = item.substr(5);
      if (k.empty() || k.size() > 6 || !std::all_of(k.begin(), k.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          std::stol(k) < 2)
        throw std::invalid_argument(option + ": bad IWAE objective '" + item + "': " + expected);
      spec.kind = ComparedObjective::Kind::iwae;
      spec.samples = std::stol(k);
      spec.label = "IWAE-" + k;
    } else {
      throw std::invalid_argument(option + ": unknown objective '" + item + "': " + expected);
    }
    for (const ComparedObjective& s : specs)
      if (s.name == spec.name) throw std::invalid_argument(option + ": '" + item + "' is listed twice");
    specs.push_back(spec);
  }
  if (specs.empty()) throw std::invalid_argument(option + ": " + expected + ", found '" + text + "'");
  return specs;
}

bool has_exact_objective(const std::vector<ComparedObjective>& objectives) {
  return std::any_of(objectives.begin(), objectives.end(),
                     [](const ComparedObjective& s) { return s.kind == ComparedObjective::Kind::exact; });
}

LocalOptimizationOptions ObjectiveComparisonOptions::default_qstar() {
  LocalOptimizationOptions qstar;
  qstar.samples_per_step = 10;
  qstar.max_steps = 1000;
  qstar.check_interval = 50;
  qstar.patience = 4;
  return qstar;
}

QuadratureOptions ObjectiveComparisonOptions::default_quadrature() {
  QuadratureOptions quadrature;
  quadrature.tolerance = 1e-4;
  return quadrature;
}

std::vector<PosteriorFamily> ObjectiveComparisonOptions::supported_qstar_families() {
  return {PosteriorFamily::ffg, PosteriorFamily::full};
}

void ObjectiveComparisonOptions::validate(Index latent_dim, const std::vector<ComparedObjective>& objectives) const {
  if (objectives.empty()) throw std::invalid_argument("--objectives: no objective to compare");
  const std::vector<PosteriorFamily> supported = supported_qstar_families();
  for (PosteriorFamily f : qstar_families)
    if (std::find(supported.begin(), supported.end(), f) == supported.end())
      throw std::invalid_argument("--qstar-families: the objective comparison fits " +
                                  describe_posterior_families(supported) + ", found " + vigap::to_string(f));
  if (qstar_points < 0) throw std::invalid_argument("--qstar-points must be >= 0, found " + std::to_string(qstar_points));
  if (trajectory_points < 0)
    throw std::invalid_argument("--trajectory-points must be >= 0, found " + std::to_string(trajectory_points));
  trainer.validate();
  qstar.validate();
  quadrature.validate(latent_dim);
  if (has_exact_objective(objectives)) grid.validate(latent_dim);
}

nlohmann::ordered_json ObjectiveComparisonOptions::to_json(Index latent_dim) const {
  nlohmann::ordered_json j;
  j["epochs"] = trainer.epochs;
  j["batch_size"] = trainer.batch_size;
  if (trainer.early_stopping_patience > 0)
    j["early_stopping"] = {{"patience", trainer.early_stopping_patience},
                           {"max_epochs", trainer.epochs},
                           {"criterion", "the training objective at beta = 1 on the validation set (grid log p(x) for "
                                         "the exact decoder, the ELBO for its encoder fit); the best epoch's "
                                         "parameters are kept"}};
  j["optimizer"] = {{"name", "adam"}, {"learning_rate", trainer.learning_rate.initial}, {"schedule", "constant"},
                    {"beta1", trainer.adam.beta1}, {"beta2", trainer.adam.beta2}, {"epsilon", trainer.adam.epsilon}};
  j["elbo_training"] = {{"samples", 1}, {"kl", "analytic"}};
  j["exact_training_grid"] = {{"half_width", grid.half_width},
                              {"cells_per_dimension", grid.cells_per_dimension},
                              {"spacing", grid.spacing()},
                              {"shift", grid.random_shift ? "random" : "none"},
                              {"rule", "midpoint rule on the n^d cells of [-a, a]^d (shifted: unbiased for p(x))"}};
  j["exact_model_encoder"] =
      "fitted after training by the ELBO (1 sample, analytic KL) with the decoder frozen, same epochs and optimizer";
  j["binarization"] = vigap::to_string(trainer.binarization);
  j["binarization_threshold"] = trainer.binarization_threshold;
  std::vector<std::string> families;
  for (PosteriorFamily f : qstar_families) families.push_back(vigap::to_string(f));
  j["qstar_families"] = families;
  j["qstar"] = qstar.to_json();
  j["qstar"]["init"] = "two fits, from the encoder's q and from the diagonal of the exact posterior's moments; per "
                      "datapoint the higher ELBO";
  j["quadrature"] = quadrature.to_json(latent_dim);
  if (trajectory_points > 0)
    j["trajectory"] = {{"points", trajectory_points},
                       {"when", "after every training epoch (the decoder's, for the exact model)"},
                       {"measures", "log p(x), KL(q*_ffg || p(z|x)) and, for jointly trained models, KL(q || p(z|x)) "
                                    "of the encoder, all by quadrature, on the first test points"},
                       {"qstar_init", "diagonal of the exact posterior's moments"}};
  return j;
}

namespace {


/// The first `count` datapoints of an estimate.
Estimate first_datapoints(const Estimate& e, Index count) {
  Estimate h = e;
  h.per_datapoint = e.per_datapoint.head(count);
  h.per_datapoint_standard_error = e.per_datapoint_standard_error.head(count);
  h.summarize();
  return h;
}

/// Smallest standard deviation of p(z|x_b) over directions: sqrt of Cov's smallest eigenvalue.
VectorD narrowest_posterior_sd(const ExactMarginalLikelihood& r) {
  VectorD sd(static_cast<Index>(r.posterior_covariance.size()));
  for (size_t b = 0; b < r.posterior_covariance.size(); ++b) {
    Eigen::SelfAdjointEigenSolver<MatrixD> solver(r.posterior_covariance[b], Eigen::EigenvaluesOnly);
    sd(static_cast<Index>(b)) = std::sqrt(std::max(0.0, solver.eigenvalues().minCoeff()));
  }
  return sd;
}

double median(VectorD v) {
  std::sort(v.data(), v.data() + v.size());
  return v.size() % 2 ? v(v.size() / 2) : 0.5 * (v(v.size() / 2 - 1) + v(v.size() / 2));
}

/// The per-epoch records of a joint (encoder and decoder) training run.
nlohmann::ordered_json epochs_json(const VaeTrainingSummary& s, bool with_objective, nlohmann::ordered_json& seconds) {
  nlohmann::ordered_json epochs = nlohmann::ordered_json::array();
  seconds = nlohmann::ordered_json::array();
  for (const EpochRecord& r : s.epochs) {
    nlohmann::ordered_json e = {{"epoch", r.epoch},
                                {"train_objective", r.train_objective},
                                {"validation_elbo", r.validation_elbo},
                                {"validation_elbo_standard_error", r.validation_elbo_standard_error}};
    if (with_objective) e["validation_objective"] = r.validation_objective;
    epochs.push_back(std::move(e));
    seconds.push_back(r.seconds);
  }
  return epochs;
}

/// The diagonal Gaussian with the exact posterior's means and marginal variances of the first
/// `count` datapoints: a start for q* that does not depend on the encoder.
DiagonalGaussian exact_moments_start(const ExactMarginalLikelihood& exact, Index count) {
  const Index d = exact.posterior_mean.rows();
  MatrixD log_variance(d, count);
  for (Index b = 0; b < count; ++b)
    for (Index i = 0; i < d; ++i)
      log_variance(i, b) = std::log(std::max(exact.posterior_covariance[static_cast<size_t>(b)](i, i), 1e-12));
  return DiagonalGaussian(exact.posterior_mean.leftCols(count), log_variance, "diagonal of the exact posterior's moments");
}

/// The trajectory's measurements of m after `epoch` on X (the first trajectory_points test points).
ObjectiveComparisonEpoch measure_epoch(const ObjectiveComparisonModel& m, int epoch, const MatrixF& X, bool amortized,
                                       const ObjectiveComparisonOptions& o, const RandomStreams& evaluation_streams) {
  ObjectiveComparisonEpoch point;
  point.epoch = epoch;
  const GenerativeModel& model = m.vae.decoder;
  const ExactMarginalLikelihood exact = exact_marginal_likelihood(model, X, o.quadrature);
  point.log_px = exact.log_marginal_likelihood;
  const Index B = X.cols();
  const DiagonalGaussian start = exact_moments_start(exact, B);
  KlQuadratureOptions kl_options;
  kl_options.quadrature = o.quadrature;
  const RandomStreams stream = evaluation_streams.slice(0, B).with_substream(4);
  LocalFitOptions fit;
  fit.gaussian = o.qstar;
  const LocalPosteriorFitResult r = fit_local_posterior(model, X, PosteriorFamily::ffg, start, fit, stream);
  point.qstar_kl = kl_divergence_by_quadrature(model, r.approximation(), X, point.log_px, kl_options, stream).kl_divergence;
  if (amortized) {
    point.amortized_kl = kl_divergence_by_quadrature(model, DiagonalGaussian::from_encoder(*m.vae.encoder, X), X,
                                                     point.log_px, kl_options, stream)
                             .kl_divergence;
    point.has_amortized_kl = true;
  }
  return point;
}

/// options.after_epoch for m's training: appends m's trajectory (nothing when X has no columns).
std::function<void(int)> trajectory_recorder(ObjectiveComparisonModel& m, const MatrixF& X, bool amortized,
                                             const ObjectiveComparisonOptions& o,
                                             const RandomStreams& evaluation_streams, const ProgressReporter& progress) {
  if (X.cols() == 0) return {};
  return [&m, &X, amortized, &o, &evaluation_streams, &progress](int epoch) {
    const auto start = std::chrono::steady_clock::now();
    m.trajectory.push_back(measure_epoch(m, epoch, X, amortized, o, evaluation_streams));
    m.trajectory_seconds += seconds_since(start);
    const ObjectiveComparisonEpoch& p = m.trajectory.back();
    progress.line("trajectory after epoch " + std::to_string(epoch) + ": log p(x) " + format_number("%.2f", p.log_px.value) +
                  "  KL(q*_ffg||p) " + format_number("%.3f", p.qstar_kl.value) +
                  (p.has_amortized_kl ? "  KL(q||p) " + format_number("%.3f", p.amortized_kl.value) : std::string()));
  };
}

/// The exact model: decoder by the grid log p(x), then its encoder by the ELBO, decoder frozen.
/// `options` are the decoder's (the objective set per model), `trainer` the shared settings the
/// encoder fit starts from.
void train_exact(ObjectiveComparisonModel& m, const MatrixF& train, const MatrixF& validation,
                 const VaeTrainerOptions& options, const VaeTrainerOptions& trainer,
                 const ExactMarginalLikelihoodObjectiveOptions& grid, Rng& rng, const ProgressReporter& progress) {
  const ExactMarginalLikelihoodTrainingSummary s =
      train_decoder_by_exact_marginal_likelihood(m.vae.decoder, train, validation, options, grid, rng, progress);
  nlohmann::ordered_json epochs = nlohmann::ordered_json::array(), seconds = nlohmann::ordered_json::array();
  for (const ExactMarginalLikelihoodEpoch& r : s.epochs) {
    epochs.push_back({{"epoch", r.epoch},
                      {"train_grid_log_px", r.train_objective},
                      {"validation_grid_log_px", r.validation_log_px},
                      {"validation_grid_log_px_standard_error", r.validation_log_px_standard_error}});
    seconds.push_back(r.seconds);
  }
  m.training["decoder"] = {{"objective", "exact marginal likelihood (grid quadrature)"}, {"epochs", epochs}};
  if (options.early_stopping_patience > 0) {
    m.training["decoder"]["kept_epoch"] = s.best_epoch;
    m.training["decoder"]["stopped_early"] = s.stopped_early;
  }
  m.training_timings["decoder_seconds"] = s.training_seconds;
  m.training_timings["decoder_epoch_seconds"] = seconds;
  progress.line("objective-comparison: fitting the amortized q of the exact model (decoder frozen)");
  VaeTrainerOptions encoder_options = trainer;
  encoder_options.freeze_decoder = true;
  const VaeTrainingSummary e = train_vae(*m.vae.encoder, m.vae.decoder, train, validation, encoder_options, rng, progress);
  m.training["encoder"] = {{"objective", "elbo, decoder frozen"}, {"epochs", epochs_json(e, false, seconds)}};
  if (encoder_options.early_stopping_patience > 0) {
    m.training["encoder"]["kept_epoch"] = e.best_epoch;
    m.training["encoder"]["stopped_early"] = e.stopped_early;
  }
  m.training_timings["encoder_seconds"] = e.training_seconds;
  m.training_timings["encoder_epoch_seconds"] = seconds;
}

/// Trains m.vae by m.objective from a copy of training_rng.
void train_model(ObjectiveComparisonModel& m, const MatrixF& train, const MatrixF& validation,
                 const MatrixF& trajectory_points, const ObjectiveComparisonOptions& o, const Rng& training_rng,
                 const RandomStreams& evaluation_streams, const ProgressReporter& progress) {
  const ComparedObjective& spec = m.objective;
  Rng rng = training_rng;  // the same stream (data order, binarization) for every objective
  progress.line("objective-comparison: training by " + spec.label);
  VaeTrainerOptions options = o.trainer;
  options.objective.objective = spec.kind == ComparedObjective::Kind::iwae ? TrainingObjective::iwae : TrainingObjective::elbo;
  options.objective.samples = spec.samples;
  options.after_epoch = trajectory_recorder(m, trajectory_points, spec.kind != ComparedObjective::Kind::exact, o,
                                            evaluation_streams, progress);
  if (spec.kind == ComparedObjective::Kind::exact)
    return train_exact(m, train, validation, options, o.trainer, o.grid, rng, progress);
  const VaeTrainingSummary s = train_vae(*m.vae.encoder, m.vae.decoder, train, validation, options, rng, progress);
  nlohmann::ordered_json seconds;
  nlohmann::ordered_json epochs = epochs_json(s, true, seconds);
  m.training["encoder_and_decoder"] = {{"objective", spec.kind == ComparedObjective::Kind::iwae ? "iwae" : "elbo"},
                                       {"samples", spec.samples},
                                       {"epochs", epochs}};
  if (options.early_stopping_patience > 0) {
    m.training["encoder_and_decoder"]["kept_epoch"] = s.best_epoch;
    m.training["encoder_and_decoder"]["stopped_early"] = s.stopped_early;
  }
  m.training_timings["seconds"] = s.training_seconds;
  m.training_timings["epoch_seconds"] = seconds;
}

/// The unshifted training grid's log p(x) minus the adaptive quadrature's, on the test points.
void measure_grid_discrepancy(ObjectiveComparisonModel& m, const MatrixF& X_test,
                              const ExactMarginalLikelihoodObjectiveOptions& grid) {
  const Index latent_dim = m.vae.decoder.latent_dim(), test_count = X_test.cols();
  ExactMarginalLikelihoodObjectiveOptions fixed = grid;
  fixed.random_shift = false;
  const LatentGrid nodes = shifted_latent_grid(latent_dim, fixed, VectorD::Zero(latent_dim));
  VectorD grid_values(test_count), chunk;
  for (Index start = 0; start < test_count; start += 500) {
    const Index n = std::min<Index>(500, test_count - start);
    exact_marginal_likelihood_objective(m.vae.decoder, X_test.middleCols(start, n), nodes, grid.nodes_per_block,
                                        nullptr, &chunk);
    grid_values.segment(start, n) = chunk;
  }
  const VectorD discrepancy = grid_values - m.test_log_px.per_datapoint;
  m.grid_mean_discrepancy = discrepancy.mean();
  m.grid_max_abs_discrepancy = discrepancy.cwiseAbs().maxCoeff();
  m.grid_fraction_above_hundredth =
      static_cast<double>((discrepancy.array().abs() > 0.01).count()) / static_cast<double>(test_count);
}

/// q*_F per datapoint on the first qstar_count test points, and the gaps against the encoder's q.
/// q* is fitted from two starts, the encoder's q and the diagonal of the exact posterior's moments,
/// and per datapoint the fit with the higher ELBO (the smaller KL(q* ‖ p(z|x))) is kept: a fit from
/// the encoder alone stays near a poor encoder and overstates the approximation gap.
void measure_qstar(ObjectiveComparisonModel& m, const MatrixF& X_qstar, const ExactMarginalLikelihood& exact,
                   const ObjectiveComparisonOptions& o, const KlQuadratureOptions& kl_options,
                   const RandomStreams& evaluation_streams, const ProgressReporter& progress) {
  const Index qstar_count = X_qstar.cols();
  const Estimate subset_log_px = first_datapoints(m.test_log_px, qstar_count);
  const Estimate subset_elbo = first_datapoints(m.test_elbo, qstar_count);
  m.subset_kl = first_datapoints(m.test_kl, qstar_count);
  const DiagonalGaussian encoder_start = DiagonalGaussian::from_encoder(*m.vae.encoder, X_qstar);
  const DiagonalGaussian moments_start = exact_moments_start(exact, qstar_count);
  for (PosteriorFamily family : o.qstar_families) {
    progress.line("objective-comparison: q*_" + vigap::to_string(family) + " of the " + m.objective.label +
                  " model on " + std::to_string(qstar_count) + " test points");
    ObjectiveComparisonQStar row;
    row.family = family;
    const auto part_start = std::chrono::steady_clock::now();
    LocalFitOptions options;
    options.gaussian = o.qstar;  // its family is set by fit_local_posterior
    Estimate best;
    for (int start = 0; start < 2; ++start) {
      // Substreams 2 / 3 (ffg / full) from the encoder, 5 / 6 from the exact moments.
      const std::uint64_t substream = (family == PosteriorFamily::ffg ? 2 : 3) + 3 * start;
      const RandomStreams stream = evaluation_streams.slice(0, qstar_count).with_substream(substream);
      const LocalPosteriorFitResult r = fit_local_posterior(m.vae.decoder, X_qstar, family,
                                                            start == 0 ? encoder_start : moments_start, options, stream,
                                                            progress);
      row.steps += r.steps;
      row.decoder_evaluations += r.total_decoder_evaluations();
      row.datapoints_stopped_by_rule += std::count(r.stopped_by_rule.begin(), r.stopped_by_rule.end(), true);
      const Estimate elbo =
          kl_divergence_by_quadrature(m.vae.decoder, r.approximation(), X_qstar, subset_log_px, kl_options, stream).elbo;
      if (start == 0) {
        best = elbo;
        continue;
      }
      for (Index b = 0; b < qstar_count; ++b)
        if (elbo.per_datapoint(b) > best.per_datapoint(b)) {
          best.per_datapoint(b) = elbo.per_datapoint(b);
          best.per_datapoint_standard_error(b) = elbo.per_datapoint_standard_error(b);
          ++row.datapoints_from_exact_moments;
        }
      best.summarize();
    }
    best.settings["qstar_starts"] = "encoder's q and the diagonal of the exact posterior's moments; per datapoint the "
                                    "higher ELBO";
    row.elbo = best;
    const GapDecomposition gaps = decompose_gaps(subset_log_px, best, subset_elbo);
    row.approximation_gap = gaps.approximation_gap;
    row.amortization_gap = gaps.amortization_gap;
    row.seconds = seconds_since(part_start);
    m.qstar.push_back(std::move(row));
  }
}

/// Every measurement of one trained model, by quadrature.
void evaluate_model(ObjectiveComparisonModel& m, const MatrixF& X_train, const MatrixF& X_test,
                    const ObjectiveComparisonOptions& o, bool check_grid, const RandomStreams& evaluation_streams,
                    const ProgressReporter& progress) {
  const auto eval_start = std::chrono::steady_clock::now();
  const RandomStreams train_streams = evaluation_streams.slice(0, X_train.cols());
  const RandomStreams test_streams = evaluation_streams.slice(0, X_test.cols()).with_substream(1);
  KlQuadratureOptions kl_options;
  kl_options.quadrature = o.quadrature;
  const GenerativeModel& model = m.vae.decoder;
  progress.line("objective-comparison: exact log p(x), L[q] and KL of the " + m.objective.label + " model");
  auto part_start = std::chrono::steady_clock::now();
  m.train_log_px = exact_marginal_likelihood(model, X_train, o.quadrature).log_marginal_likelihood;
  const ExactMarginalLikelihood test_quadrature = exact_marginal_likelihood(model, X_test, o.quadrature);
  m.test_log_px = test_quadrature.log_marginal_likelihood;
  m.test_log_px.settings["unconverged_datapoints"] = test_quadrature.unconverged;
  m.log_px_seconds = seconds_since(part_start);
  part_start = std::chrono::steady_clock::now();
  const VectorD sd = narrowest_posterior_sd(test_quadrature);
  m.posterior_sd_median = median(sd);
  m.posterior_sd_min = sd.minCoeff();
  m.train_elbo = kl_divergence_by_quadrature(model, DiagonalGaussian::from_encoder(*m.vae.encoder, X_train), X_train,
                                             m.train_log_px, kl_options, train_streams)
                     .elbo;
  const QuadratureKlDivergence r = kl_divergence_by_quadrature(
      model, DiagonalGaussian::from_encoder(*m.vae.encoder, X_test), X_test, m.test_log_px, kl_options, test_streams);
  m.test_elbo = r.elbo;
  m.test_kl = r.kl_divergence;
  m.amortized_kl_seconds = seconds_since(part_start);
  if (check_grid) measure_grid_discrepancy(m, X_test, o.grid);  // how well the training grid resolves the posteriors
  const Index qstar_count = std::min(o.qstar_points, X_test.cols());
  if (qstar_count > 0)
    measure_qstar(m, X_test.leftCols(qstar_count), test_quadrature, o, kl_options, evaluation_streams, progress);
  m.evaluation_seconds = seconds_since(eval_start);
}

void check_inputs(const Vae& initial, const MatrixF& train, const MatrixF& validation, const MatrixF& train_points,
                  const MatrixF& test_points, const RandomStreams& evaluation_streams) {
  const Index D = initial.decoder.data_dim();
  if (!initial.encoder) throw std::invalid_argument("compute_objective_comparison: the initial VAE has no encoder");
  if (train.cols() < 1 || train_points.cols() < 1 || test_points.cols() < 1)
    throw std::invalid_argument("compute_objective_comparison: no training images, training points or test points");
  for (const MatrixF* m : {&train, &train_points, &test_points})
    if (m->rows() != D)
      throw std::invalid_argument("compute_objective_comparison: data of dimension " + std::to_string(m->rows()) +
                                  ", the decoder expects " + std::to_string(D));
  if (validation.cols() > 0 && validation.rows() != D)
    throw std::invalid_argument("compute_objective_comparison: validation data of dimension " +
                                std::to_string(validation.rows()) + ", the decoder expects " + std::to_string(D));
  if (evaluation_streams.size() < std::max(train_points.cols(), test_points.cols()))
    throw std::invalid_argument("compute_objective_comparison: " + std::to_string(evaluation_streams.size()) +
                                " evaluation streams for " + std::to_string(train_points.cols()) +
                                " training and " + std::to_string(test_points.cols()) + " test points");
}

}  // namespace

ObjectiveComparison compute_objective_comparison(const Vae& initial, const std::vector<ComparedObjective>& objectives,
                                                 const MatrixF& train, const MatrixF& validation,
                                                 const MatrixF& train_points, const MatrixF& test_points,
                                                 const ObjectiveComparisonOptions& options, const Rng& training_rng,
                                                 const RandomStreams& evaluation_streams,
                                                 const ProgressReporter& progress) {
  options.validate(initial.decoder.latent_dim(), objectives);
  check_inputs(initial, train, validation, train_points, test_points, evaluation_streams);
  const auto total_start = std::chrono::steady_clock::now();
  ObjectiveComparison c;
  c.grid_checked = has_exact_objective(objectives);
  c.grid_spacing = options.grid.spacing();
  c.grid_half_width = options.grid.half_width;
  c.train_points = train_points.cols();
  c.test_points = test_points.cols();
  c.qstar_points = std::min(options.qstar_points, test_points.cols());
  c.trajectory_points = std::min(options.trajectory_points, test_points.cols());
  c.qstar_families = options.qstar_families;
  for (const ComparedObjective& spec : objectives) {
    ObjectiveComparisonModel m(spec, initial);
    const MatrixF trajectory_points = test_points.leftCols(std::min(options.trajectory_points, test_points.cols()));
    train_model(m, train, validation, trajectory_points, options, training_rng, evaluation_streams, progress);
    evaluate_model(m, train_points, test_points, options, c.grid_checked, evaluation_streams, progress);
    c.models.push_back(std::move(m));
  }
  // Paired differences against the first objective.
  const ObjectiveComparisonModel& first = c.models.front();
  const std::string description = "log p(x) - log p(x) of the " + first.objective.label + " model";
  for (ObjectiveComparisonModel& m : c.models) {
    m.train_log_px_difference =
        difference_of_estimates(m.train_log_px, first.train_log_px, description, BiasDirection::exact);
    m.test_log_px_difference = difference_of_estimates(m.test_log_px, first.test_log_px, description, BiasDirection::exact);
  }
  c.seconds = seconds_since(total_start);
  return c;
}

nlohmann::ordered_json ObjectiveComparison::results_json(bool per_datapoint) const {
  nlohmann::ordered_json results;
  for (const ObjectiveComparisonModel& m : models) {
    nlohmann::ordered_json r;
    r["objective"] = m.objective.name;
    r["training"] = m.training;
    r["train_log_px"] = to_json(m.train_log_px, per_datapoint);
    r["test_log_px"] = to_json(m.test_log_px, per_datapoint);
    r["train_elbo_amortized"] = to_json(m.train_elbo, per_datapoint);
    r["test_elbo_amortized"] = to_json(m.test_elbo, per_datapoint);
    r["test_kl_amortized"] = to_json(m.test_kl, per_datapoint);
    r["train_log_px_minus_first_objective"] = to_json(m.train_log_px_difference, per_datapoint);
    r["test_log_px_minus_first_objective"] = to_json(m.test_log_px_difference, per_datapoint);
    r["test_posterior_narrowest_sd"] = {{"median", m.posterior_sd_median}, {"min", m.posterior_sd_min}};
    if (grid_checked)
      r["training_grid_minus_adaptive_quadrature_test"] = {{"mean", m.grid_mean_discrepancy},
                                                           {"max_abs", m.grid_max_abs_discrepancy},
                                                           {"fraction_above_0.01", m.grid_fraction_above_hundredth}};
    if (qstar_points > 0) {
      nlohmann::ordered_json q;
      q["inference_gap"] = to_json(m.subset_kl, per_datapoint);
      for (const ObjectiveComparisonQStar& row : m.qstar)
        q[vigap::to_string(row.family)] = {
            {"elbo", to_json(row.elbo, per_datapoint)},
            {"approximation_gap", to_json(row.approximation_gap, per_datapoint)},
            {"amortization_gap", to_json(row.amortization_gap, per_datapoint)},
            {"optimization",
             {{"steps", row.steps},
              {"datapoints_stopped_by_rule", row.datapoints_stopped_by_rule},
              {"datapoints_from_exact_moments", row.datapoints_from_exact_moments},
              {"decoder_evaluations", row.decoder_evaluations}}}};
      r["qstar_subset"] = q;
    }
    if (trajectory_points > 0) {
      // mean over the trajectory points and its standard error across them (quadrature: exact)
      const auto summary = [](const Estimate& e) {
        return nlohmann::ordered_json{{"value", e.value}, {"dataset_standard_error", e.dataset_standard_error}};
      };
      nlohmann::ordered_json epochs = nlohmann::ordered_json::array();
      for (const ObjectiveComparisonEpoch& p : m.trajectory) {
        nlohmann::ordered_json e = {{"epoch", p.epoch}, {"test_log_px", summary(p.log_px)},
                                    {"kl_qstar_ffg", summary(p.qstar_kl)}};
        if (p.has_amortized_kl) e["kl_amortized"] = summary(p.amortized_kl);
        epochs.push_back(std::move(e));
      }
      r["trajectory"] = {{"points", trajectory_points}, {"epochs", std::move(epochs)}};
    }
    results["models"].push_back(r);
  }
  return results;
}

nlohmann::ordered_json ObjectiveComparison::timings_json() const {
  nlohmann::ordered_json t;
  for (const ObjectiveComparisonModel& m : models) {
    nlohmann::ordered_json evaluation;
    evaluation["log_px_seconds"] = m.log_px_seconds;
    evaluation["amortized_kl_seconds"] = m.amortized_kl_seconds;
    for (const ObjectiveComparisonQStar& row : m.qstar)
      evaluation["qstar_" + vigap::to_string(row.family) + "_seconds"] = row.seconds;
    if (trajectory_points > 0) evaluation["trajectory_seconds"] = m.trajectory_seconds;
    t[m.objective.name] = {{"training", m.training_timings},
                           {"evaluation_seconds", m.evaluation_seconds},
                           {"evaluation", evaluation}};
  }
  t["total_seconds"] = seconds;
  return t;
}

namespace {

/// "mean ± s.e." with the spread across datapoints as the error (models are compared on the
/// same points; the quadrature's own error is ~1e-5 nats and is in the JSON).
std::string cell(const Estimate& e, int decimals = 2) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f ± %.*f", decimals, e.value, decimals, e.dataset_standard_error);
  return buffer;
}

}  // namespace

std::string ObjectiveComparison::to_markdown() const {
  char line[512];
  std::snprintf(line, sizeof line,
                "every number exact (quadrature); mean over datapoints ± standard error across datapoints; "
                "%lld training points, %lld test points\n\n",
                static_cast<long long>(train_points), static_cast<long long>(test_points));
  std::string out = line;
  std::vector<std::vector<std::string>> rows;
  for (const ObjectiveComparisonModel& m : models)
    rows.push_back({m.objective.label, cell(m.train_log_px), cell(m.test_log_px), cell(m.test_elbo), cell(m.test_kl, 3),
                    cell(m.train_log_px_difference), cell(m.test_log_px_difference)});
  out += markdown_table({"objective", "train log p(x)", "test log p(x)", "test L[q]", "test KL(q‖p(z|x))",
                         "Δ train log p(x)", "Δ test log p(x)"},
                        rows);
  out += "\nΔ: minus the " + models.front().objective.label + " model's value on the same points (paired standard error).\n";
  if (qstar_points > 0 && !qstar_families.empty()) {
    std::snprintf(line, sizeof line,
                  "\nthe gaps on the first %lld test points (q* fitted per datapoint, started from the encoder's q):\n\n",
                  static_cast<long long>(qstar_points));
    out += line;
    std::vector<std::string> header{"objective", "inference gap KL(q‖p)"};
    for (PosteriorFamily f : qstar_families) {
      const std::string name = f == PosteriorFamily::ffg ? "FFG" : "full";
      header.push_back("approximation gap KL(q*_" + name + "‖p)");
      header.push_back("amortization gap (" + name + ")");
    }
    rows.clear();
    for (const ObjectiveComparisonModel& m : models) {
      std::vector<std::string> row{m.objective.label, cell(m.subset_kl, 3)};
      for (const ObjectiveComparisonQStar& q : m.qstar) {
        row.push_back(cell(q.approximation_gap, 3));
        row.push_back(cell(q.amortization_gap, 3));
      }
      rows.push_back(row);
    }
    out += markdown_table(header, rows);
  }
  out += "\n";
  for (const ObjectiveComparisonModel& m : models) {
    std::snprintf(line, sizeof line, "%s: narrowest posterior s.d. median %.3f, min %.3f", m.objective.label.c_str(),
                  m.posterior_sd_median, m.posterior_sd_min);
    out += line;
    if (grid_checked) {
      std::snprintf(line, sizeof line,
                    "; training grid (h = %.3f, [-%g, %g]^d, unshifted) minus adaptive quadrature on the test points: "
                    "mean %.2e, max |.| %.2e, |.| > 0.01 on %.1f%%",
                    grid_spacing, grid_half_width, grid_half_width, m.grid_mean_discrepancy,
                    m.grid_max_abs_discrepancy, 100.0 * m.grid_fraction_above_hundredth);
      out += line;
    }
    out += "\n";
  }
  return out;
}

}  // namespace vigap
