// vigap-posterior-2d: for a few test points of a VAE with a 2-D latent space, puts the exact
// posterior p(z|x) (quadrature), the amortized encoder q(z|x), the locally optimized
// full-covariance Gaussian q*(z|x) and HMC draws on one grid per datapoint; measures KL(q‖p),
// KL(q*‖p) and how far the HMC draws are from p (moments, total variation, MMD); writes JSON
// and an SVG picture (optionally a PNG through ImageMagick's convert).
// Under `mpirun -np N` the datapoints are handed out in blocks (--block-size, positions in
// --datapoints) to every rank and rank 0 writes the one JSON and picture, with the same `results`;
// each finished block is journaled in <out>.journal, and --resume after a crash computes only the
// blocks missing there.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <tuple>
#include <unistd.h>

#include "core/io/format_number.hpp"
#include "analyses/posterior_2d.hpp"
#include "analyses/posterior_2d_block.hpp"
#include "core/data/dataset.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"
#include "core/io/model_loader.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "distributed/datapoint_block_run.hpp"
#include "distributed/mpi_session.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/dataset_options.hpp"
#include "experiments/support/evaluation_data.hpp"
#include "experiments/support/picture_and_result.hpp"
#include "experiments/support/svg_plot.hpp"
#include "distributed/seed_replicates.hpp"

namespace po = boost::program_options;
using namespace vigap;

namespace {

// Colors of the picture (on the viridis heat map of p(z|x)).
const std::string kColorQ = "#ff5a36";      // amortized encoder q
const std::string kColorQStar = "#00e5ff";  // locally optimized q*
const std::string kColorHmc = "#ffffff";    // HMC draws

/// "0,3,17" -> {0, 3, 17}: datapoint indices (>= 0). Throws std::invalid_argument naming --datapoints.
std::vector<Index> parse_index_list(const std::string& text) {
  std::vector<Index> indices;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || value < 0)
      throw std::invalid_argument("--datapoints expects a comma-separated list of datapoint indices >= 0 (e.g. 0,1,2), found '" +
                                  text + "'");
    indices.push_back(static_cast<Index>(value));
  }
  if (indices.empty()) throw std::invalid_argument("--datapoints expects at least one datapoint index, found '" + text + "'");
  return indices;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}


/// Renders the SVG at `svg_path` to `png_path` with librsvg's rsvg-convert or ImageMagick's
/// convert, whichever is installed (optional: prints why and returns when neither works).
void write_png(const std::string& svg_path, const std::string& png_path) {
  const std::string temporary = png_path + ".tmp-" + std::to_string(::getpid()) + ".png";
  const std::vector<std::pair<std::string, std::string>> renderers{
      {"rsvg-convert", "rsvg-convert " + shell_quote(svg_path) + " -o " + shell_quote(temporary)},
      {"convert", "convert -density 96 " + shell_quote(svg_path) + " " + shell_quote(temporary)}};
  std::error_code ec;
  for (const auto& [program, command] : renderers) {
    if (std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) != 0) continue;
    if (std::system((command + " >/dev/null 2>&1").c_str()) == 0 && std::filesystem::exists(temporary)) {
      std::filesystem::rename(temporary, png_path, ec);
      if (!ec) {
        std::printf("png: %s (%s)\n", png_path.c_str(), program.c_str());
        return;
      }
    }
    std::filesystem::remove(temporary, ec);
  }
  std::printf("png: skipped, neither rsvg-convert nor ImageMagick's convert could render %s\n", svg_path.c_str());
}

