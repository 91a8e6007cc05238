#include "analyses/hmc_vs_vi.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <tuple>

#include "core/elapsed_seconds.hpp"
#include "analyses/decoder_evaluation_budget.hpp"
#include "core/io/markdown_table.hpp"
#include "core/math/mean_and_standard_error.hpp"
#include "core/progress_reporter.hpp"
#include "core/variational/local_posterior_fit.hpp"
#include "estimators/exact_posterior.hpp"
#include "estimators/importance_sampling.hpp"
#include "estimators/kl_divergence_quadrature.hpp"
#include "estimators/posterior_discrepancy.hpp"

namespace vigap {

HmcStart parse_hmc_start(const std::string& text, const std::string& option) {
  if (text == "encoder") return HmcStart::encoder;
  if (text == "prior") return HmcStart::prior;
  throw std::invalid_argument(option + " must be encoder or prior, found '" + text + "'");
}

std::string to_string(HmcStart start) { return start == HmcStart::encoder ? "encoder" : "prior"; }

namespace {

std::string budgets_text(const std::vector<Index>& budgets) {
  std::string text;
  for (size_t i = 0; i < budgets.size(); ++i) text += (i > 0 ? "," : "") + std::to_string(budgets[i]);
  return text;
}

}  // namespace

void HmcVsViOptions::validate() const {
  if (budgets.empty()) throw std::invalid_argument("--budgets expects at least one budget, found ''");
  for (size_t i = 0; i < budgets.size(); ++i)
    if (budgets[i] < 1 || (i > 0 && budgets[i] <= budgets[i - 1]))
      throw std::invalid_argument("--budgets must be positive and increasing, found '" + budgets_text(budgets) + "'");
  if (hmc.chains < 2)
    throw std::invalid_argument("--hmc-chains must be >= 2 (moments and R-hat), found " + std::to_string(hmc.chains));
  if (grid_nodes < 11) throw std::invalid_argument("--grid-nodes must be >= 11, found " + std::to_string(grid_nodes));
  if (!(grid_half_width >= 2.0) || !std::isfinite(grid_half_width))
    throw std::invalid_argument("--grid-half-width must be >= 2 (posterior standard deviations), found " +
                                std::to_string(grid_half_width));
  if (cells_per_bin < 1) throw std::invalid_argument("--tv-cells-per-bin must be >= 1, found " + std::to_string(cells_per_bin));
  if (vi_draws < 2) throw std::invalid_argument("--vi-draws must be >= 2, found " + std::to_string(vi_draws));
  hmc.validate();
  gaussian.validate();
  flow.validate();
  ais.validate();
  hmc_options_for_budget(hmc, budgets.back(), warmup_fraction);  // rejects a bad warm-up fraction
}

nlohmann::ordered_json HmcVsViOptions::to_json() const {
  nlohmann::ordered_json j;
  j["budgets"] = budgets;
  j["cost_measure"] =
      "decoder evaluations per datapoint: latent columns through the decoder (forward + backward for gradients; "
      "forward-only columns of q* checks and importance sampling counted as full evaluations); the encoder costs 0";
  j["hmc"] = {{"chains", hmc.chains},
              {"leapfrog_steps", hmc.leapfrog_steps},
              {"warmup_fraction", warmup_fraction},
              {"initial_latents", hmc_init == HmcStart::encoder ? "one draw of the amortized q per chain"
                                                                : "one draw of the prior per chain"},
              {"options", hmc.to_json()},
              {"budget_rule", "iterations I = floor((budget / chains - 1) / leapfrog_steps), warmup floor(fraction I), draws the rest"}};
  j["q_star"] = {{"initial", "encoder's Gaussian"},
                 {"samples_per_step", gaussian.samples_per_step},
                 {"learning_rate", gaussian.learning_rate},
                 {"learning_rate_half_life", gaussian.learning_rate_half_life},
                 {"check_interval", gaussian.check_interval},
                 {"check_samples", gaussian.check_samples},
                 {"check_samples_rule", "min(check_samples, max(2, floor(budget / 20))): q* keeps the parameters of its best check, and checks of fewer samples keep lucky early ones"},
                 {"patience", "none: the budget is the stopping rule"},
                 {"budget_rule", "largest max_steps with samples_per_step * steps + check_samples * checks <= budget"}};
  j["local_flow"] = {{"initial", "encoder's Gaussian (identity flow)"},
                     {"samples_per_step", flow.samples},
                     {"learning_rate", flow.learning_rate},
                     {"layers", flow.flow.num_layers},
                     {"check_interval", flow.check_interval},
                     {"patience", "none: the budget is the stopping rule; keeps the parameters of its best windowed training ELBO"},
                     {"budget_rule", "max_steps = floor(budget / samples_per_step)"}};
  j["ais"] = {{"options", ais.to_json()},
              {"budget_rule", "largest T with (chains + pilot_chains) (1 + (T - 1) leapfrog_steps) <= budget; n/a when T < 2"}};
  j["importance_sampling"] = {{"proposal", "amortized q"}, {"samples", "= budget"}};
  j["distances"] = {
      {"grid", {{"nodes_per_axis", grid_nodes}, {"half_width_posterior_sd", grid_half_width}, {"center", "E[z|x]"}}},
      {"total_variation", "binned on tv_cells_per_bin^2 grid cells plus one outside bin; densities: exact cell masses; "
                          "HMC: histogram of its draws (compare with iid exact draws of the same number)"},
      {"tv_cells_per_bin", cells_per_bin},
      {"moments", "variational q: from vi_draws draws; HMC: from its draws; errors whitened by Cov[z|x]"},
      {"vi_draws", vi_draws},
      {"kl", "exact KL(q || p(z|x)) by quadrature (kl_divergence_by_quadrature)"}};
  return j;
}

namespace {


/// A number for JSON: null when it is NaN or infinite (JSON has neither).
nlohmann::ordered_json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json();
}

/// {"mean", "standard_error" (spread over datapoints, sd / sqrt(B); null for B = 1), ["per_datapoint"]}.
nlohmann::ordered_json summary_json(const VectorD& values, bool per_datapoint) {
  const MeanAndStandardError stats = mean_and_standard_error(values);
  nlohmann::ordered_json j;
  j["mean"] = number_or_null(stats.mean);
  j["standard_error"] = values.size() > 1 ? number_or_null(stats.standard_error) : nlohmann::ordered_json();
  if (!per_datapoint) return j;
  nlohmann::ordered_json per = nlohmann::ordered_json::array();
  for (Index b = 0; b < values.size(); ++b) per.push_back(number_or_null(values(b)));
  j["per_datapoint"] = std::move(per);
  return j;
}

/// Which method a budget row's random streams belong to: its substream is 16 · budget + method.
enum Method : std::uint64_t {
  amortized_q = 0, hmc_method = 1, diagonal_q = 2, full_q = 3, flow_q = 4, ais_prior_method = 5, ais_q_method = 6,
  is_q_method = 7
};

/// The truth for every datapoint, and what the methods are measured with.
struct Study {
  const GenerativeModel& model;
  const PosteriorApproximation& amortized;  ///< the amortized row, HMC's start, AIS's start and IS's proposal
  const DiagonalGaussian& q;                ///< the encoder's Gaussian: where q* and the local flow start
  const MatrixF& X;
  const HmcVsViOptions& options;
  const RandomStreams& streams;
  Index B = 0, G = 0;  ///< datapoints, grid nodes per datapoint
  ExactPosterior exact;
  std::vector<MatrixD> exact_covariance;
  std::vector<GridBins2d> bins;  ///< each datapoint's grid around E[z|x]
  MatrixD all_points;            ///< 2 x (B·G): the grids, datapoint after datapoint
  std::vector<VectorD> exact_mass;  ///< p(z_g|x_b) · cell area on datapoint b's grid
  MatrixD exact_draws;           ///< iid exact draws, max_hmc_draws per datapoint
  Index max_hmc_draws = 2;

