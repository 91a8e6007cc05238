// vigap-objective-comparison: does training by the ELBO hold the generative model back?
//
// Trains the same 2-D-latent decoder family (same architecture, data, epochs, optimizer, batch
// size, initial parameters and seed) by each objective:
//   elbo     the ELBO (one sample, analytic KL), encoder and decoder jointly;
//   iwae-K   the IWAE-K bound, encoder and decoder jointly;
//   exact    the exact marginal likelihood: log p(x) by quadrature on a grid shared by the batch
//            (core/training/exact_marginal_likelihood_objective.hpp), decoder alone; its amortized
//            q is fitted afterwards by the ELBO with the decoder frozen (same encoder, epochs).
// Then, for every model, all by exact quadrature (latent dimension <= 3):
//   log p(x) on training and test points,
//   L[q] and KL(q ‖ p(z|x)) = log p(x) - L[q] of the amortized q (the encoder),
//   on a subset of the test points q* per datapoint (diagonal and full-covariance Gaussian) and
//   the gaps of Cremer, Li & Duvenaud (2018): approximation log p(x) - L[q*] = KL(q* ‖ p(z|x)),
//   amortization L[q*] - L[q], inference log p(x) - L[q] = KL(q ‖ p(z|x)),
//   and paired differences of log p(x) against the first objective.
// The study is analyses/objective_comparison; this binary loads the data, calls it and writes
// Markdown tables on stdout, the JSON result, an SVG picture, progress on stderr.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "analyses/objective_comparison.hpp"
#include "core/data/dataset.hpp"
#include "core/data/train_validation_split.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"
#include "core/io/vae_checkpoint.hpp"
#include "core/progress_reporter.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/dataset_options.hpp"
#include "experiments/support/evaluation_data.hpp"
#include "experiments/support/picture_and_result.hpp"
#include "experiments/support/svg_plot.hpp"
#include "distributed/seed_replicates.hpp"

namespace po = boost::program_options;
using namespace vigap;

namespace {

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};

/// One panel: per objective (x categories) points with ±1 s.e. bars for each series.
struct Series {
  std::string label;
  std::vector<double> values, errors;
};

void draw_panel(svg::Document& doc, double left, double top, double width, double height, const std::string& title,
                const std::string& y_label, const std::vector<std::string>& categories,
                const std::vector<Series>& series, bool zero_line) {
  double low = 0.0, high = 0.0;
  bool first = true;
  for (const Series& s : series)
    for (size_t i = 0; i < s.values.size(); ++i) {
      const double lo = s.values[i] - s.errors[i], hi = s.values[i] + s.errors[i];
      low = first ? lo : std::min(low, lo);
      high = first ? hi : std::max(high, hi);
      first = false;
    }
  if (zero_line) {
    low = std::min(low, 0.0);
    high = std::max(high, 0.0);
  }
  if (!(high > low)) high = low + 1.0;
  const double margin = 0.08 * (high - low);
  const svg::Frame frame = svg::make_frame(left, top, width, height, 0.5, static_cast<double>(categories.size()) + 0.5,
                                          low - margin, high + margin);
  doc.text(left, top - 12, title, 13, "start", 0.0, "#000000", "bold");
  doc.rect(left, top, width, height, "#ffffff", "#000000", 1.0);
  const std::vector<double> ticks = svg::nice_ticks(frame.y_min, frame.y_max, 6);
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
  for (double t : ticks) {
    doc.line(left, frame.py(t), left + width, frame.py(t), "#e0e0e0", 1.0);
    doc.line(left - 4, frame.py(t), left, frame.py(t), "#000000", 1.0);
    doc.text(left - 7, frame.py(t) + 4, svg::format_tick(t, step), 11, "end");
  }
  if (zero_line && frame.y_min < 0.0 && frame.y_max > 0.0)
    doc.line(left, frame.py(0.0), left + width, frame.py(0.0), "#555555", 1.2, "5,3");
  doc.text(left - 48, top + height / 2, y_label, 12, "middle", -90.0);
  for (size_t c = 0; c < categories.size(); ++c)
    doc.text(frame.px(static_cast<double>(c + 1)), top + height + 18, categories[c], 12, "middle");
  const double spread = 0.5 / static_cast<double>(std::max<size_t>(1, series.size()));
  for (size_t s = 0; s < series.size(); ++s) {
    const std::string color = kColors[s % 6];
    for (size_t c = 0; c < series[s].values.size(); ++c) {
      const double x = frame.px(static_cast<double>(c + 1) + (static_cast<double>(s) - 0.5 * (series.size() - 1)) * spread);
      const double v = series[s].values[c], e = series[s].errors[c];
      doc.line(x, frame.py(v - e), x, frame.py(v + e), color, 1.6);
      doc.line(x - 4, frame.py(v - e), x + 4, frame.py(v - e), color, 1.6);
      doc.line(x - 4, frame.py(v + e), x + 4, frame.py(v + e), color, 1.6);
      doc.circle(x, frame.py(v), 4.0, color);
    }
    svg::draw_legend_entry(doc, left + 10, top + height + 40 + 16 * static_cast<double>(s), color, "", series[s].label,
                           true);
  }
}