/// The panel of one datapoint: its heading, images, p(z|x) as a heat map, HMC draws as dots and
/// q's and q*'s 1σ and 2σ ellipses.
void draw_panel(svg::Document& doc, double ox, double oy, const Posterior2dDatapoint& p, const VectorF& image,
                const VectorF& gray_image, Index image_rows, Index image_cols, Index picture_draws) {
  const double panel_width = 400, plot_size = 310, plot_left = 64, plot_top = 110;
  svg::Frame frame;
  frame.left = ox + plot_left;
  frame.top = oy + plot_top;
  frame.width = frame.height = plot_size;
  const VectorD& gx = p.z1;
  const VectorD& gy = p.z2;
  const double hx = (gx(1) - gx(0)) / 2, hy = (gy(1) - gy(0)) / 2;
  frame.x_min = gx(0) - hx;
  frame.x_max = gx(gx.size() - 1) + hx;
  frame.y_min = gy(0) - hy;
  frame.y_max = gy(gy.size() - 1) + hy;

  doc.text(ox + 10, oy + 22, "test datapoint " + std::to_string(p.datapoint), 14, "start", 0.0, "#000000", "bold");
  doc.text(ox + 10, oy + 42, "log p(x) = " + format_number("%.2f", p.log_marginal_likelihood) + " nats", 12);
  doc.text(ox + 10, oy + 60, "KL(q‖p) = " + format_number("%.3f", p.kl_q), 12, "start", 0.0, "#c0391b");
  doc.text(ox + 10, oy + 78, "KL(q*‖p) = " + format_number("%.3f", p.kl_q_star), 12, "start", 0.0, "#00838f");
  const std::string hmc_summary = "HMC: TV " + format_number("%.3f", p.total_variation) + " (iid " +
                                  format_number("%.3f", p.total_variation_iid) + "), mean err " +
                                  format_number("%.2f", p.mean_error_in_posterior_sd) + " sd";
  doc.text(ox + 10, oy + 96, hmc_summary, 11, "start", 0.0, "#444444");
  if (image.size() == image_rows * image_cols && image_rows > 0) {
    // The grayscale test image and the binary x the posterior conditions on, side by side.
    const double pixel = 2.0, side = image_cols * pixel;
    const double right = ox + panel_width - 14;
    svg::draw_grayscale_image(doc, right - 2 * side - 8, oy + 8, gray_image, image_rows, image_cols, pixel);
    svg::draw_grayscale_image(doc, right - side, oy + 8, image, image_rows, image_cols, pixel);
    doc.text(right - 1.5 * side - 8, oy + 8 + image_rows * pixel + 13, "image", 10, "middle");
    doc.text(right - 0.5 * side, oy + 8 + image_rows * pixel + 13, "x (binary)", 10, "middle");
  }

  doc.begin_clip(frame.left, frame.top, frame.width, frame.height);
  doc.rect(frame.left, frame.top, frame.width, frame.height, svg::heat_color(0.0).hex());
  const VectorD density = p.log_exact.array().exp();
  MatrixD values(gx.size(), gy.size());
  for (Index j = 0; j < gy.size(); ++j)
    for (Index i = 0; i < gx.size(); ++i) values(i, j) = density(i + gx.size() * j);
  svg::draw_heat_map(doc, frame, gx, gy, values, 0.01);
  const MatrixD dots = p.thinned_hmc_draws(picture_draws);
  for (Index c = 0; c < dots.cols(); ++c) doc.circle(frame.px(dots(0, c)), frame.py(dots(1, c)), 1.3, kColorHmc, 0.75);
  for (const auto& [mean, cov, color] :
       {std::tuple{p.q_mean, p.q_covariance, kColorQ}, std::tuple{p.q_star_mean, p.q_star_covariance, kColorQStar}}) {
    doc.polyline(svg::to_pixels(frame, svg::gaussian_ellipse(mean(0), mean(1), cov, 1.0)), color, 2.0, true);
    doc.polyline(svg::to_pixels(frame, svg::gaussian_ellipse(mean(0), mean(1), cov, 2.0)), color, 1.6, true, "6,4");
    const double cx = frame.px(mean(0)), cy = frame.py(mean(1));
    doc.line(cx - 4, cy, cx + 4, cy, color, 2.0);
    doc.line(cx, cy - 4, cx, cy + 4, color, 2.0);
  }
  doc.end_clip();
  svg::draw_axes(doc, frame, "z1", "z2", 5);
}