  Study(const GenerativeModel& model_, const PosteriorApproximation& amortized_, const DiagonalGaussian& q_,
        const MatrixF& X_, const HmcVsViOptions& options_, const RandomStreams& streams_)
      : model(model_), amortized(amortized_), q(q_), X(X_), options(options_), streams(streams_), B(X_.cols()),
        G(options_.grid_nodes * options_.grid_nodes), exact(model_, X_), exact_covariance(exact.covariance()) {}

  RandomStreams row_streams(Index budget, Method method) const {
    return streams.with_substream(static_cast<std::uint64_t>(budget) * 16 + method);
  }
  double mean_per_datapoint(Index total) const { return static_cast<double>(total) / static_cast<double>(B); }
  const Estimate& exact_log_px() const { return exact.log_marginal_likelihood(); }
};

/// The grids and p(z|x)'s cell masses on them.
void place_grids(Study& s) {
  const HmcVsViOptions& o = s.options;
  s.bins.resize(static_cast<size_t>(s.B));
  s.all_points.resize(2, s.B * s.G);
  for (Index b = 0; b < s.B; ++b) {
    const VectorD m = s.exact.mean().col(b);
    const VectorD sd = s.exact_covariance[static_cast<size_t>(b)].diagonal().cwiseSqrt();
    GridBins2d& g = s.bins[static_cast<size_t>(b)];
    g.x = VectorD::LinSpaced(o.grid_nodes, m(0) - o.grid_half_width * sd(0), m(0) + o.grid_half_width * sd(0));
    g.y = VectorD::LinSpaced(o.grid_nodes, m(1) - o.grid_half_width * sd(1), m(1) + o.grid_half_width * sd(1));
    g.cells_per_bin = o.cells_per_bin;
    s.all_points.middleCols(b * s.G, s.G) = g.points();
  }
  s.exact_mass.resize(static_cast<size_t>(s.B));
  const VectorD log_joint = s.model.log_joint(s.X, s.all_points, s.G);
  for (Index b = 0; b < s.B; ++b)
    s.exact_mass[static_cast<size_t>(b)] = (log_joint.segment(b * s.G, s.G).array() - s.exact_log_px().per_datapoint(b)).exp() *
                                           s.bins[static_cast<size_t>(b)].cell_area();
}

/// Distances of an approximation with a density: cell masses on the grid, moments from draws, exact KL.
void measure_density(const Study& s, const PosteriorApproximation& approximation, HmcVsViPosteriorRow& r,
                     const RandomStreams& stream) {
  const Index B = s.B, G = s.G, draws_per = s.options.vi_draws;
  r.total_variation.resize(B);
  r.mean_error.resize(B);
  r.covariance_error.resize(B);
  const VectorD log_density = approximation.log_density(s.all_points, G);
  BatchRng draw_generators = stream.generators(StreamPurpose::approximation_draws);
  const MatrixD draws = approximation.sample(draws_per, draw_generators);
  for (Index b = 0; b < B; ++b) {
    const size_t bs = static_cast<size_t>(b);
    const VectorD mass = log_density.segment(b * G, G).array().exp() * s.bins[bs].cell_area();
    r.total_variation(b) = total_variation_of_masses(mass, s.bins[bs], s.exact_mass[bs]);
    VectorD mean;
    MatrixD covariance;
    sample_mean_and_covariance(draws.middleCols(b * draws_per, draws_per), mean, covariance);
    const MomentDiscrepancy m = moment_discrepancy(mean, covariance, s.exact.mean().col(b), s.exact_covariance[bs]);
    r.mean_error(b) = m.mean_error;
    r.covariance_error(b) = m.covariance_error;
  }
  const KlQuadratureOptions kl_options;
  r.kl_divergence = kl_divergence_by_quadrature(s.model, approximation, s.X, s.exact_log_px(), kl_options, stream).kl_divergence;
}

/// Independent exact draws for HMC's floor: as many per datapoint as the largest HMC run keeps.
void draw_exact(Study& s) {
  for (Index budget : s.options.budgets)
    if (const auto o = hmc_options_for_budget(s.options.hmc, budget, s.options.warmup_fraction))
      s.max_hmc_draws = std::max(s.max_hmc_draws, o->chains * o->draws);
  BatchRng exact_generators = s.streams.generators(StreamPurpose::exact_posterior_sampling);
  s.exact_draws = s.exact.sample(s.max_hmc_draws, exact_generators);
}

/// HMC's draws of every datapoint and as many iid exact draws, against the exact posterior.
void measure_hmc_draws(const Study& s, const HmcResult& chains, Index n, HmcVsViPosteriorRow& r) {
  const Index B = s.B;
  r.total_variation.resize(B), r.mean_error.resize(B), r.covariance_error.resize(B);
  r.iid_total_variation.resize(B), r.iid_mean_error.resize(B), r.iid_covariance_error.resize(B);
  for (Index b = 0; b < B; ++b) {
    const size_t bs = static_cast<size_t>(b);
    const MatrixD draws = chains.draws_of(b);
    const MatrixD iid = s.exact_draws.middleCols(b * s.max_hmc_draws, n);
    for (const auto& [sample, tv, me, ce] :
         {std::tuple{&draws, &r.total_variation, &r.mean_error, &r.covariance_error},
          std::tuple{&iid, &r.iid_total_variation, &r.iid_mean_error, &r.iid_covariance_error}}) {
      (*tv)(b) = total_variation_of_draws(*sample, s.bins[bs], s.exact_mass[bs]);
      VectorD mean;
      MatrixD covariance;
      sample_mean_and_covariance(*sample, mean, covariance);
      const MomentDiscrepancy m = moment_discrepancy(mean, covariance, s.exact.mean().col(b), s.exact_covariance[bs]);
      (*me)(b) = m.mean_error;
      (*ce)(b) = m.covariance_error;
    }
  }
}

HmcVsViPosteriorRow hmc_row(const Study& s, Index budget) {
  HmcVsViPosteriorRow r;
  r.budget = budget;
  const RandomStreams stream = s.row_streams(budget, hmc_method);
  std::optional<HmcOptions> options = hmc_options_for_budget(s.options.hmc, budget, s.options.warmup_fraction);
  r.feasible = options.has_value();
  if (!r.feasible) return r;
  BatchRng initial_generators = stream.generators(StreamPurpose::approximation_draws);
  options->initial_latents = s.options.hmc_init == HmcStart::encoder
                                 ? s.amortized.sample(options->chains, initial_generators)
                                 : standard_normal_matrix(2, s.B * options->chains, initial_generators);
  const HmcResult chains = hmc_sample_posterior(s.model, s.X, *options, stream);
  r.decoder_evaluations = s.mean_per_datapoint(chains.gradient_evaluations);
  r.tallies.datapoints = s.B;
  r.tallies.decoder_evaluations_total = chains.gradient_evaluations;
  const Index n = options->chains * options->draws;
  measure_hmc_draws(s, chains, n, r);
  const double max_r_hat = chains.diagnostics.r_hat.size() > 0 ? chains.diagnostics.r_hat.maxCoeff() : NAN;
  // Per datapoint, the smaller bulk ESS of its two coordinates: how many independent draws
  // HMC's n are worth (the TV of n correlated draws is about that of ESS independent ones).
  nlohmann::ordered_json min_ess = nlohmann::ordered_json::array();
  r.tallies.effective_sample_size.resize(s.B);
  for (Index b = 0; b < s.B; ++b) {
    r.tallies.effective_sample_size(b) = chains.diagnostics.bulk_ess.col(b).minCoeff();
    min_ess.push_back(number_or_null(r.tallies.effective_sample_size(b)));
  }
  r.tallies.acceptance_rate = chains.acceptance_rate;
  r.tallies.divergences = chains.divergences;
  r.tallies.max_r_hat = max_r_hat;
  r.details = {{"warmup", options->warmup},
               {"draws_per_chain", options->draws},
               {"draws_per_datapoint", n},
               {"mean_acceptance_rate", chains.acceptance_rate.mean()},
               {"divergences", chains.divergences},
               {"max_r_hat", number_or_null(max_r_hat)},
               {"min_bulk_effective_sample_size_per_datapoint", min_ess}};
  return r;
}

/// A local Gaussian q* (diagonal or full covariance), started from the encoder's q.
HmcVsViPosteriorRow local_gaussian_row(const Study& s, Index budget, PosteriorFamily family) {
  HmcVsViPosteriorRow r;
  r.budget = budget;
  const RandomStreams stream = s.row_streams(budget, family == PosteriorFamily::ffg ? diagonal_q : full_q);
  LocalOptimizationOptions base = s.options.gaussian;  // its family is set by fit_local_posterior
  // Checks take about 10% of a small budget, at most check_samples (their noise decides which
  // parameters are kept: see the configuration's q_star.check_samples_rule).
  base.check_samples = std::clamp<Index>(budget / 20, 2, s.options.gaussian.check_samples);
  const std::optional<LocalOptimizationOptions> options = local_gaussian_options_for_budget(base, budget);
  r.feasible = options.has_value();
  if (!r.feasible) return r;
  const LocalPosteriorFitResult fit = fit_local_posterior(s.model, s.X, family, s.q, {*options, s.options.flow}, stream);
  r.decoder_evaluations = s.mean_per_datapoint(fit.total_decoder_evaluations());  // no selection at equal budgets
  r.tallies.datapoints = s.B;
  r.tallies.decoder_evaluations_total = fit.total_decoder_evaluations();
  measure_density(s, fit.approximation(), r, stream);
  Index stopped = 0;
  for (bool stopped_by_rule : fit.stopped_by_rule) stopped += stopped_by_rule;
  // The largest check noise: q* keeps its best check (check 0 is the start), each on fresh draws.
  double max_check_se = 0.0;
  for (Index b = 0; b < fit.final_objective_standard_error.size(); ++b)
    if (std::isfinite(fit.final_objective_standard_error(b)))
      max_check_se = std::max(max_check_se, fit.final_objective_standard_error(b));
  r.tallies.steps = fit.steps;
  r.tallies.stopped_by_patience = stopped;
  r.tallies.max_check_standard_error = max_check_se;
  r.details = {{"max_steps", options->max_steps},
               {"steps", fit.steps},
               {"stopped_by_patience", stopped},
               {"max_check_standard_error", max_check_se}};
  return r;
}

/// The local flow, started from the encoder's q with identity flows.
HmcVsViPosteriorRow local_flow_row(const Study& s, Index budget) {
  HmcVsViPosteriorRow r;
  r.budget = budget;
  const RandomStreams stream = s.row_streams(budget, flow_q);
  const std::optional<LocalFlowOptions> options = local_flow_options_for_budget(s.options.flow, budget);
  r.feasible = options.has_value();
  if (!r.feasible) return r;
  const LocalPosteriorFitResult fit =
      fit_local_posterior(s.model, s.X, PosteriorFamily::flow, s.q, {s.options.gaussian, *options}, stream);
  r.decoder_evaluations = s.mean_per_datapoint(fit.total_decoder_evaluations());  // = steps · S: no selection
  r.tallies.datapoints = s.B;
  r.tallies.decoder_evaluations_total = fit.total_decoder_evaluations();
  r.tallies.steps = fit.steps;
  r.tallies.all_stopped_by_patience = fit.all_stopped_by_rule;
  measure_density(s, fit.approximation(), r, stream);
  r.details = {{"max_steps", options->max_steps},
               {"steps", fit.steps},
               {"all_stopped_by_patience", fit.all_stopped_by_rule}};
  return r;
}

/// r's error of `estimate` against quadrature.
void log_marginal_errors(const Study& s, const Estimate& estimate, HmcVsViLogMarginalRow& r) {
  r.error = estimate;
  r.error.estimator = estimate.estimator + " minus quadrature";
  r.error.per_datapoint = estimate.per_datapoint - s.exact_log_px().per_datapoint;
  r.error.summarize();
  r.mean_absolute_error = r.error.per_datapoint.cwiseAbs().mean();
}

/// AIS from the prior or from the amortized q (through its flow when it has one: AIS uses its ∇_z log q).
HmcVsViLogMarginalRow ais_row(const Study& s, Index budget, bool from_q) {
  HmcVsViLogMarginalRow r;
  r.budget = budget;
  const RandomStreams stream = s.row_streams(budget, from_q ? ais_q_method : ais_prior_method);
  const std::optional<AisOptions> options = ais_options_for_budget(s.options.ais, budget);
  r.feasible = options.has_value();
  if (!r.feasible) return r;
  const AnnealedImportanceSamplingResult result = from_q ? annealed_importance_sampling(s.model, s.amortized, s.X, *options, stream)
                                                         : annealed_importance_sampling(s.model, s.X, *options, stream);
  r.decoder_evaluations = s.mean_per_datapoint(result.gradient_evaluations);
  log_marginal_errors(s, result.estimate, r);
  r.tallies.datapoints = s.B;
  r.tallies.decoder_evaluations_total = result.gradient_evaluations;
  r.tallies.acceptance_rate = result.acceptance_rate;
  r.settings = {{"annealing_steps", options->num_annealing_steps},
                {"chains", options->chains},
                {"pilot_chains", options->pilot_chains},
                {"leapfrog_steps", options->leapfrog_steps},
                {"mean_acceptance_rate", result.acceptance_rate.mean()}};
  return r;
}

/// Importance sampling from the amortized q with `budget` samples.
HmcVsViLogMarginalRow importance_sampling_row(const Study& s, Index budget) {
  HmcVsViLogMarginalRow r;
  r.budget = budget;
  const RandomStreams stream = s.row_streams(budget, is_q_method);
  r.feasible = budget >= 2;  // a standard error needs two weights
  if (!r.feasible) return r;
  ImportanceSamplingOptions options;
  options.samples = budget;
  const ImportanceSamplingResult result = estimate_log_marginal_likelihood_by_importance_sampling(s.model, s.amortized, s.X, options, stream);
  r.decoder_evaluations = static_cast<double>(budget);
  log_marginal_errors(s, result.log_marginal_likelihood, r);
  r.tallies.datapoints = s.B;
  r.tallies.decoder_evaluations_total = budget * s.B;
  r.tallies.effective_sample_size = result.effective_sample_size;
  r.settings = {{"samples", budget}, {"mean_effective_sample_size", result.effective_sample_size.mean()}};
  return r;
}

/// Adds the time since `start` to `total` and restarts `start`.
void add_seconds(double& total, std::chrono::steady_clock::time_point& start) {
  total += seconds_since(start);
  start = std::chrono::steady_clock::now();
}

/// Every method's row of one budget.
void run_budget(const Study& s, Index budget, const ProgressReporter& progress, HmcVsVi& result) {
  const std::string prefix = "budget " + std::to_string(budget) + ": ";
  if (progress.enabled()) progress.update(prefix + "HMC");
  auto start = std::chrono::steady_clock::now();
  result.hmc.push_back(hmc_row(s, budget));
  add_seconds(result.hmc_seconds, start);
  if (progress.enabled()) progress.update(prefix + "q* diagonal");
  result.q_star_diagonal.push_back(local_gaussian_row(s, budget, PosteriorFamily::ffg));
  add_seconds(result.q_star_diagonal_seconds, start);
  if (progress.enabled()) progress.update(prefix + "q* full covariance");
  result.q_star_full_covariance.push_back(local_gaussian_row(s, budget, PosteriorFamily::full));
  add_seconds(result.q_star_full_covariance_seconds, start);
  if (progress.enabled()) progress.update(prefix + "local flow");
  result.local_flow.push_back(local_flow_row(s, budget));
  add_seconds(result.local_flow_seconds, start);
  if (progress.enabled()) progress.update(prefix + "AIS and importance sampling");
  result.ais_from_prior.push_back(ais_row(s, budget, false));
  add_seconds(result.ais_prior_seconds, start);
  result.ais_from_encoder_q.push_back(ais_row(s, budget, true));
  add_seconds(result.ais_encoder_seconds, start);
  result.importance_sampling_from_encoder_q.push_back(importance_sampling_row(s, budget));
  add_seconds(result.importance_sampling_seconds, start);
  if (progress.enabled()) progress.line("budget " + std::to_string(budget) + " done");
}

}  // namespace