/// Three panels: log p(x) against the first objective's model, the inference gap, the approximation gaps.
std::string draw_picture(const ObjectiveComparison& comparison, const std::string& title, const std::string& subtitle) {
  const std::vector<ObjectiveComparisonModel>& models = comparison.models;
  std::vector<std::string> categories;
  for (const ObjectiveComparisonModel& m : models) categories.push_back(m.objective.label);
  const double panel_width = 40.0 + 95.0 * static_cast<double>(models.size()), panel_height = 300.0;
  const double left_margin = 80.0, gap = 100.0, top = 80.0;
  svg::Document doc(left_margin + 3 * panel_width + 2 * gap + 30.0, top + panel_height + 60.0 + 16.0 * 2.0 + 20.0);
  doc.rect(0, 0, doc.width(), doc.height(), "#ffffff");
  doc.text(14, 24, title, 15, "start", 0.0, "#000000", "bold");
  doc.text(14, 44, subtitle, 11, "start", 0.0, "#444444");

  Series train{"training points (±1 paired s.e.)", {}, {}};
  Series test{"test points (±1 paired s.e.)", {}, {}};
  for (const ObjectiveComparisonModel& m : models) {
    train.values.push_back(m.train_log_px_difference.value);
    train.errors.push_back(m.train_log_px_difference.dataset_standard_error);
    test.values.push_back(m.test_log_px_difference.value);
    test.errors.push_back(m.test_log_px_difference.dataset_standard_error);
  }
  double left = left_margin;
  draw_panel(doc, left, top, panel_width, panel_height, "exact log p(x) minus the " + models.front().objective.label + " model's",
             "Δ log p(x) (nats)", categories, {train, test}, true);

  Series amortized{"test points (±1 s.e.)", {}, {}};
  Series amortized_subset{"q* subset (±1 s.e.)", {}, {}};
  Series ffg{"q*_FFG, diagonal (±1 s.e.)", {}, {}};
  Series full{"q*_full, full covariance (±1 s.e.)", {}, {}};
  for (const ObjectiveComparisonModel& m : models) {
    amortized.values.push_back(m.test_kl.value);
    amortized.errors.push_back(m.test_kl.dataset_standard_error);
    if (!m.qstar.empty()) {
      amortized_subset.values.push_back(m.subset_kl.value);
      amortized_subset.errors.push_back(m.subset_kl.dataset_standard_error);
    }
    for (const ObjectiveComparisonQStar& q : m.qstar) {
      Series& s = q.family == PosteriorFamily::ffg ? ffg : full;
      s.values.push_back(q.approximation_gap.value);
      s.errors.push_back(q.approximation_gap.dataset_standard_error);
    }
  }
  std::vector<Series> inference{amortized};
  if (!amortized_subset.values.empty()) inference.push_back(amortized_subset);
  left += panel_width + gap;
  draw_panel(doc, left, top, panel_width, panel_height, "KL(q_amortized ‖ p(z|x)): inference gap", "KL (nats)",
             categories, inference, true);
  std::vector<Series> approximation;
  if (!ffg.values.empty()) approximation.push_back(ffg);
  if (!full.values.empty()) approximation.push_back(full);
  left += panel_width + gap;
  if (!approximation.empty())
    draw_panel(doc, left, top, panel_width, panel_height, "KL(q* ‖ p(z|x)): approximation gap", "KL (nats)",
               categories, approximation, true);
  return doc.str();
}