/// The SVG: a legend and one panel per datapoint, at most 4 per row. X holds the binary images
/// the posteriors condition on (columns as in the comparison), gray_images the dataset's images.
std::string draw_picture(const Posterior2dComparison& result, const MatrixF& X, const std::vector<VectorF>& gray_images,
                         Index image_rows, Index image_cols, Index picture_draws, const std::string& title) {
  const double panel_width = 400, panel_height = 470;
  const Index count = static_cast<Index>(result.datapoints.size());
  const Index columns = std::min<Index>(4, count);
  const Index rows = (count + columns - 1) / columns;
  const double header = 62;
  const Index hmc_samples = result.hmc_chains * result.hmc_draws_per_chain;
  const std::string hmc_label = "HMC draws (" + std::to_string(std::min(picture_draws, hmc_samples)) + " of " +
                                std::to_string(result.hmc_chains) + " x " + std::to_string(result.hmc_draws_per_chain) + ")";
  svg::Document doc(columns * panel_width + 10, header + rows * panel_height);
  doc.text(14, 24, title, 16, "start", 0.0, "#000000", "bold");
  // Legend.
  double lx = 14, ly = 48;
  doc.rect(lx, ly - 11, 14, 12, svg::heat_color(0.85).hex());
  doc.rect(lx + 14, ly - 11, 14, 12, svg::heat_color(0.35).hex());
  doc.text(lx + 34, ly, "exact p(z|x) (quadrature)", 11);
  svg::draw_legend_entry(doc, lx + 190, ly, kColorQ, "", "encoder q: 1σ, 2σ (dashed)");
  svg::draw_legend_entry(doc, lx + 390, ly, kColorQStar, "", "local q* (full cov.): 1σ, 2σ (dashed)");
  doc.rect(lx + 630, ly - 11, 22, 12, svg::heat_color(0.0).hex());
  svg::draw_legend_entry(doc, lx + 630, ly, kColorHmc, "", hmc_label, true);
  for (Index p = 0; p < count; ++p) {
    const double ox = 5 + static_cast<double>(p % columns) * panel_width;
    const double oy = header + static_cast<double>(p / columns) * panel_height;
    draw_panel(doc, ox, oy, result.datapoints[static_cast<std::size_t>(p)], X.col(p),
               gray_images[static_cast<std::size_t>(p)], image_rows, image_cols, picture_draws);
  }
  return doc.str();
}

/// The command line of vigap-posterior-2d: the comparison's options and the binary's own.
struct Posterior2dCommandLine {
  CommonOptions common;
  DatasetOptions data;
  Posterior2dOptions options;
  /// Blocks of 10: the default 4 datapoints in one block, as fast as before in one process (a block
  /// shares its quadrature grid and batches its HMC chains: 4 datapoints of a 784-pixel decoder
  /// took 13.5 s in one block and 29.6 s in blocks of 1 on one thread); --block-size 1 spreads
  /// them over as many ranks.
  BlockRunSettings blocks;
  std::string checkpoint, datapoint_list = "0,1,2,3", split = "test", binarization_override,
                          picture = "posterior_2d.svg", png;
  Index picture_draws = 600;
};