HmcVsVi compute_hmc_vs_vi(const GenerativeModel& model, const DiagonalGaussian& encoder_q, const MatrixF& X,
                          const HmcVsViOptions& options, const RandomStreams& streams,
                          const ProgressReporter& progress) {
  return compute_hmc_vs_vi(model, encoder_q, encoder_q, X, options, streams, progress);
}

HmcVsVi compute_hmc_vs_vi(const GenerativeModel& model, const PosteriorApproximation& amortized_q,
                          const DiagonalGaussian& encoder_q, const MatrixF& X, const HmcVsViOptions& options,
                          const RandomStreams& streams, const ProgressReporter& progress) {
  options.validate();
  if (model.latent_dim() != 2)
    throw std::invalid_argument("compute_hmc_vs_vi needs latent dimension 2 (exact posteriors on a grid), found " +
                                std::to_string(model.latent_dim()));
  const Index count = X.cols();
  if (count < 1) throw std::invalid_argument("compute_hmc_vs_vi: no datapoints");
  if (X.rows() != model.data_dim())
    throw std::invalid_argument("compute_hmc_vs_vi: data have dimension " + std::to_string(X.rows()) +
                                ", the model expects " + std::to_string(model.data_dim()));
  if (encoder_q.num_datapoints() != count || encoder_q.latent_dim() != 2)
    throw std::invalid_argument("compute_hmc_vs_vi: the encoder's q covers " + std::to_string(encoder_q.num_datapoints()) +
                                " datapoints of dimension " + std::to_string(encoder_q.latent_dim()) + ", expected " +
                                std::to_string(count) + " of dimension 2");
  if (amortized_q.num_datapoints() != count || amortized_q.latent_dim() != 2)
    throw std::invalid_argument("compute_hmc_vs_vi: the amortized q covers " + std::to_string(amortized_q.num_datapoints()) +
                                " datapoints of dimension " + std::to_string(amortized_q.latent_dim()) + ", expected " +
                                std::to_string(count) + " of dimension 2");
  streams.check_size(count, "compute_hmc_vs_vi");
  const auto total_start = std::chrono::steady_clock::now();

  HmcVsVi result;
  result.budgets = options.budgets;
  result.amortized_approximation = amortized_q.describe();
  result.encoder_gaussian = encoder_q.describe();
  result.hmc_init = options.hmc_init;
  // The truth: log p(x), E[z|x], Cov[z|x] by quadrature, and p(z|x) on each datapoint's grid.
  auto start = std::chrono::steady_clock::now();
  Study study(model, amortized_q, encoder_q, X, options, streams);
  place_grids(study);
  result.exact_log_px = study.exact_log_px();
  result.exact_unconverged = study.exact.quadrature().unconverged;
  result.exact_coarse_nodes = study.exact.quadrature().coarse_nodes;
  result.exact_refinement_nodes = study.exact.quadrature().refinement_nodes;
  result.exact_seconds = seconds_since(start);

  // The amortized q: no decoder evaluations.
  start = std::chrono::steady_clock::now();
  measure_density(study, amortized_q, result.amortized, study.row_streams(0, Method::amortized_q));
  result.amortized_seconds = seconds_since(start);

  draw_exact(study);
  for (Index budget : options.budgets) run_budget(study, budget, progress, result);
  progress.finish();
  result.seconds = seconds_since(total_start);
  return result;
}