/// The command line: the comparison's options and the binary's own (data, architecture, output).
struct Arguments {
  CommonOptions common;
  DatasetOptions data;
  VaeArchitecture architecture;
  ObjectiveComparisonOptions comparison;
  std::vector<ComparedObjective> objectives;
  std::string objectives_text = "elbo,iwae-5,iwae-50,exact", encoder_hidden = "100,100", decoder_hidden = "100,100";
  std::string activation = "elu", binarization = "dynamic", families_text = "ffg,full", grid_shift = "random";
  std::string picture = "objective_comparison.svg", checkpoint_dir;
  Index train_size = 20000, validation_size = 1000, train_eval_points = 1000, test_eval_points = 1000;
  double learning_rate = 1e-3;
  bool per_datapoint = false;

  Arguments() {
    architecture.latent_dim = 2;
    architecture.activation = Activation::elu;
    comparison.trainer.epochs = 5;  // with --train-size 20000: the Fashion-MNIST run takes ~10-15 minutes on 2 cores
  }
};

void add_options(po::options_description& d, Arguments& a) {
  VaeTrainerOptions& trainer = a.comparison.trainer;
  LocalOptimizationOptions& qstar = a.comparison.qstar;
  ExactMarginalLikelihoodObjectiveOptions& grid = a.comparison.grid;
  add_common_options(d, a.common, "objective_comparison.json", true);
  add_dataset_options(d, a.data);
  d.add_options()
      ("objectives", po::value(&a.objectives_text)->default_value(a.objectives_text),
       "comma-separated training objectives: elbo, iwae-K (K importance samples), exact (exact marginal likelihood "
       "by grid quadrature; its encoder is fitted afterwards by the ELBO with the decoder frozen)")
      ("latent-dim", po::value(&a.architecture.latent_dim)->default_value(a.architecture.latent_dim),
       "latent dimension d (1 to 3: everything is measured by quadrature)")
      ("encoder-hidden", po::value(&a.encoder_hidden)->default_value(a.encoder_hidden), "encoder hidden sizes, comma-separated")
      ("decoder-hidden", po::value(&a.decoder_hidden)->default_value(a.decoder_hidden), "decoder hidden sizes, comma-separated")
      ("activation", po::value(&a.activation)->default_value(a.activation), "hidden activation: tanh, relu, elu")
      ("epochs", po::value(&trainer.epochs)->default_value(trainer.epochs),
       "passes over the training set, for every objective and for the exact model's encoder fit (>= 1)")
      ("early-stopping-patience", po::value(&trainer.early_stopping_patience)->default_value(0),
       "stop a model's training after this many epochs in a row without a new best validation objective and keep "
       "its best epoch (--epochs is then the maximum; needs --validation-size > 0); 0: every epoch")
      ("batch-size", po::value(&trainer.batch_size)->default_value(trainer.batch_size), "minibatch size (>= 1)")
      ("learning-rate", po::value(&a.learning_rate)->default_value(a.learning_rate), "Adam's learning rate (> 0), constant")
      ("binarization", po::value(&a.binarization)->default_value(a.binarization),
       "dynamic, threshold or none (training; evaluation data are binarized once with a fixed seed)")
      ("train-size", po::value(&a.train_size)->default_value(a.train_size),
       "use only this many training images (0: all after the validation split)")
      ("validation-size", po::value(&a.validation_size)->default_value(a.validation_size),
       "training images held out for the per-epoch validation (0: none)")
      ("train-eval-points", po::value(&a.train_eval_points)->default_value(a.train_eval_points),
       "training points (the first of the training set) on which log p(x) and L[q] are measured (>= 1)")
      ("test-eval-points", po::value(&a.test_eval_points)->default_value(a.test_eval_points),
       "test points (the first of the test set) on which log p(x), L[q] and KL(q ‖ p(z|x)) are measured (>= 1)")
      ("qstar-points", po::value(&a.comparison.qstar_points)->default_value(a.comparison.qstar_points),
       "the first this many test evaluation points also get q* and the gap decomposition (0: no q*)")
      ("trajectory-points", po::value(&a.comparison.trajectory_points)->default_value(a.comparison.trajectory_points),
       "after every training epoch, measure exact log p(x), KL(q*_ffg || p(z|x)) and the encoder's KL(q || p(z|x)) on "
       "the first this many test evaluation points (the JSON's per-model \"trajectory\"; 0: not measured)")
      ("qstar-families", po::value(&a.families_text)->default_value(a.families_text),
       ("comma-separated q* families: " +
        describe_posterior_families(ObjectiveComparisonOptions::supported_qstar_families()))
           .c_str())
      ("qstar-samples", po::value(&qstar.samples_per_step)->default_value(qstar.samples_per_step),
       "reparameterized samples per datapoint per q* step")
      ("qstar-max-steps", po::value(&qstar.max_steps)->default_value(qstar.max_steps), "max steps of q*")
      ("qstar-check-interval", po::value(&qstar.check_interval)->default_value(qstar.check_interval),
       "steps between q* convergence checks")
      ("qstar-patience", po::value(&qstar.patience)->default_value(qstar.patience),
       "checks without improvement before a datapoint's q* stops")
      ("grid-half-width", po::value(&grid.half_width)->default_value(grid.half_width),
       "exact training: the grid covers [-a, a]^d")
      ("grid-cells", po::value(&grid.cells_per_dimension)->default_value(grid.cells_per_dimension),
       "exact training: cells per dimension (spacing 2a / cells)")
      ("grid-shift", po::value(&a.grid_shift)->default_value(a.grid_shift),
       "exact training: random (a fresh uniform shift of the grid every batch) or none (fixed cell centres)")
      ("quadrature-tolerance",
       po::value(&a.comparison.quadrature.tolerance)->default_value(a.comparison.quadrature.tolerance),
       "error tolerance (nats) of the adaptive quadrature that measures every model")
      ("picture", po::value(&a.picture)->default_value(a.picture), "path of the SVG picture")
      ("checkpoint-dir", po::value(&a.checkpoint_dir)->default_value(a.checkpoint_dir),
       "if set, each model's checkpoint is written there as objective_comparison_<objective>.safetensors")
      ("per-datapoint", po::bool_switch(&a.per_datapoint), "write every datapoint's value to the JSON");
}