/// Parses and validates the command line; false after --help.
bool parse_posterior_2d_command_line(int argc, char** argv, Posterior2dCommandLine& c) {
  Posterior2dOptions& o = c.options;
  HmcOptions& hmc = o.hmc;
  LocalOptimizationOptions& local = o.local;
  po::options_description d("Options");
  add_common_options(d, c.common, "posterior_2d.json", true);
  add_dataset_options(d, c.data);
  add_block_run_options(d, c.blocks);
  d.add_options()
      ("checkpoint", po::value(&c.checkpoint)->required(), "VAE checkpoint (safetensors) with latent dimension 2")
      ("datapoints", po::value(&c.datapoint_list)->default_value(c.datapoint_list), "comma-separated indices into the split")
      ("split", po::value(&c.split)->default_value(c.split), "train or test")
      ("binarization", po::value(&c.binarization_override)->default_value(""),
       "dynamic, threshold or none (default: as the checkpoint was trained)")
      ("picture", po::value(&c.picture)->default_value(c.picture), "path of the SVG picture")
      ("png", po::value(&c.png)->default_value(""), "also write a PNG here (rendered by rsvg-convert or ImageMagick's convert; skipped if neither works)")
      ("grid-nodes", po::value(&o.grid_nodes)->default_value(o.grid_nodes), "grid nodes per axis (odd, >= 11)")
      ("grid-half-width", po::value(&o.grid_half_width)->default_value(o.grid_half_width),
       "grid half-width in exact posterior standard deviations (widened to show q and q*)")
      ("hmc-chains", po::value(&hmc.chains)->default_value(hmc.chains), "HMC chains per datapoint")
      ("hmc-warmup", po::value(&hmc.warmup)->default_value(hmc.warmup), "HMC warm-up iterations")
      ("hmc-draws", po::value(&hmc.draws)->default_value(hmc.draws), "HMC draws per chain")
      ("hmc-leapfrog-steps", po::value(&hmc.leapfrog_steps)->default_value(hmc.leapfrog_steps), "leapfrog steps per transition")
      ("local-max-steps", po::value(&local.max_steps)->default_value(local.max_steps), "max Adam steps of q*")
      ("local-samples", po::value(&local.samples_per_step)->default_value(local.samples_per_step),
       "reparameterized samples per q* step")
      ("mmd-samples", po::value(&o.mmd_samples)->default_value(o.mmd_samples), "exact-posterior draws for the MMD (>= 2)")
      ("tv-cells-per-bin", po::value(&o.tv_cells_per_bin)->default_value(o.tv_cells_per_bin),
       "grid cells per histogram bin side for the total variation (>= 1)")
      ("json-draws", po::value(&o.json_draws)->default_value(o.json_draws), "HMC draws per datapoint kept in the JSON (thinned)")
      ("picture-draws", po::value(&c.picture_draws)->default_value(c.picture_draws), "HMC draws per panel drawn as dots");
  if (!parse_command_line(argc, argv, "vigap-posterior-2d",
                          "Pictures and compares p(z|x), the encoder q, the local q* and HMC for a 2-D latent VAE.", d,
                          c.common))
    return false;
  parse_index_list(c.datapoint_list);
  o.validate();
  if (c.picture_draws < 0) throw std::invalid_argument("--picture-draws must be >= 0");
  validate(c.blocks);
  return true;
}