nlohmann::ordered_json HmcVsViPosteriorRow::to_json(bool per_datapoint) const {
  nlohmann::ordered_json j;
  j["budget"] = budget ? nlohmann::ordered_json(*budget) : nlohmann::ordered_json();
  j["feasible"] = feasible;
  if (!feasible) return j;
  j["decoder_evaluations_per_datapoint"] = decoder_evaluations;
  j["total_variation"] = summary_json(total_variation, per_datapoint);
  j["mean_error_in_posterior_sd"] = summary_json(mean_error, per_datapoint);
  j["covariance_error_whitened_frobenius"] = summary_json(covariance_error, per_datapoint);
  if (kl_divergence) j["kl_divergence_to_posterior"] = vigap::to_json(*kl_divergence, per_datapoint);
  if (iid_total_variation.size() > 0) {
    j["iid_exact_draws_total_variation"] = summary_json(iid_total_variation, per_datapoint);
    j["iid_exact_draws_mean_error_in_posterior_sd"] = summary_json(iid_mean_error, per_datapoint);
    j["iid_exact_draws_covariance_error_whitened_frobenius"] = summary_json(iid_covariance_error, per_datapoint);
  }
  j["details"] = details;
  return j;
}

nlohmann::ordered_json HmcVsViLogMarginalRow::to_json(bool per_datapoint) const {
  nlohmann::ordered_json j;
  j["budget"] = budget;
  j["feasible"] = feasible;
  if (!feasible) return j;
  j["decoder_evaluations_per_datapoint"] = decoder_evaluations;
  j["error"] = vigap::to_json(error, per_datapoint);
  j["mean_absolute_error"] = mean_absolute_error;
  j["settings"] = settings;
  return j;
}