/// Parses the command line and checks every option before any long work; false after --help or --version.
bool parse_arguments(int argc, char** argv, Arguments& a) {
  po::options_description d("Options");
  add_options(d, a);
  if (!parse_command_line(argc, argv, "vigap-objective-comparison",
                          "Trains one decoder family by the ELBO, IWAE-K and the exact marginal likelihood and "
                          "measures each model's exact log p(x), the KL of its amortized and optimal q, and the gaps.",
                          d, a.common))
    return false;
  a.objectives = parse_compared_objectives(a.objectives_text, "--objectives");
  a.architecture.encoder_hidden = parse_size_list(a.encoder_hidden, "--encoder-hidden");
  a.architecture.decoder_hidden = parse_size_list(a.decoder_hidden, "--decoder-hidden");
  a.architecture.activation = parse_activation(a.activation);
  a.architecture.likelihood = Likelihood::bernoulli;
  if (a.architecture.latent_dim < 1 || a.architecture.latent_dim > 3)
    throw std::invalid_argument("--latent-dim must be 1, 2 or 3 (every number is computed by quadrature), found " +
                                std::to_string(a.architecture.latent_dim));
  VaeTrainerOptions& trainer = a.comparison.trainer;
  trainer.learning_rate.initial = a.learning_rate;
  trainer.learning_rate.total_epochs = trainer.epochs;
  trainer.binarization = parse_binarization(a.binarization);
  if (a.grid_shift != "random" && a.grid_shift != "none")
    throw std::invalid_argument("--grid-shift must be random or none, found '" + a.grid_shift + "'");
  a.comparison.grid.random_shift = a.grid_shift == "random";
  a.comparison.qstar_families =
      parse_posterior_families(a.families_text, "--qstar-families",
                               ObjectiveComparisonOptions::supported_qstar_families());
  a.architecture.validate();
  a.comparison.validate(a.architecture.latent_dim, a.objectives);
  if (a.train_size < 0) throw std::invalid_argument("--train-size must be >= 0, found " + std::to_string(a.train_size));
  if (a.validation_size < 0)
    throw std::invalid_argument("--validation-size must be >= 0, found " + std::to_string(a.validation_size));
  if (trainer.early_stopping_patience > 0 && a.validation_size == 0)
    throw std::invalid_argument("--early-stopping-patience " + std::to_string(trainer.early_stopping_patience) +
                                " needs validation data, found --validation-size 0");
  if (a.train_eval_points < 1)
    throw std::invalid_argument("--train-eval-points must be >= 1, found " + std::to_string(a.train_eval_points));
  if (a.test_eval_points < 1)
    throw std::invalid_argument("--test-eval-points must be >= 1, found " + std::to_string(a.test_eval_points));
  if (a.comparison.qstar_points > a.test_eval_points)
    throw std::invalid_argument("--qstar-points must be in [0, --test-eval-points = " +
                                std::to_string(a.test_eval_points) + "], found " +
                                std::to_string(a.comparison.qstar_points));
  if (a.comparison.trajectory_points > a.test_eval_points)
    throw std::invalid_argument("--trajectory-points must be in [0, --test-eval-points = " +
                                std::to_string(a.test_eval_points) + "], found " +
                                std::to_string(a.comparison.trajectory_points));
  return true;
}