int posterior_2d_main(int argc, char** argv) {
  Posterior2dCommandLine c;
  if (!parse_posterior_2d_command_line(argc, argv, c)) return 0;
  const CommonOptions& common = c.common;
  const std::string& checkpoint = c.checkpoint;
  const std::vector<Index> datapoints = parse_index_list(c.datapoint_list);
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(common.out);
  check_writable_output_path(c.picture);
  if (!c.png.empty()) check_writable_output_path(c.png);

  const LoadedModel loaded = load_model(checkpoint);
  const GenerativeModel& model = loaded.generative_model();
  if (model.latent_dim() != 2)
    throw std::invalid_argument("vigap-posterior-2d needs a checkpoint with latent dimension 2; " + checkpoint +
                                " has latent dimension " + std::to_string(model.latent_dim()));
  const AmortizedApproximation& amortized_q = loaded.require_gaussian_amortized(
      "vigap-posterior-2d",
      "the comparison draws q as the 1σ and 2σ ellipses of a Gaussian and starts q* from it, and a flow posterior "
      "has no such ellipses (vigap-hmc-vs-vi measures the amortized flow against p(z|x))");

  const Dataset dataset = load_dataset(c.data, c.split);
  if (dataset.dimension() != model.data_dim())
    throw std::invalid_argument("dataset " + dataset.name + " has dimension " + std::to_string(dataset.dimension()) +
                                ", the checkpoint's model expects " + std::to_string(model.data_dim()));
  for (Index i : datapoints)
    if (i >= dataset.size())
      throw std::invalid_argument("--datapoints: index " + std::to_string(i) + " is out of range: " + dataset.name +
                                  " (" + c.split + ") has " + std::to_string(dataset.size()) + " datapoints (0.." +
                                  std::to_string(dataset.size() - 1) + ")");
  const EvaluationBinarization binarization =
      evaluation_binarization(loaded.metadata, c.binarization_override, "checkpoint " + checkpoint);
  // The whole split binarized once (fixed seed), as vigap-evaluate does: datapoint i is the same
  // binary image in every binary.
  const MatrixF binary = binarize_evaluation_set(dataset.images, binarization);
  const Index B = static_cast<Index>(datapoints.size());
  MatrixF X(binary.rows(), B);
  std::vector<int> labels;
  std::vector<VectorF> gray_images;
  for (Index b = 0; b < B; ++b) {
    const Index i = datapoints[static_cast<std::size_t>(b)];
    X.col(b) = binary.col(i);
    labels.push_back(dataset.labels[static_cast<std::size_t>(i)]);
    gray_images.push_back(dataset.images.col(i));
  }

  // Draws for datapoint i (its index in the split, from --datapoints) are keyed by (--seed, i,
  // purpose, substream): a datapoint's picture does not depend on the others chosen with it.
  std::vector<std::uint64_t> dataset_indices;
  for (Index i : datapoints) dataset_indices.push_back(static_cast<std::uint64_t>(i));
  const RandomStreams streams(common.seed, dataset_indices);
  nlohmann::ordered_json configuration;
  configuration["checkpoint"] = checkpoint;
  configuration["architecture"] = loaded.architecture;
  configuration["checkpoint_metadata"] = loaded.metadata;
  configuration["datapoints"] = datapoints;
  configuration["split"] = c.split;
  configuration["binarization"] = binarization.name;
  configuration["evaluation_binarization_seed"] = kEvaluationBinarizationSeed;
  configuration.update(c.options.to_json());
  configuration["threads"] = common.threads;
  const nlohmann::ordered_json dataset_json = dataset_identity(dataset, c.split);
  // A resumed run must also keep as many HMC draws in the JSON (the blocks record it).
  nlohmann::ordered_json run_settings = configuration;
  run_settings["json_draws"] = c.options.json_draws;

  if (mpi_place().rank == 0) {
    std::printf("%s: %lld %s datapoints of %s\n", model.describe().c_str(), static_cast<long long>(B), c.split.c_str(),
                dataset.name.c_str());
    std::fflush(stdout);
  }
  // Blocks of consecutive positions in --datapoints, spread over the MPI ranks (or one after
  // another here), journaled.
  const DatapointBlocks plan{0, B, c.blocks.block_size};
  const auto compute_block = [&](Index first, Index count) {
    const MatrixF Xb = X.middleCols(first, count);
    const DiagonalGaussian q = amortized_q.gaussian_base(Xb);
    // Quiet inside a block: the run shows datapoints done across ranks instead.
    return compute_posterior_2d_block(model, q, Xb, c.options, streams.slice(first, count), first).to_json();
  };
  const std::string journal = journal_path(common.out);
  BlockRunReport report;
  const nlohmann::ordered_json identity =
      block_run_identity("vigap-posterior-2d", common.seed, run_settings, checkpoint, dataset_json, X, plan);
  const auto parts = run_datapoint_blocks_as<Posterior2dBlock>(plan, c.blocks, journal, identity, "posterior-2d",
                                                               compute_block, posterior_2d_block_from_json, &report);
  if (!parts) return 0;  // another rank than 0: rank 0 writes the result and the picture
  const Posterior2dComparison result = assemble_posterior_2d(*parts);

  nlohmann::ordered_json document = make_result_document("posterior_2d", configuration, dataset_json, common.seed);
  document["timings"] = result.timings_json();
  document["results"] = result.results_json(labels);
  document["execution"] = report.to_json();

  const std::string title = "Posteriors of " + std::filesystem::path(checkpoint).filename().string() + " (" +
                            dataset.name + ", " + c.split + ")";
  const std::string svg =
      draw_picture(result, X, gray_images, dataset.image_rows, dataset.image_cols, c.picture_draws, title);
  write_picture_and_result(c.picture, svg, common.out, document);
  remove_journal(journal);
  std::printf("\n%s", result.to_markdown().c_str());
  std::printf("picture: %s\n", c.picture.c_str());
  if (!c.png.empty()) write_png(c.picture, c.png);
  std::printf("results: %s\n", common.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // --seeds: the study once per seed, summarized across seeds (distributed/seed_replicates.hpp).
  const ReplicatedBinary binary{"vigap-posterior-2d",
                                {{"--out", "posterior_2d.json", false},
                                 {"--picture", "posterior_2d.svg", false},
                                 {"--png", "", false}},
                                /*accepts_resume=*/true, /*validation_only=*/VIGAP_FUZZ_VALIDATION_ONLY};
  return run_distributable_binary("vigap-posterior-2d", [&] { return run_over_seeds(binary, argc, argv, posterior_2d_main); });
}