nlohmann::ordered_json HmcVsVi::results_json(bool per_datapoint) const {
  const auto rows_json = [per_datapoint](const auto& rows) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (const auto& r : rows) a.push_back(r.to_json(per_datapoint));
    return a;
  };
  nlohmann::ordered_json results;
  results["exact_log_marginal_likelihood"] = vigap::to_json(exact_log_px, per_datapoint);
  results["exact_unconverged_datapoints"] = exact_unconverged;
  nlohmann::ordered_json& posterior = results["posterior"];
  posterior["amortized_q"] = amortized.to_json(per_datapoint);
  posterior["hmc"] = rows_json(hmc);
  posterior["q_star_diagonal"] = rows_json(q_star_diagonal);
  posterior["q_star_full_covariance"] = rows_json(q_star_full_covariance);
  posterior["local_flow"] = rows_json(local_flow);
  nlohmann::ordered_json& log_px = results["log_marginal_likelihood"];
  log_px["ais_from_prior"] = rows_json(ais_from_prior);
  log_px["ais_from_encoder_q"] = rows_json(ais_from_encoder_q);
  log_px["importance_sampling_from_encoder_q"] = rows_json(importance_sampling_from_encoder_q);
  return results;
}

nlohmann::ordered_json HmcVsVi::starts_json() const {
  nlohmann::ordered_json j;
  j["amortized_q"] = amortized_approximation;
  j["hmc"] = hmc_init == HmcStart::encoder ? "draws of the amortized q: " + amortized_approximation
                                           : std::string("draws of the prior N(0, I)");
  const std::string q_star_start = "the encoder's Gaussian (q* is a Gaussian family): " + encoder_gaussian;
  j["q_star_diagonal"] = q_star_start;
  j["q_star_full_covariance"] = q_star_start;
  j["local_flow"] = "the encoder's Gaussian with identity flows: " + encoder_gaussian;
  j["ais_from_prior"] = "the prior N(0, I)";
  j["ais_from_encoder_q"] = "the amortized q: " + amortized_approximation;
  j["importance_sampling_from_encoder_q"] = "proposal the amortized q: " + amortized_approximation;
  return j;
}

