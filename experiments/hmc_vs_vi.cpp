// vigap-hmc-vs-vi: is HMC worth its cost against variational families? For test points of a VAE
// with a 2-D latent space, every method gets the same budget of decoder evaluations per datapoint
// (a list of budgets, by default 1e2 ... 1e5) and is measured against the exact posterior p(z|x) and the
// exact log p(x), both by quadrature:
//   posterior: HMC (chains started from the amortized q), the locally optimized diagonal and
//     full-covariance Gaussians q*, the local affine-coupling flow (all started from the encoder's
//     Gaussian), and the amortized q itself (0 decoder evaluations); distances: binned total variation on
//     a grid around p(z|x) (HMC: histogram of its draws, next to the same statistic for as many
//     independent exact draws), the posterior mean and covariance errors in posterior standard
//     deviations, and for the variational families the exact KL(q‖p(z|x)) by quadrature;
//   log p(x): AIS from the prior, AIS from the amortized q, and importance sampling from it with
//     the same budget; error against quadrature, with standard errors.
// The study is compute_hmc_vs_vi (analyses/hmc_vs_vi.hpp). Markdown tables on stdout, JSON result,
// an SVG picture of every quantity against the budget.
// Under `mpirun -np N` the datapoints are handed out in blocks (--block-size, analyses/hmc_vs_vi_block)
// to every rank and rank 0 writes the one JSON and picture, with the same `results`; each finished
// block is journaled in <out>.journal, and --resume after a crash computes only the blocks missing there.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "analyses/hmc_vs_vi.hpp"
#include "analyses/hmc_vs_vi_block.hpp"
#include "analyses/run_cost.hpp"
#include "analyses/run_cost_forecast.hpp"
#include "core/data/dataset.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"
#include "core/io/model_loader.hpp"
#include "distributed/datapoint_block_run.hpp"
#include "distributed/mpi_session.hpp"
#include "core/progress_reporter.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/dataset_options.hpp"
#include "experiments/support/evaluation_data.hpp"
#include "experiments/support/picture_and_result.hpp"
#include "experiments/support/svg_plot.hpp"
#include "distributed/seed_replicates.hpp"

namespace po = boost::program_options;
using namespace vigap;

