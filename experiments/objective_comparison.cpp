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
// Markdown tables on stdout, JSON result, an SVG picture, progress on stderr.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Eigenvalues>

#include "core/data/dataset.hpp"
#include "core/data/train_validation_split.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"
#include "core/io/vae_checkpoint.hpp"
#include "core/progress_reporter.hpp"
#include "core/training/exact_marginal_likelihood_objective.hpp"
#include "core/training/exact_marginal_likelihood_trainer.hpp"
#include "core/training/vae_trainer.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/local_gaussian_optimization.hpp"
#include "core/variational/posterior_family.hpp"
#include "estimators/exact_marginal_likelihood.hpp"
#include "estimators/gap_decomposition.hpp"
#include "estimators/kl_divergence_quadrature.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/dataset_options.hpp"
#include "experiments/support/evaluation_data.hpp"
#include "core/io/markdown_table.hpp"
#include "experiments/support/picture_and_result.hpp"
#include "experiments/support/svg_plot.hpp"

namespace po = boost::program_options;
using namespace vigap;

namespace {

/// One training objective of the comparison.
struct ObjectiveSpec {
  enum class Kind { elbo, iwae, exact };
  Kind kind = Kind::elbo;
  Index samples = 1;  ///< K of IWAE, 1 otherwise
  std::string name;   ///< "elbo", "iwae-5", "exact"
  std::string label;  ///< for tables and the picture
};

/// "elbo,iwae-5,iwae-50,exact" -> specs in the given order, without duplicates.
std::vector<ObjectiveSpec> parse_objectives(const std::string& text) {
  std::vector<ObjectiveSpec> specs;
  std::stringstream stream(text);
  std::string item;
  const std::string expected =
      "expected a comma-separated list of elbo, iwae-K (K >= 2 importance samples, e.g. iwae-5) and exact";
  while (std::getline(stream, item, ',')) {
    ObjectiveSpec spec;
    spec.name = item;
    if (item == "elbo") {
      spec.label = "ELBO";
    } else if (item == "exact") {
      spec.kind = ObjectiveSpec::Kind::exact;
      spec.label = "exact log p(x)";
    } else if (item.rfind("iwae-", 0) == 0) {
      const std::string k = item.substr(5);
      if (k.empty() || k.size() > 6 || !std::all_of(k.begin(), k.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          std::stol(k) < 2)
        throw std::invalid_argument("--objectives: bad IWAE objective '" + item + "': " + expected);
      spec.kind = ObjectiveSpec::Kind::iwae;
      spec.samples = std::stol(k);
      spec.label = "IWAE-" + k;
    } else {
      throw std::invalid_argument("--objectives: unknown objective '" + item + "': " + expected);
    }
    for (const ObjectiveSpec& s : specs)
      if (s.name == spec.name) throw std::invalid_argument("--objectives: '" + item + "' is listed twice");
    specs.push_back(spec);
  }
  if (specs.empty()) throw std::invalid_argument("--objectives: " + expected + ", found '" + text + "'");
  return specs;
}

/// The first `count` datapoints of an estimate.
Estimate first_datapoints(const Estimate& e, Index count) {
  Estimate h = e;
  h.per_datapoint = e.per_datapoint.head(count);
  h.per_datapoint_standard_error = e.per_datapoint_standard_error.head(count);
  h.summarize();
  return h;
}

/// "mean ± s.e." with the spread across datapoints as the error (models are compared on the
/// same points; the quadrature's own error is ~1e-5 nats and is in the JSON).
std::string cell(const Estimate& e, int decimals = 2) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f ± %.*f", decimals, e.value, decimals, e.dataset_standard_error);
  return buffer;
}

/// One q* family's row for one model (on the q* subset of the test points).
struct QStarResult {
  std::string family;  ///< "ffg" or "full"
  Estimate elbo, approximation_gap, amortization_gap;
  nlohmann::ordered_json optimization;
};

/// Everything measured for one trained model.
struct ModelResult {
  ObjectiveSpec spec;
  nlohmann::ordered_json training = nlohmann::ordered_json::object();
  nlohmann::ordered_json training_timings = nlohmann::ordered_json::object();
  Estimate train_log_px, test_log_px, train_elbo, test_elbo, test_kl;
  Estimate subset_kl;  ///< KL(q ‖ p(z|x)) = inference gap on the q* subset
  std::vector<QStarResult> qstar;
  Estimate train_log_px_difference, test_log_px_difference;  ///< against the first objective (paired)
  double grid_mean_discrepancy = 0.0, grid_max_abs_discrepancy = 0.0;  ///< training grid - adaptive quadrature
  double grid_fraction_above_hundredth = 0.0;  ///< share of test points where |grid - adaptive| > 0.01 nats
  double posterior_sd_median = 0.0, posterior_sd_min = 0.0;           ///< narrowest posterior axis, test points
  double evaluation_seconds = 0.0;
  nlohmann::ordered_json evaluation_timings = nlohmann::ordered_json::object();
};

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
  svg::Frame frame;
  frame.left = left;
  frame.top = top;
  frame.width = width;
  frame.height = height;
  frame.x_min = 0.5;
  frame.x_max = static_cast<double>(categories.size()) + 0.5;
  frame.y_min = low - margin;
  frame.y_max = high + margin;
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

std::string draw_picture(const std::vector<ModelResult>& models, const std::string& title, const std::string& subtitle) {
  std::vector<std::string> categories;
  for (const ModelResult& m : models) categories.push_back(m.spec.label);
  const double panel_width = 40.0 + 95.0 * static_cast<double>(models.size()), panel_height = 300.0;
  const double left_margin = 80.0, gap = 100.0, top = 80.0;
  svg::Document doc(left_margin + 3 * panel_width + 2 * gap + 30.0, top + panel_height + 60.0 + 16.0 * 2.0 + 20.0);
  doc.rect(0, 0, doc.width(), doc.height(), "#ffffff");
  doc.text(14, 24, title, 15, "start", 0.0, "#000000", "bold");
  doc.text(14, 44, subtitle, 11, "start", 0.0, "#444444");

  Series train{"training points (±1 paired s.e.)", {}, {}};
  Series test{"test points (±1 paired s.e.)", {}, {}};
  for (const ModelResult& m : models) {
    train.values.push_back(m.train_log_px_difference.value);
    train.errors.push_back(m.train_log_px_difference.dataset_standard_error);
    test.values.push_back(m.test_log_px_difference.value);
    test.errors.push_back(m.test_log_px_difference.dataset_standard_error);
  }
  double left = left_margin;
  draw_panel(doc, left, top, panel_width, panel_height, "exact log p(x) minus the " + models.front().spec.label + " model's",
             "Δ log p(x) (nats)", categories, {train, test}, true);

  Series amortized{"test points (±1 s.e.)", {}, {}};
  Series amortized_subset{"q* subset (±1 s.e.)", {}, {}};
  Series ffg{"q*_FFG, diagonal (±1 s.e.)", {}, {}};
  Series full{"q*_full, full covariance (±1 s.e.)", {}, {}};
  for (const ModelResult& m : models) {
    amortized.values.push_back(m.test_kl.value);
    amortized.errors.push_back(m.test_kl.dataset_standard_error);
    if (!m.qstar.empty()) {
      amortized_subset.values.push_back(m.subset_kl.value);
      amortized_subset.errors.push_back(m.subset_kl.dataset_standard_error);
    }
    for (const QStarResult& q : m.qstar) {
      Series& s = q.family == "ffg" ? ffg : full;
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

int objective_comparison_main(int argc, char** argv) {
  CommonOptions common;
  DatasetOptions data;
  VaeArchitecture architecture;
  architecture.latent_dim = 2;
  architecture.activation = Activation::elu;
  VaeTrainerOptions trainer;
  trainer.epochs = 5;  // with --train-size 20000: the Fashion-MNIST run takes ~10-15 minutes on 2 cores
  ExactMarginalLikelihoodObjectiveOptions grid;
  LocalOptimizationOptions qstar;
  qstar.samples_per_step = 10;
  qstar.max_steps = 1000;
  qstar.check_interval = 50;
  qstar.patience = 4;
  std::string objectives_text = "elbo,iwae-5,iwae-50,exact", encoder_hidden = "100,100", decoder_hidden = "100,100";
  std::string activation = "elu", binarization = "dynamic", families_text = "ffg,full", grid_shift = "random";
  std::string picture = "objective_comparison.svg", checkpoint_dir;
  Index train_size = 20000, validation_size = 1000, train_eval_points = 1000, test_eval_points = 1000, qstar_points = 50;
  double learning_rate = 1e-3;
  bool per_datapoint = false;
  QuadratureOptions quadrature;
  quadrature.tolerance = 1e-4;  // nats; the differences of interest are >= 0.01

  po::options_description d("Options");
  add_common_options(d, common, "objective_comparison.json");
  add_dataset_options(d, data);
  d.add_options()
      ("objectives", po::value(&objectives_text)->default_value(objectives_text),
       "comma-separated training objectives: elbo, iwae-K (K importance samples), exact (exact marginal likelihood "
       "by grid quadrature; its encoder is fitted afterwards by the ELBO with the decoder frozen)")
      ("latent-dim", po::value(&architecture.latent_dim)->default_value(architecture.latent_dim),
       "latent dimension d (1 to 3: everything is measured by quadrature)")
      ("encoder-hidden", po::value(&encoder_hidden)->default_value(encoder_hidden), "encoder hidden sizes, comma-separated")
      ("decoder-hidden", po::value(&decoder_hidden)->default_value(decoder_hidden), "decoder hidden sizes, comma-separated")
      ("activation", po::value(&activation)->default_value(activation), "hidden activation: tanh, relu, elu")
      ("epochs", po::value(&trainer.epochs)->default_value(trainer.epochs),
       "passes over the training set, for every objective and for the exact model's encoder fit (>= 1)")
      ("batch-size", po::value(&trainer.batch_size)->default_value(trainer.batch_size), "minibatch size (>= 1)")
      ("learning-rate", po::value(&learning_rate)->default_value(learning_rate), "Adam's learning rate (> 0), constant")
      ("binarization", po::value(&binarization)->default_value(binarization),
       "dynamic, threshold or none (training; evaluation data are binarized once with a fixed seed)")
      ("train-size", po::value(&train_size)->default_value(train_size),
       "use only this many training images (0: all after the validation split)")
      ("validation-size", po::value(&validation_size)->default_value(validation_size),
       "training images held out for the per-epoch validation (0: none)")
      ("train-eval-points", po::value(&train_eval_points)->default_value(train_eval_points),
       "training points (the first of the training set) on which log p(x) and L[q] are measured (>= 1)")
      ("test-eval-points", po::value(&test_eval_points)->default_value(test_eval_points),
       "test points (the first of the test set) on which log p(x), L[q] and KL(q ‖ p(z|x)) are measured (>= 1)")
      ("qstar-points", po::value(&qstar_points)->default_value(qstar_points),
       "the first this many test evaluation points also get q* and the gap decomposition (0: no q*)")
      ("qstar-families", po::value(&families_text)->default_value(families_text),
       "q* families: ffg (diagonal Gaussian), full (full covariance), comma-separated")
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
      ("grid-shift", po::value(&grid_shift)->default_value(grid_shift),
       "exact training: random (a fresh uniform shift of the grid every batch) or none (fixed cell centres)")
      ("quadrature-tolerance", po::value(&quadrature.tolerance)->default_value(quadrature.tolerance),
       "error tolerance (nats) of the adaptive quadrature that measures every model")
      ("picture", po::value(&picture)->default_value(picture), "path of the SVG picture")
      ("checkpoint-dir", po::value(&checkpoint_dir)->default_value(checkpoint_dir),
       "if set, each model's checkpoint is written there as objective_comparison_<objective>.safetensors")
      ("per-datapoint", po::bool_switch(&per_datapoint), "write every datapoint's value to the JSON");
  if (!parse_command_line(argc, argv, "vigap-objective-comparison",
                          "Trains one decoder family by the ELBO, IWAE-K and the exact marginal likelihood and "
                          "measures each model's exact log p(x), the KL of its amortized and optimal q, and the gaps.",
                          d, common))
    return 0;

  // Every option is checked before any long work.
  const std::vector<ObjectiveSpec> specs = parse_objectives(objectives_text);
  architecture.encoder_hidden = parse_size_list(encoder_hidden, "--encoder-hidden");
  architecture.decoder_hidden = parse_size_list(decoder_hidden, "--decoder-hidden");
  architecture.activation = parse_activation(activation);
  architecture.likelihood = Likelihood::bernoulli;
  if (architecture.latent_dim < 1 || architecture.latent_dim > 3)
    throw std::invalid_argument("--latent-dim must be 1, 2 or 3 (every number is computed by quadrature), found " +
                                std::to_string(architecture.latent_dim));
  trainer.learning_rate.initial = learning_rate;
  trainer.learning_rate.total_epochs = trainer.epochs;
  trainer.binarization = parse_binarization(binarization);
  if (grid_shift != "random" && grid_shift != "none")
    throw std::invalid_argument("--grid-shift must be random or none, found '" + grid_shift + "'");
  grid.random_shift = grid_shift == "random";
  std::vector<std::string> families;
  for (PosteriorFamily f :
       parse_posterior_families(families_text, "--qstar-families", {PosteriorFamily::ffg, PosteriorFamily::full}))
    families.push_back(to_string(f));
  architecture.validate();
  trainer.validate();
  qstar.validate();
  quadrature.validate(architecture.latent_dim);
  if (std::any_of(specs.begin(), specs.end(), [](const ObjectiveSpec& s) { return s.kind == ObjectiveSpec::Kind::exact; }))
    grid.validate(architecture.latent_dim);
  if (train_size < 0) throw std::invalid_argument("--train-size must be >= 0, found " + std::to_string(train_size));
  if (validation_size < 0)
    throw std::invalid_argument("--validation-size must be >= 0, found " + std::to_string(validation_size));
  if (train_eval_points < 1)
    throw std::invalid_argument("--train-eval-points must be >= 1, found " + std::to_string(train_eval_points));
  if (test_eval_points < 1)
    throw std::invalid_argument("--test-eval-points must be >= 1, found " + std::to_string(test_eval_points));
  if (qstar_points < 0 || qstar_points > test_eval_points)
    throw std::invalid_argument("--qstar-points must be in [0, --test-eval-points = " + std::to_string(test_eval_points) +
                                "], found " + std::to_string(qstar_points));
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(common.out);
  check_writable_output_path(picture);
  if (!checkpoint_dir.empty())
    for (const ObjectiveSpec& s : specs)
      check_writable_output_path(checkpoint_dir + "/objective_comparison_" + s.name + ".safetensors");

  const auto total_start = std::chrono::steady_clock::now();
  Rng rng(common.seed);
  Dataset train = load_dataset(data, "train");
  Dataset test = load_dataset(data, "test");
  architecture.data_dim = train.dimension();
  Dataset validation;
  if (validation_size > 0) {
    TrainValidationSplit split = split_train_validation(train, validation_size, rng);
    train = std::move(split.train);
    validation = std::move(split.validation);
  } else {
    validation.images.resize(train.dimension(), 0);
  }
  if (train_size > 0) train = head(train, std::min(train_size, train.size()));
  const Index train_count = std::min(train_eval_points, train.size());
  const Index test_count = std::min(test_eval_points, test.size());
  const Index qstar_count = std::min(qstar_points, test_count);
  // Evaluation data: binarized once with the fixed evaluation seed, the same for every model.
  const MatrixF X_train =
      binarize_evaluation_set(train.images.leftCols(train_count), trainer.binarization, trainer.binarization_threshold);
  const MatrixF X_test = binarize_evaluation_set(test.images, trainer.binarization, trainer.binarization_threshold)
                             .leftCols(test_count);
  const MatrixF X_qstar = X_test.leftCols(qstar_count);

  nlohmann::ordered_json configuration;
  configuration["objectives"] = objectives_text;
  configuration["architecture"] = architecture.to_json();
  configuration["epochs"] = trainer.epochs;
  configuration["batch_size"] = trainer.batch_size;
  configuration["optimizer"] = {{"name", "adam"}, {"learning_rate", learning_rate}, {"schedule", "constant"},
                                {"beta1", trainer.adam.beta1}, {"beta2", trainer.adam.beta2},
                                {"epsilon", trainer.adam.epsilon}};
  configuration["elbo_training"] = {{"samples", 1}, {"kl", "analytic"}};
  configuration["exact_training_grid"] = {{"half_width", grid.half_width},
                                          {"cells_per_dimension", grid.cells_per_dimension},
                                          {"spacing", grid.spacing()},
                                          {"shift", grid_shift},
                                          {"rule", "midpoint rule on the n^d cells of [-a, a]^d (shifted: unbiased for p(x))"}};
  configuration["exact_model_encoder"] =
      "fitted after training by the ELBO (1 sample, analytic KL) with the decoder frozen, same epochs and optimizer";
  configuration["initialization"] = "every model starts from the same encoder and decoder parameters (seed + 1)";
  configuration["binarization"] = binarization;
  configuration["binarization_threshold"] = trainer.binarization_threshold;
  configuration["evaluation_binarization_seed"] = kEvaluationBinarizationSeed;
  configuration["train_size"] = train.size();
  configuration["validation_size"] = validation.size();
  configuration["train_eval_points"] = train_count;
  configuration["test_eval_points"] = test_count;
  configuration["qstar_points"] = qstar_count;
  configuration["qstar_families"] = families;
  configuration["qstar"] = qstar.to_json();
  configuration["qstar"]["init"] = "encoder";
  configuration["quadrature"] = quadrature.to_json(architecture.latent_dim);
  configuration["threads"] = common.threads;
  nlohmann::ordered_json datasets;
  datasets["train"] = dataset_identity(train, "train");
  datasets["test"] = dataset_identity(test, "test");
  nlohmann::ordered_json document = make_result_document("objective_comparison", configuration, datasets, common.seed);
  nlohmann::ordered_json& results = document["results"];
  nlohmann::ordered_json& timings = document["timings"];

  ProgressReporter progress;
  KlQuadratureOptions kl_options;
  kl_options.quadrature = quadrature;
  // The same initial parameters for every model.
  Vae initial(architecture);
  {
    Rng init_rng(common.seed + 1);
    initial.encoder->network().initialize(init_rng);
    initial.decoder.network().initialize(init_rng);
  }

  std::vector<ModelResult> models;
  for (const ObjectiveSpec& spec : specs) {
    ModelResult m;
    m.spec = spec;
    Vae vae = initial;
    Rng train_rng(common.seed + 2);  // the same stream (data order, binarization) for every objective
    progress.line("objective-comparison: training by " + spec.label);
    VaeTrainerOptions options = trainer;
    options.objective.objective = spec.kind == ObjectiveSpec::Kind::iwae ? TrainingObjective::iwae : TrainingObjective::elbo;
    options.objective.samples = spec.samples;
    nlohmann::ordered_json epochs = nlohmann::ordered_json::array(), epoch_seconds = nlohmann::ordered_json::array();
    if (spec.kind == ObjectiveSpec::Kind::exact) {
      const ExactMarginalLikelihoodTrainingSummary s = train_decoder_by_exact_marginal_likelihood(
          vae.decoder, train.images, validation.images, options, grid, train_rng, progress);
      for (const ExactMarginalLikelihoodEpoch& r : s.epochs) {
        epochs.push_back({{"epoch", r.epoch},
                          {"train_grid_log_px", r.train_objective},
                          {"validation_grid_log_px", r.validation_log_px},
                          {"validation_grid_log_px_standard_error", r.validation_log_px_standard_error}});
        epoch_seconds.push_back(r.seconds);
      }
      m.training["decoder"] = {{"objective", "exact marginal likelihood (grid quadrature)"}, {"epochs", epochs}};
      m.training_timings["decoder_seconds"] = s.training_seconds;
      m.training_timings["decoder_epoch_seconds"] = epoch_seconds;
      progress.line("objective-comparison: fitting the amortized q of the exact model (decoder frozen)");
      VaeTrainerOptions encoder_options = trainer;
      encoder_options.freeze_decoder = true;
      epochs = nlohmann::ordered_json::array();
      epoch_seconds = nlohmann::ordered_json::array();
      const VaeTrainingSummary e =
          train_vae(*vae.encoder, vae.decoder, train.images, validation.images, encoder_options, train_rng, progress);
      for (const EpochRecord& r : e.epochs) {
        epochs.push_back({{"epoch", r.epoch},
                          {"train_objective", r.train_objective},
                          {"validation_elbo", r.validation_elbo},
                          {"validation_elbo_standard_error", r.validation_elbo_standard_error}});
        epoch_seconds.push_back(r.seconds);
      }
      m.training["encoder"] = {{"objective", "elbo, decoder frozen"}, {"epochs", epochs}};
      m.training_timings["encoder_seconds"] = e.training_seconds;
      m.training_timings["encoder_epoch_seconds"] = epoch_seconds;
    } else {
      const VaeTrainingSummary s =
          train_vae(*vae.encoder, vae.decoder, train.images, validation.images, options, train_rng, progress);
      for (const EpochRecord& r : s.epochs) {
        epochs.push_back({{"epoch", r.epoch},
                          {"train_objective", r.train_objective},
                          {"validation_elbo", r.validation_elbo},
                          {"validation_elbo_standard_error", r.validation_elbo_standard_error},
                          {"validation_objective", r.validation_objective}});
        epoch_seconds.push_back(r.seconds);
      }
      m.training["encoder_and_decoder"] = {{"objective", spec.kind == ObjectiveSpec::Kind::iwae ? "iwae" : "elbo"},
                                           {"samples", spec.samples},
                                           {"epochs", epochs}};
      m.training_timings["seconds"] = s.training_seconds;
      m.training_timings["epoch_seconds"] = epoch_seconds;
    }
    if (!checkpoint_dir.empty()) {
      vae.metadata["dataset"] = train.name;
      vae.metadata["objective"] = spec.name;
      vae.metadata["epochs"] = std::to_string(trainer.epochs);
      vae.metadata["binarization"] = binarization;
      vae.metadata["binarization_threshold"] = std::to_string(trainer.binarization_threshold);
      vae.metadata["seed"] = std::to_string(common.seed);
      save_vae_checkpoint(checkpoint_dir + "/objective_comparison_" + spec.name + ".safetensors", vae);
    }

    // Measurement, every number by quadrature.
    const auto eval_start = std::chrono::steady_clock::now();
    // Evaluation draws are per datapoint, keyed by (--seed + 3, the datapoint's index in its
    // evaluation set, purpose, substream): substream 0 for the training points, 1 for the test
    // points, 2 + f for the q* row of family f.
    const RandomStreams train_streams = RandomStreams::consecutive(common.seed + 3, 0, X_train.cols());
    const RandomStreams test_streams = RandomStreams::consecutive(common.seed + 3, 0, X_test.cols()).with_substream(1);
    const GenerativeModel& model = vae.decoder;
    progress.line("objective-comparison: exact log p(x), L[q] and KL of the " + spec.label + " model");
    auto part_start = std::chrono::steady_clock::now();
    m.train_log_px = exact_marginal_likelihood(model, X_train, quadrature).log_marginal_likelihood;
    const ExactMarginalLikelihood test_quadrature = exact_marginal_likelihood(model, X_test, quadrature);
    m.test_log_px = test_quadrature.log_marginal_likelihood;
    m.test_log_px.settings["unconverged_datapoints"] = test_quadrature.unconverged;
    m.evaluation_timings["log_px_seconds"] = seconds_since(part_start);
    part_start = std::chrono::steady_clock::now();
    const VectorD sd = narrowest_posterior_sd(test_quadrature);
    m.posterior_sd_median = median(sd);
    m.posterior_sd_min = sd.minCoeff();
    {
      const QuadratureKlDivergence r = kl_divergence_by_quadrature(
          model, DiagonalGaussian::from_encoder(*vae.encoder, X_train), X_train, m.train_log_px, kl_options,
          train_streams);
      m.train_elbo = r.elbo;
    }
    {
      const QuadratureKlDivergence r = kl_divergence_by_quadrature(
          model, DiagonalGaussian::from_encoder(*vae.encoder, X_test), X_test, m.test_log_px, kl_options,
          test_streams);
      m.test_elbo = r.elbo;
      m.test_kl = r.kl_divergence;
    }
    m.evaluation_timings["amortized_kl_seconds"] = seconds_since(part_start);
    // How well the training grid (unshifted) resolves this model's posteriors.
    if (std::any_of(specs.begin(), specs.end(), [](const ObjectiveSpec& s) { return s.kind == ObjectiveSpec::Kind::exact; })) {
      ExactMarginalLikelihoodObjectiveOptions fixed = grid;
      fixed.random_shift = false;
      const LatentGrid nodes = shifted_latent_grid(architecture.latent_dim, fixed, VectorD::Zero(architecture.latent_dim));
      VectorD grid_values(test_count), chunk;
      for (Index start = 0; start < test_count; start += 500) {
        const Index n = std::min<Index>(500, test_count - start);
        exact_marginal_likelihood_objective(vae.decoder, X_test.middleCols(start, n), nodes, grid.nodes_per_block,
                                            nullptr, &chunk);
        grid_values.segment(start, n) = chunk;
      }
      const VectorD discrepancy = grid_values - m.test_log_px.per_datapoint;
      m.grid_mean_discrepancy = discrepancy.mean();
      m.grid_max_abs_discrepancy = discrepancy.cwiseAbs().maxCoeff();
      m.grid_fraction_above_hundredth =
          static_cast<double>((discrepancy.array().abs() > 0.01).count()) / static_cast<double>(test_count);
    }
    if (qstar_count > 0) {
      const Estimate subset_log_px = first_datapoints(m.test_log_px, qstar_count);
      const Estimate subset_elbo = first_datapoints(m.test_elbo, qstar_count);
      m.subset_kl = first_datapoints(m.test_kl, qstar_count);
      const DiagonalGaussian start = DiagonalGaussian::from_encoder(*vae.encoder, X_qstar);
      for (const std::string& family : families) {
        progress.line("objective-comparison: q*_" + family + " of the " + spec.label + " model on " +
                      std::to_string(qstar_count) + " test points");
        QStarResult row;
        row.family = family;
        part_start = std::chrono::steady_clock::now();
        LocalOptimizationOptions options = qstar;
        options.family = family == "ffg" ? LocalGaussianFamily::diagonal : LocalGaussianFamily::full_covariance;
        const RandomStreams stream =
            RandomStreams::consecutive(common.seed + 3, 0, X_qstar.cols()).with_substream(family == "ffg" ? 2 : 3);
        const LocalGaussianOptimization r = optimize_local_gaussian(model, X_qstar, start, options, stream);
        const Index stopped = std::count(r.stopped_by_rule.begin(), r.stopped_by_rule.end(), true);
        row.optimization = {{"steps", r.steps}, {"datapoints_stopped_by_rule", stopped}};
        const QuadratureKlDivergence kl =
            kl_divergence_by_quadrature(model, r.approximation(), X_qstar, subset_log_px, kl_options, stream);
        row.elbo = kl.elbo;
        const GapDecomposition gaps = decompose_gaps(subset_log_px, kl.elbo, subset_elbo);
        row.approximation_gap = gaps.approximation_gap;
        row.amortization_gap = gaps.amortization_gap;
        m.evaluation_timings["qstar_" + family + "_seconds"] = seconds_since(part_start);
        m.qstar.push_back(std::move(row));
      }
    }
    m.evaluation_seconds = seconds_since(eval_start);
    models.push_back(std::move(m));
  }

  // Paired differences against the first objective.
  for (ModelResult& m : models) {
    m.train_log_px_difference = difference_of_estimates(m.train_log_px, models.front().train_log_px,
                                           "log p(x) - log p(x) of the " + models.front().spec.label + " model", BiasDirection::exact);
    m.test_log_px_difference = difference_of_estimates(m.test_log_px, models.front().test_log_px,
                                          "log p(x) - log p(x) of the " + models.front().spec.label + " model", BiasDirection::exact);
  }

  for (const ModelResult& m : models) {
    nlohmann::ordered_json r;
    r["objective"] = m.spec.name;
    r["training"] = m.training;
    r["train_log_px"] = to_json(m.train_log_px, per_datapoint);
    r["test_log_px"] = to_json(m.test_log_px, per_datapoint);
    r["train_elbo_amortized"] = to_json(m.train_elbo, per_datapoint);
    r["test_elbo_amortized"] = to_json(m.test_elbo, per_datapoint);
    r["test_kl_amortized"] = to_json(m.test_kl, per_datapoint);
    r["train_log_px_minus_first_objective"] = to_json(m.train_log_px_difference, per_datapoint);
    r["test_log_px_minus_first_objective"] = to_json(m.test_log_px_difference, per_datapoint);
    r["test_posterior_narrowest_sd"] = {{"median", m.posterior_sd_median}, {"min", m.posterior_sd_min}};
    if (std::any_of(specs.begin(), specs.end(), [](const ObjectiveSpec& s) { return s.kind == ObjectiveSpec::Kind::exact; }))
      r["training_grid_minus_adaptive_quadrature_test"] = {{"mean", m.grid_mean_discrepancy},
                                                           {"max_abs", m.grid_max_abs_discrepancy},
                                                           {"fraction_above_0.01", m.grid_fraction_above_hundredth}};
    if (qstar_count > 0) {
      nlohmann::ordered_json q;
      q["inference_gap"] = to_json(m.subset_kl, per_datapoint);
      for (const QStarResult& row : m.qstar)
        q[row.family] = {{"elbo", to_json(row.elbo, per_datapoint)},
                         {"approximation_gap", to_json(row.approximation_gap, per_datapoint)},
                         {"amortization_gap", to_json(row.amortization_gap, per_datapoint)},
                         {"optimization", row.optimization}};
      r["qstar_subset"] = q;
    }
    results["models"].push_back(r);
    timings[m.spec.name] = {{"training", m.training_timings},
                            {"evaluation_seconds", m.evaluation_seconds},
                            {"evaluation", m.evaluation_timings}};
  }
  timings["total_seconds"] = seconds_since(total_start);

  // Tables.
  std::printf("%s, latent dimension %lld, trained %d epochs on %lld %s images (batch %lld, Adam %g), %s binarization\n",
              initial.decoder.describe().c_str(), static_cast<long long>(architecture.latent_dim), trainer.epochs,
              static_cast<long long>(train.size()), train.name.c_str(), static_cast<long long>(trainer.batch_size),
              learning_rate, binarization.c_str());
  std::printf("every number exact (quadrature); mean over datapoints ± standard error across datapoints; "
              "%lld training points, %lld test points\n\n",
              static_cast<long long>(train_count), static_cast<long long>(test_count));
  {
    std::vector<std::vector<std::string>> rows;
    for (const ModelResult& m : models)
      rows.push_back({m.spec.label, cell(m.train_log_px), cell(m.test_log_px), cell(m.test_elbo), cell(m.test_kl, 3),
                      cell(m.train_log_px_difference), cell(m.test_log_px_difference)});
    print_markdown_table({"objective", "train log p(x)", "test log p(x)", "test L[q]", "test KL(q‖p(z|x))",
                 "Δ train log p(x)", "Δ test log p(x)"},
                rows);
    std::printf("\nΔ: minus the %s model's value on the same points (paired standard error).\n",
                models.front().spec.label.c_str());
  }
  if (qstar_count > 0 && !families.empty()) {
    std::printf("\nthe gaps on the first %lld test points (q* fitted per datapoint, started from the encoder's q):\n\n",
                static_cast<long long>(qstar_count));
    std::vector<std::string> header{"objective", "inference gap KL(q‖p)"};
    for (const std::string& f : families) {
      const std::string name = f == "ffg" ? "FFG" : "full";
      header.push_back("approximation gap KL(q*_" + name + "‖p)");
      header.push_back("amortization gap (" + name + ")");
    }
    std::vector<std::vector<std::string>> rows;
    for (const ModelResult& m : models) {
      std::vector<std::string> row{m.spec.label, cell(m.subset_kl, 3)};
      for (const QStarResult& q : m.qstar) {
        row.push_back(cell(q.approximation_gap, 3));
        row.push_back(cell(q.amortization_gap, 3));
      }
      rows.push_back(row);
    }
    print_markdown_table(header, rows);
  }
  std::printf("\n");
  for (const ModelResult& m : models) {
    std::printf("%s: narrowest posterior s.d. median %.3f, min %.3f", m.spec.label.c_str(), m.posterior_sd_median,
                m.posterior_sd_min);
    if (std::any_of(specs.begin(), specs.end(), [](const ObjectiveSpec& s) { return s.kind == ObjectiveSpec::Kind::exact; }))
      std::printf("; training grid (h = %.3f, [-%g, %g]^d, unshifted) minus adaptive quadrature on the test points: "
                  "mean %.2e, max |.| %.2e, |.| > 0.01 on %.1f%%",
                  grid.spacing(), grid.half_width, grid.half_width, m.grid_mean_discrepancy,
                  m.grid_max_abs_discrepancy, 100.0 * m.grid_fraction_above_hundredth);
    std::printf("\n");
  }

  const std::string subtitle = initial.decoder.describe() + ", " + std::to_string(trainer.epochs) + " epochs, " +
                               std::to_string(train.size()) + " training images; " + std::to_string(test_count) +
                               " test points, q* on " + std::to_string(qstar_count);
  const std::string svg =
      draw_picture(models, "Training objective vs exact log p(x) and the ELBO gap (" + train.name + ")", subtitle);
  write_picture_and_result(picture, svg, common.out, document);
  std::printf("\npicture: %s\nresults: %s\n", picture.c_str(), common.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_binary("vigap-objective-comparison", [&] { return objective_comparison_main(argc, argv); });
}