nlohmann::ordered_json HmcVsVi::timings_json() const {
  nlohmann::ordered_json t;
  t["exact_seconds"] = exact_seconds;
  t["amortized_seconds"] = amortized_seconds;
  t["hmc_seconds"] = hmc_seconds;
  t["q_star_diagonal_seconds"] = q_star_diagonal_seconds;
  t["q_star_full_covariance_seconds"] = q_star_full_covariance_seconds;
  t["local_flow_seconds"] = local_flow_seconds;
  t["ais_prior_seconds"] = ais_prior_seconds;
  t["ais_encoder_seconds"] = ais_encoder_seconds;
  t["importance_sampling_seconds"] = importance_sampling_seconds;
  t["total_seconds"] = seconds;
  return t;
}

namespace {

/// "0.123 ± 0.004" (mean ± standard error over datapoints), or "n/a".
std::string cell(const VectorD& values, bool feasible, const char* pattern = "%.3f") {
  if (!feasible || values.size() == 0) return "n/a";
  const MeanAndStandardError s = mean_and_standard_error(values);
  char mean[32], se[32];
  std::snprintf(mean, sizeof mean, pattern, s.mean);
  std::snprintf(se, sizeof se, pattern, s.standard_error);
  return std::string(mean) + " ± " + se;
}

/// "+0.123 ± 0.004 (|err| 0.130)", or "n/a".
std::string error_cell(const HmcVsViLogMarginalRow& r) {
  if (!r.feasible) return "n/a";
  char text[96];
  std::snprintf(text, sizeof text, "%+.3f ± %.3f (|err| %.3f)", r.error.value, r.error.monte_carlo_standard_error,
                r.mean_absolute_error);
  return text;
}

std::string titled_table(const std::string& title, const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  return "\n" + title + "\n\n" + markdown_table(header, rows);
}

using Statistic = std::function<VectorD(const HmcVsViPosteriorRow&)>;

/// A posterior distance per budget for HMC (and its iid floor) and the variational families.
std::string posterior_table(const HmcVsVi& r, const std::string& title, const Statistic& get, const Statistic& get_iid) {
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < r.budgets.size(); ++i)
    rows.push_back({std::to_string(r.budgets[i]), cell(get(r.hmc[i]), r.hmc[i].feasible),
                    cell(get_iid(r.hmc[i]), r.hmc[i].feasible), cell(get(r.q_star_diagonal[i]), r.q_star_diagonal[i].feasible),
                    cell(get(r.q_star_full_covariance[i]), r.q_star_full_covariance[i].feasible),
                    cell(get(r.local_flow[i]), r.local_flow[i].feasible)});
  return titled_table(title, {"budget", "HMC", "iid exact, same n", "q* diagonal", "q* full cov.", "local flow"}, rows) +
         "amortized q (encoder, 0 decoder evaluations): " + cell(get(r.amortized), true) + "\n";
}

}  // namespace