namespace {

// ---------------------------------------------------------------------------------------------
// The picture: quantities against decoder evaluations per datapoint (log axis).

struct Series {
  std::string label, color, dash;
  std::vector<std::pair<double, double>> points;  ///< (evaluations, value); value > 0 on a log y axis
  std::optional<double> flat;                     ///< a horizontal line (the amortized q)
};

std::string compact_count(double v) {
  char buffer[32];
  if (v >= 1e6) std::snprintf(buffer, sizeof buffer, "%gM", v / 1e6);
  else if (v >= 1e3) std::snprintf(buffer, sizeof buffer, "%gk", v / 1e3);
  else std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

/// One panel: log10 x axis from x_min to x_max, y linear from 0 or log10, the series as lines
/// with dots; the frame's coordinates are log10 of the data on the log axes.
void draw_panel(svg::Document& doc, double left, double top, double width, double height, const std::string& title,
                const std::string& y_label, const std::vector<Series>& series, bool log_y, double x_min, double x_max) {
  svg::Frame frame;
  frame.left = left + 62;
  frame.top = top + 30;
  frame.width = width - 80;
  frame.height = height - 80;
  frame.x_min = std::log10(x_min);
  frame.x_max = std::log10(x_max);
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const Series& s : series) {
    for (const auto& [x, y] : s.points)
      if (std::isfinite(y) && (!log_y || y > 0)) lo = std::min(lo, y), hi = std::max(hi, y);
    if (s.flat && std::isfinite(*s.flat) && (!log_y || *s.flat > 0)) lo = std::min(lo, *s.flat), hi = std::max(hi, *s.flat);
  }
  if (!std::isfinite(lo)) lo = log_y ? 1e-3 : 0.0, hi = 1.0;
  if (log_y) {
    frame.y_min = std::floor(std::log10(lo));
    frame.y_max = std::max(frame.y_min + 1, std::ceil(std::log10(hi)));
  } else {
    frame.y_min = std::min(0.0, lo);
    frame.y_max = hi > frame.y_min ? hi * 1.05 : frame.y_min + 1;
  }
  const auto to_y = [&](double y) { return log_y ? std::log10(std::max(y, std::pow(10.0, frame.y_min))) : y; };

  doc.text(left + width / 2, top + 16, title, 13, "middle", 0.0, "#000000", "bold");
  doc.rect(frame.left, frame.top, frame.width, frame.height, "#ffffff", "#444444", 1.0);
  // x ticks at powers of 10 (and 3x between them when the range is short).
  for (double k = std::ceil(frame.x_min - 1e-9); k <= frame.x_max + 1e-9; k += 1.0) {
    const double px = frame.px(k);
    doc.line(px, frame.top, px, frame.top + frame.height, "#dddddd", 1.0);
    doc.text(px, frame.top + frame.height + 16, compact_count(std::pow(10.0, k)), 11, "middle");
  }
  doc.text(frame.left + frame.width / 2, frame.top + frame.height + 34, "decoder evaluations per datapoint (log scale)",
           11, "middle");
  if (log_y) {
    for (double k = frame.y_min; k <= frame.y_max + 1e-9; k += 1.0) {
      const double py = frame.py(k);
      doc.line(frame.left, py, frame.left + frame.width, py, "#dddddd", 1.0);
      char label[32];
      std::snprintf(label, sizeof label, "%g", std::pow(10.0, k));
      doc.text(frame.left - 6, py + 4, label, 11, "end");
    }
  } else {
    const std::vector<double> ticks = svg::nice_ticks(frame.y_min, frame.y_max, 5);
    const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
    for (double t : ticks) {
      const double py = frame.py(t);
      doc.line(frame.left, py, frame.left + frame.width, py, "#dddddd", 1.0);
      doc.text(frame.left - 6, py + 4, svg::format_tick(t, step), 11, "end");
    }
  }
  doc.text(left + 14, frame.top + frame.height / 2, y_label, 11, "middle", -90.0);
  doc.begin_clip(frame.left, frame.top, frame.width, frame.height);
  for (const Series& s : series) {
    if (s.flat) {
      const double py = frame.py(to_y(*s.flat));
      doc.line(frame.left, py, frame.left + frame.width, py, s.color, 2.0, s.dash);
      continue;
    }
    std::vector<std::pair<double, double>> pixels;
    for (const auto& [x, y] : s.points)
      if (x > 0 && std::isfinite(y)) pixels.emplace_back(frame.px(std::log10(x)), frame.py(to_y(y)));
    if (pixels.size() > 1) doc.polyline(pixels, s.color, 2.0, false, s.dash);
    for (const auto& [px, py] : pixels) doc.circle(px, py, 3.0, s.color);
  }
  doc.end_clip();
}

// Colors of the methods.
const std::string kHmc = "#d62728", kQStarDiagonal = "#1f77b4", kQStarFull = "#17becf", kFlow = "#9467bd",
                  kAmortized = "#ff7f0e", kAisPrior = "#2ca02c", kAisQ = "#8c564b", kIsQ = "#e377c2";


/// The picture: four panels against the decoder evaluations actually spent.
std::string picture_svg(const HmcVsVi& result, const std::string& title) {
  const std::vector<Index>& budgets = result.budgets;
  const double x_min = std::pow(10.0, std::floor(std::log10(static_cast<double>(budgets.front())))) / 1.5;
  const double x_max = static_cast<double>(budgets.back()) * 1.6;
  using Value = std::function<double(const HmcVsViPosteriorRow&)>;
  const auto curve = [](const std::vector<HmcVsViPosteriorRow>& rows, const Value& value) {
    std::vector<std::pair<double, double>> points;
    for (const auto& r : rows)
      if (r.feasible) points.emplace_back(r.decoder_evaluations, value(r));
    return points;
  };
  const auto mean_of = [](const VectorD& v) { return v.size() ? v.mean() : NAN; };
  const auto tv = [&](const HmcVsViPosteriorRow& r) { return mean_of(r.total_variation); };
  const auto iid_tv = [&](const HmcVsViPosteriorRow& r) { return mean_of(r.iid_total_variation); };
  const auto me = [&](const HmcVsViPosteriorRow& r) { return mean_of(r.mean_error); };
  const auto iid_me = [&](const HmcVsViPosteriorRow& r) { return mean_of(r.iid_mean_error); };
  const auto kl = [&](const HmcVsViPosteriorRow& r) { return r.kl_divergence ? r.kl_divergence->value : NAN; };
  const auto vi_series = [&](const Value& value) {
    return std::vector<Series>{{"q* diagonal", kQStarDiagonal, "", curve(result.q_star_diagonal, value), std::nullopt},
                               {"q* full covariance", kQStarFull, "", curve(result.q_star_full_covariance, value), std::nullopt},
                               {"local flow", kFlow, "", curve(result.local_flow, value), std::nullopt},
                               {"amortized q (0 evaluations)", kAmortized, "7,4", {}, value(result.amortized)}};
  };
  std::vector<Series> tv_series = vi_series(tv), me_series = vi_series(me), kl_series = vi_series(kl);
  tv_series.push_back({"HMC", kHmc, "", curve(result.hmc, tv), std::nullopt});
  tv_series.push_back({"iid exact draws, HMC's n", kHmc, "3,3", curve(result.hmc, iid_tv), std::nullopt});
  me_series.push_back({"HMC", kHmc, "", curve(result.hmc, me), std::nullopt});
  me_series.push_back({"iid exact draws, HMC's n", kHmc, "3,3", curve(result.hmc, iid_me), std::nullopt});
  std::vector<Series> lp_series;
  for (const auto& [rows, label, color] : {std::tuple{&result.ais_from_prior, "AIS from prior", kAisPrior},
                                           std::tuple{&result.ais_from_encoder_q, "AIS from q", kAisQ},
                                           std::tuple{&result.importance_sampling_from_encoder_q, "IS from q", kIsQ}}) {
    Series s{label, color, "", {}, std::nullopt};
    for (const auto& r : *rows)
      if (r.feasible) s.points.emplace_back(r.decoder_evaluations, r.mean_absolute_error);
    lp_series.push_back(std::move(s));
  }
  const double panel_w = 520, panel_h = 360, header = 96;
  svg::Document doc(2 * panel_w + 20, header + 2 * panel_h + 10);
  doc.text(14, 24, title, 15, "start", 0.0, "#000000", "bold");
  const std::vector<std::tuple<std::string, std::string, std::string>> legend{
      {kHmc, "", "HMC"},
      {kHmc, "3,3", "iid exact draws (HMC's n)"},
      {kQStarDiagonal, "", "q* diagonal"},
      {kQStarFull, "", "q* full covariance"},
      {kFlow, "", "local flow"},
      {kAmortized, "7,4", "amortized q (0 evaluations)"},
      {kAisPrior, "", "AIS from prior"},
      {kAisQ, "", "AIS from q"},
      {kIsQ, "", "IS from q"}};
  for (size_t i = 0; i < legend.size(); ++i) {
    const auto& [color, dash, label] = legend[i];
    svg::draw_legend_entry(doc, 14 + static_cast<double>(i % 5) * 210, 50 + static_cast<double>(i / 5) * 22, color, dash, label);
  }
  draw_panel(doc, 10, header, panel_w, panel_h, "binned total variation to p(z|x)", "TV (mean over datapoints)", tv_series,
             false, x_min, x_max);
  draw_panel(doc, 10 + panel_w, header, panel_w, panel_h, "posterior mean error", "‖L⁻¹(m - E[z|x])‖ (posterior sd)",
             me_series, true, x_min, x_max);
  draw_panel(doc, 10, header + panel_h, panel_w, panel_h, "exact KL(q ‖ p(z|x)), variational families", "nats", kl_series,
             true, x_min, x_max);
  draw_panel(doc, 10 + panel_w, header + panel_h, panel_w, panel_h, "log p(x) estimates vs quadrature",
             "mean |log p̂(x) - log p(x)| (nats)", lp_series, true, x_min, x_max);
  return doc.str();
}

/// The command-line options of the study, bound to `o` (and --budgets, --hmc-init to the strings).
void add_study_options(po::options_description& d, HmcVsViOptions& o, std::string& budgets_text, std::string& hmc_init) {
  d.add_options()
      ("budgets", po::value(&budgets_text)->default_value(budgets_text),
       "decoder evaluations per datapoint, increasing, comma-separated")
      ("hmc-chains", po::value(&o.hmc.chains)->default_value(o.hmc.chains), "HMC chains per datapoint (>= 2)")
      ("hmc-leapfrog-steps", po::value(&o.hmc.leapfrog_steps)->default_value(o.hmc.leapfrog_steps),
       "leapfrog steps per HMC transition")
      ("hmc-warmup-fraction", po::value(&o.warmup_fraction)->default_value(o.warmup_fraction),
       "share of HMC's iterations spent on warm-up (discarded), in [0, 1)")
      ("hmc-init", po::value(&hmc_init)->default_value(hmc_init), "HMC chains start at draws of: encoder or prior")
      ("vi-samples", po::value(&o.gaussian.samples_per_step)->default_value(o.gaussian.samples_per_step),
       "reparameterized samples per step of q* and of the local flow")
      ("qstar-learning-rate", po::value(&o.gaussian.learning_rate)->default_value(o.gaussian.learning_rate),
       "Adam's initial learning rate for q*")
      ("qstar-check-samples", po::value(&o.gaussian.check_samples)->default_value(o.gaussian.check_samples),
       "most samples of each q* check (counted in its budget; budget / 20 below that)")
      ("flow-learning-rate", po::value(&o.flow.learning_rate)->default_value(o.flow.learning_rate),
       "Adam's learning rate for the local flow")
      ("flow-layers", po::value(&o.flow.flow.num_layers)->default_value(o.flow.flow.num_layers),
       "coupling layers of the local flow")
      ("ais-chains", po::value(&o.ais.chains)->default_value(o.ais.chains), "AIS chains (weights) per datapoint")
      ("ais-leapfrog-steps", po::value(&o.ais.leapfrog_steps)->default_value(o.ais.leapfrog_steps),
       "leapfrog steps per AIS transition")
      ("grid-nodes", po::value(&o.grid_nodes)->default_value(o.grid_nodes),
       "nodes per axis of the total-variation grid (>= 11)")
      ("grid-half-width", po::value(&o.grid_half_width)->default_value(o.grid_half_width),
       "half-width of that grid in exact posterior standard deviations per axis (>= 2)")
      ("tv-cells-per-bin", po::value(&o.cells_per_bin)->default_value(o.cells_per_bin),
       "grid cells per histogram bin side for the total variation (>= 1)")
      ("vi-draws", po::value(&o.vi_draws)->default_value(o.vi_draws),
       "draws of each variational q for its moments (free: no decoder evaluations; >= 2)");
}

int hmc_vs_vi_main(int argc, char** argv) {
  CommonOptions common;
  DatasetOptions data;
  HmcVsViOptions study;
  std::string checkpoint, budgets_text, hmc_init = to_string(study.hmc_init), picture = "hmc_vs_vi.svg";
  for (Index budget : study.budgets) budgets_text += (budgets_text.empty() ? "" : ",") + std::to_string(budget);
  Index num_datapoints = 30, first_datapoint = 0;
  BlockRunSettings blocks;
  blocks.block_size = 5;

  po::options_description d("Options");
  add_common_options(d, common, "hmc_vs_vi.json", true);
  add_dataset_options(d, data);
  add_block_run_options(d, blocks);
  d.add_options()
      ("checkpoint", po::value(&checkpoint)->required(), "VAE checkpoint with latent dimension 2 (vigap-train)")
      ("num-datapoints", po::value(&num_datapoints)->default_value(num_datapoints), "test datapoints (>= 1)")
      ("first-datapoint", po::value(&first_datapoint)->default_value(first_datapoint), "index of the first one")
      ("picture", po::value(&picture)->default_value(picture), "path of the SVG picture");
  add_study_options(d, study, budgets_text, hmc_init);
  if (!parse_command_line(argc, argv, "vigap-hmc-vs-vi",
                          "HMC against the amortized q, q* and a local flow at equal decoder evaluations, measured "
                          "against the exact posterior and log p(x) of a 2-D latent VAE.",
                          d, common))
    return 0;

  study.budgets = parse_size_list(budgets_text, "--budgets");
  if (study.budgets.empty())
    throw std::invalid_argument("--budgets expects at least one budget, found '" + budgets_text + "'");
  if (num_datapoints < 1) throw std::invalid_argument("--num-datapoints must be >= 1, found " + std::to_string(num_datapoints));
  if (first_datapoint < 0) throw std::invalid_argument("--first-datapoint must be >= 0, found " + std::to_string(first_datapoint));
  study.hmc_init = parse_hmc_start(hmc_init, "--hmc-init");
  study.flow.samples = study.gaussian.samples_per_step;
  study.validate();
  validate(blocks);
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(common.out);
  check_writable_output_path(picture);

  const LoadedModel loaded = load_model(checkpoint);
  const GenerativeModel& model = loaded.generative_model();
  if (model.latent_dim() != 2)
    throw std::invalid_argument("vigap-hmc-vs-vi needs a checkpoint with latent dimension 2 (exact posteriors on a grid); " +
                                checkpoint + " has latent dimension " + std::to_string(model.latent_dim()));
  const AmortizedApproximation& amortized_q =
      loaded.require_amortized("vigap-hmc-vs-vi", "q, q* and AIS from q start from the amortized q(z|x)");
  const Dataset dataset = load_dataset(data, "test");
  const EvaluationBinarization binarization = evaluation_binarization(loaded.metadata, "", "checkpoint " + checkpoint);
  const MatrixF X = evaluation_slice(dataset, model.data_dim(), binarization, first_datapoint, num_datapoints);
  const Index B = X.cols();

  nlohmann::ordered_json configuration;
  configuration["checkpoint"] = checkpoint;
  configuration["architecture"] = loaded.architecture;
  configuration["checkpoint_metadata"] = loaded.metadata;
  configuration["amortized_approximation"] = amortized_q.describe();
  configuration["split"] = "test";
  configuration["first_datapoint"] = first_datapoint;
  configuration["num_datapoints"] = B;
  configuration["binarization"] = binarization.name;
  configuration["evaluation_binarization_seed"] = kEvaluationBinarizationSeed;
  configuration.update(study.to_json());
  configuration["threads"] = common.threads;
  const nlohmann::ordered_json dataset_json = dataset_identity(dataset, "test");

  // Blocks of datapoints, spread over the MPI ranks (or one after another here), journaled.
  const DatapointBlocks plan{first_datapoint, B, blocks.block_size};
  // The run's cost, before it starts: every rank times the decoder at once, as the run will load
  // the machine; rank 0's forecast is printed and goes to "execution", never `results`.
  mpi_barrier();
  const RunCostForecast forecast = forecast_run_cost(model, X, hmc_vs_vi_run_cost(study, B), mpi_place().size,
                                                     plan.num_blocks(), blocks.block_size);
  if (mpi_place().rank == 0 && forecast.worth_printing(false))
    std::fputs(forecast.summary("vigap-hmc-vs-vi").c_str(), stderr);
  if (mpi_place().rank == 0)
    std::printf("%s: %lld test datapoints of %s from #%lld; budgets %s decoder evaluations per datapoint\n",
                model.describe().c_str(), static_cast<long long>(B), dataset.name.c_str(),
                static_cast<long long>(first_datapoint), budgets_text.c_str());
  const auto compute_block = [&](Index first, Index count) {
    // Draws for test point i are keyed by (--seed, i, purpose, substream): a datapoint's figures
    // depend neither on the other datapoints (nor on its block), nor on the other budgets or
    // methods, nor on --threads. Quiet inside a block: the run shows datapoints done across ranks.
    return compute_hmc_vs_vi_block(model, amortized_q, X, first_datapoint, study, common.seed, first, count).to_json();
  };
  const std::string journal = journal_path(common.out);
  BlockRunReport report;
  const nlohmann::ordered_json identity =
      block_run_identity("vigap-hmc-vs-vi", common.seed, configuration, checkpoint, dataset_json, X, plan);
  const auto parts = run_datapoint_blocks_as<HmcVsViBlock>(plan, blocks, journal, identity, "hmc-vs-vi", compute_block,
                                                           hmc_vs_vi_block_from_json, &report);
  if (!parts) return 0;  // another rank than 0: rank 0 writes the result
  const HmcVsVi result = assemble_hmc_vs_vi(*parts);

  nlohmann::ordered_json document = make_result_document("hmc_vs_vi", configuration, dataset_json, common.seed);
  document["configuration"]["starting_distributions"] = result.starts_json();
  document["results"] = result.results_json();
  document["timings"] = result.timings_json();
  document["execution"] = report.to_json();
  document["execution"]["cost"] = forecast.to_json();
  std::printf("\n%s", result.to_markdown().c_str());

  const std::string title = "HMC vs variational inference at equal decoder evaluations: " +
                            std::filesystem::path(checkpoint).filename().string() + ", " + std::to_string(B) +
                            " test points of " + dataset.name;
  write_picture_and_result(picture, picture_svg(result, title), common.out, document);
  remove_journal(journal);
  std::printf("picture: %s\nresults: %s\n", picture.c_str(), common.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // --seeds: the study once per seed, summarized across seeds (distributed/seed_replicates.hpp).
  const ReplicatedBinary binary{"vigap-hmc-vs-vi",
                                {{"--out", "hmc_vs_vi.json", false},
                                 {"--picture", "hmc_vs_vi.svg", false}},
                                /*accepts_resume=*/true, /*validation_only=*/VIGAP_FUZZ_VALIDATION_ONLY};
  return run_distributable_binary("vigap-hmc-vs-vi", [&] { return run_over_seeds(binary, argc, argv, hmc_vs_vi_main); });
}