/// The training, validation and test sets, and the evaluation points (binarized once with the
/// fixed evaluation seed, the same for every model).
struct ComparisonData {
  Dataset train, validation, test;
  MatrixF train_points, test_points;
};

ComparisonData load_comparison_data(const Arguments& a) {
  const VaeTrainerOptions& trainer = a.comparison.trainer;
  Rng rng(a.common.seed);
  ComparisonData c;
  c.train = load_dataset(a.data, "train");
  c.test = load_dataset(a.data, "test");
  if (a.validation_size > 0) {
    TrainValidationSplit split = split_train_validation(c.train, a.validation_size, rng);
    c.train = std::move(split.train);
    c.validation = std::move(split.validation);
  } else {
    c.validation.images.resize(c.train.dimension(), 0);
  }
  if (a.train_size > 0) c.train = head(c.train, std::min(a.train_size, c.train.size()));
  const Index train_count = std::min(a.train_eval_points, c.train.size());
  const Index test_count = std::min(a.test_eval_points, c.test.size());
  c.train_points =
      binarize_evaluation_set(c.train.images.leftCols(train_count), trainer.binarization, trainer.binarization_threshold);
  c.test_points = binarize_evaluation_set(c.test.images, trainer.binarization, trainer.binarization_threshold)
                      .leftCols(test_count);
  return c;
}

nlohmann::ordered_json configuration_json(const Arguments& a, const ComparisonData& data) {
  nlohmann::ordered_json configuration;
  configuration["objectives"] = a.objectives_text;
  configuration["architecture"] = a.architecture.to_json();
  // The comparison's settings interleaved with the data's, in the order of earlier results.
  const nlohmann::ordered_json settings = a.comparison.to_json(a.architecture.latent_dim);
  for (const char* key : {"epochs", "early_stopping", "batch_size", "optimizer", "elbo_training", "exact_training_grid",
                          "exact_model_encoder"})
    if (settings.contains(key)) configuration[key] = settings.at(key);
  configuration["initialization"] = "every model starts from the same encoder and decoder parameters (seed + 1)";
  configuration["binarization"] = settings.at("binarization");
  configuration["binarization_threshold"] = settings.at("binarization_threshold");
  configuration["evaluation_binarization_seed"] = kEvaluationBinarizationSeed;
  configuration["train_size"] = data.train.size();
  configuration["validation_size"] = data.validation.size();
  configuration["train_eval_points"] = data.train_points.cols();
  configuration["test_eval_points"] = data.test_points.cols();
  configuration["qstar_points"] = std::min(a.comparison.qstar_points, data.test_points.cols());
  for (const char* key : {"qstar_families", "qstar", "quadrature"}) configuration[key] = settings.at(key);
  if (settings.contains("trajectory")) configuration["trajectory"] = settings.at("trajectory");
  configuration["threads"] = a.common.threads;
  return configuration;
}