std::string HmcVsVi::to_markdown() const {
  char line[256];
  std::snprintf(line, sizeof line, "exact log p(x) (quadrature): %.3f ± %.3f (data s.e.); %lld datapoints unconverged\n",
                exact_log_px.value, exact_log_px.dataset_standard_error, static_cast<long long>(exact_unconverged));
  std::string out = line;
  out += "q = the amortized q, " + amortized_approximation + ": its own row, " +
         (hmc_init == HmcStart::encoder ? "HMC's starts, " : "") + "AIS from q and IS from q; q* (a Gaussian family) and "
         "the local flow start from the encoder's Gaussian, " + encoder_gaussian + "\n";
  out += posterior_table(*this, "Binned total variation to p(z|x) (mean ± s.e. over datapoints)",
                         [](const HmcVsViPosteriorRow& r) { return r.total_variation; },
                         [](const HmcVsViPosteriorRow& r) { return r.iid_total_variation; });
  out += posterior_table(*this, "Posterior mean error ‖L⁻¹(m - E[z|x])‖ in posterior standard deviations",
                         [](const HmcVsViPosteriorRow& r) { return r.mean_error; },
                         [](const HmcVsViPosteriorRow& r) { return r.iid_mean_error; });
  const auto kl = [](const HmcVsViPosteriorRow& r) {
    return r.feasible && r.kl_divergence ? r.kl_divergence->per_datapoint : VectorD();
  };
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < budgets.size(); ++i)
    rows.push_back({std::to_string(budgets[i]), cell(kl(q_star_diagonal[i]), q_star_diagonal[i].feasible, "%.4f"),
                    cell(kl(q_star_full_covariance[i]), q_star_full_covariance[i].feasible, "%.4f"),
                    cell(kl(local_flow[i]), local_flow[i].feasible, "%.4f")});
  out += titled_table("Exact KL(q‖p(z|x)) in nats (quadrature)", {"budget", "q* diagonal", "q* full cov.", "local flow"}, rows);
  out += "amortized q (encoder, 0 decoder evaluations): " + cell(kl(amortized), true, "%.4f") + "\n";
  rows.clear();
  for (size_t i = 0; i < budgets.size(); ++i)
    rows.push_back({std::to_string(budgets[i]), error_cell(ais_from_prior[i]), error_cell(ais_from_encoder_q[i]),
                    error_cell(importance_sampling_from_encoder_q[i])});
  out += titled_table("log p̂(x) - log p(x) in nats: mean ± Monte Carlo s.e. (mean |error|)",
                      {"budget", "AIS from prior", "AIS from q", "IS from q"}, rows);
  out += "\nbudget = decoder evaluations per datapoint allowed; n/a: the budget buys no draw / step / transition.\n";
  return out;
}

}  // namespace vigap