/// Writes each trained model to <checkpoint-dir>/objective_comparison_<objective>.safetensors.
void save_checkpoints(const Arguments& a, const ObjectiveComparison& comparison, const std::string& dataset_name) {
  for (const ObjectiveComparisonModel& m : comparison.models) {
    Vae vae = m.vae;
    vae.metadata["dataset"] = dataset_name;
    vae.metadata["objective"] = m.objective.name;
    vae.metadata["epochs"] = std::to_string(a.comparison.trainer.epochs);
    vae.metadata["binarization"] = a.binarization;
    vae.metadata["binarization_threshold"] = std::to_string(a.comparison.trainer.binarization_threshold);
    vae.metadata["seed"] = std::to_string(a.common.seed);
    save_vae_checkpoint(a.checkpoint_dir + "/objective_comparison_" + m.objective.name + ".safetensors", vae);
  }
}

int objective_comparison_main(int argc, char** argv) {
  Arguments a;
  if (!parse_arguments(argc, argv, a)) return 0;
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(a.common.out);
  check_writable_output_path(a.picture);
  if (!a.checkpoint_dir.empty())
    for (const ComparedObjective& s : a.objectives)
      check_writable_output_path(a.checkpoint_dir + "/objective_comparison_" + s.name + ".safetensors");

  const ComparisonData data = load_comparison_data(a);
  a.architecture.data_dim = data.train.dimension();
  nlohmann::ordered_json datasets;
  datasets["train"] = dataset_identity(data.train, "train");
  datasets["test"] = dataset_identity(data.test, "test");
  nlohmann::ordered_json document =
      make_result_document("objective_comparison", configuration_json(a, data), datasets, a.common.seed);

  // The same initial parameters for every model (seed + 1), the same training stream (seed + 2);
  // evaluation draws per datapoint, keyed by (seed + 3, the datapoint's index in its evaluation set).
  Vae initial(a.architecture);
  {
    Rng init_rng(a.common.seed + 1);
    initial.encoder->network().initialize(init_rng);
    initial.decoder.network().initialize(init_rng);
  }
  const Rng training_rng(a.common.seed + 2);
  const RandomStreams evaluation_streams = RandomStreams::consecutive(
      a.common.seed + 3, 0, std::max(data.train_points.cols(), data.test_points.cols()));
  const ProgressReporter progress;
  const ObjectiveComparison comparison =
      compute_objective_comparison(initial, a.objectives, data.train.images, data.validation.images, data.train_points,
                                   data.test_points, a.comparison, training_rng, evaluation_streams, progress);
  if (!a.checkpoint_dir.empty()) save_checkpoints(a, comparison, data.train.name);
  document["results"] = comparison.results_json(a.per_datapoint);
  document["timings"] = comparison.timings_json();

  std::printf("%s, latent dimension %lld, trained %d epochs on %lld %s images (batch %lld, Adam %g), %s binarization\n",
              initial.decoder.describe().c_str(), static_cast<long long>(a.architecture.latent_dim),
              a.comparison.trainer.epochs, static_cast<long long>(data.train.size()), data.train.name.c_str(),
              static_cast<long long>(a.comparison.trainer.batch_size), a.learning_rate, a.binarization.c_str());
  std::printf("%s", comparison.to_markdown().c_str());
  const std::string subtitle = initial.decoder.describe() + ", " + std::to_string(a.comparison.trainer.epochs) +
                               " epochs, " + std::to_string(data.train.size()) + " training images; " +
                               std::to_string(comparison.test_points) + " test points, q* on " +
                               std::to_string(comparison.qstar_points);
  const std::string svg = draw_picture(
      comparison, "Training objective vs exact log p(x) and the ELBO gap (" + data.train.name + ")", subtitle);
  write_picture_and_result(a.picture, svg, a.common.out, document);
  std::printf("\npicture: %s\nresults: %s\n", a.picture.c_str(), a.common.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // --seeds: the study once per seed, summarized across seeds (distributed/seed_replicates.hpp).
  const ReplicatedBinary binary{"vigap-objective-comparison",
                                {{"--out", "objective_comparison.json", false},
                                 {"--picture", "objective_comparison.svg", false},
                                 {"--checkpoint-dir", "", true}},
                                /*accepts_resume=*/false, /*validation_only=*/VIGAP_FUZZ_VALIDATION_ONLY};
  return run_binary("vigap-objective-comparison", [&] { return run_over_seeds(binary, argc, argv, objective_comparison_main); });
}
