// vigap-posterior-2d: for a few test points of a VAE with a 2-D latent space, puts the exact
// posterior p(z|x) (quadrature), the amortized encoder q(z|x), the locally optimized
// full-covariance Gaussian q*(z|x) and HMC draws on one grid per datapoint; measures KL(q‖p),
// KL(q*‖p) and how far the HMC draws are from p (moments, total variation, MMD); writes JSON
// and an SVG picture (optionally a PNG through ImageMagick's convert).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include "core/data/dataset.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"
#include "core/io/vae_checkpoint.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "core/variational/local_gaussian_optimization.hpp"
#include "estimators/exact_posterior.hpp"
#include "estimators/kl_divergence_quadrature.hpp"
#include "estimators/posterior_discrepancy.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/dataset_options.hpp"
#include "experiments/support/evaluation_data.hpp"
#include "experiments/support/picture_and_result.hpp"
#include "experiments/support/svg_plot.hpp"
#include "samplers/hmc_sampler.hpp"

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

/// A 2-D grid: nodes x(i), y(j), point g = i + n·j in column g of points().
struct Grid2d {
  VectorD x, y;
  double cell_area() const { return (x(1) - x(0)) * (y(1) - y(0)); }
  MatrixD points() const {
    MatrixD Z(2, x.size() * y.size());
    for (Index j = 0; j < y.size(); ++j)
      for (Index i = 0; i < x.size(); ++i) Z.col(i + x.size() * j) << x(i), y(j);
    return Z;
  }
};

VectorD linspace(double low, double high, Index n) {
  return VectorD::LinSpaced(n, low, high);
}

/// The marginal standard deviation of a Gaussian's coordinates from its covariance.
VectorD standard_deviations(const MatrixD& covariance) { return covariance.diagonal().cwiseSqrt(); }

/// Half-width on one axis: k posterior standard deviations, widened so that the 2.5-σ extent of
/// each approximation is inside too (at most 3k posterior standard deviations).
double half_width(double k, double posterior_mean, double posterior_sd, const std::vector<std::pair<double, double>>& others) {
  double h = k * posterior_sd;
  for (const auto& [mean, sd] : others) h = std::max(h, std::abs(mean - posterior_mean) + 2.5 * sd);
  return std::min(h, 3.0 * k * posterior_sd);
}

nlohmann::ordered_json to_json_vector(const VectorD& v) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (Index i = 0; i < v.size(); ++i) a.push_back(v(i));
  return a;
}

nlohmann::ordered_json to_json_matrix(const MatrixD& m) {  // row by row
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (Index r = 0; r < m.rows(); ++r) a.push_back(to_json_vector(m.row(r).transpose()));
  return a;
}

/// log densities on the grid as rows j (z2) of columns i (z1); -inf (underflow) stored as -1e300
/// because JSON has no infinity.
nlohmann::ordered_json grid_values_to_json(const VectorD& values, Index nx, Index ny) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (Index j = 0; j < ny; ++j) {
    nlohmann::ordered_json row = nlohmann::ordered_json::array();
    for (Index i = 0; i < nx; ++i) {
      const double v = values(i + nx * j);
      row.push_back(std::isfinite(v) ? v : -1e300);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

/// Total variation between the empirical distribution of `draws` (2 x N) and the exact cell
/// masses on coarse bins of cells_per_bin x cells_per_bin grid cells, plus one bin outside the
/// grid's box (estimators/posterior_discrepancy.hpp).
double total_variation_on_grid(const MatrixD& draws, const Grid2d& grid, const VectorD& cell_mass, Index cells_per_bin) {
  return total_variation_of_draws(draws, GridBins2d{grid.x, grid.y, cells_per_bin}, cell_mass);
}

/// Unbiased MMD² between samples A (2 x N) and B (2 x M) with the Gaussian kernel
/// k(a, b) = exp(-‖W(a - b)‖² / 2), W = L⁻¹ the exact posterior's whitening (L Lᵀ = Cov[z|x]),
/// i.e. bandwidth one posterior standard deviation along every direction.
double squared_mmd(const MatrixD& A, const MatrixD& B, const MatrixD& posterior_cholesky) {
  const MatrixD a = posterior_cholesky.triangularView<Eigen::Lower>().solve(A);
  const MatrixD b = posterior_cholesky.triangularView<Eigen::Lower>().solve(B);
  const auto mean_kernel = [](const MatrixD& u, const MatrixD& v, bool same) {
    double sum = 0.0;
    for (Index i = 0; i < u.cols(); ++i)
      for (Index j = same ? i + 1 : 0; j < v.cols(); ++j) sum += std::exp(-0.5 * (u.col(i) - v.col(j)).squaredNorm());
    const double n = static_cast<double>(u.cols()), m = static_cast<double>(v.cols());
    return same ? 2.0 * sum / (n * (n - 1.0)) : sum / (n * m);
  };
  return mean_kernel(a, a, true) + mean_kernel(b, b, true) - 2.0 * mean_kernel(a, b, false);
}

/// Every step-th column so that at most `count` remain (count 0: none).
MatrixD thin_columns(const MatrixD& Z, Index count) {
  if (count <= 0) return MatrixD(Z.rows(), 0);
  if (Z.cols() <= count) return Z;
  const double step = static_cast<double>(Z.cols()) / static_cast<double>(count);
  MatrixD out(Z.rows(), count);
  for (Index k = 0; k < count; ++k) out.col(k) = Z.col(static_cast<Index>(k * step));
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
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

/// What one panel of the picture shows.
struct Panel {
  Index datapoint = 0;
  Grid2d grid;
  VectorD exact_density;  // on grid.points(), p(z|x)
  VectorD q_mean, q_star_mean;
  MatrixD q_covariance, q_star_covariance;
  MatrixD hmc_draws;  // 2 x (thinned)
  VectorF image, gray_image;
  std::string hmc_summary;
  double log_marginal = 0.0, kl_q = 0.0, kl_q_star = 0.0;
};

std::string draw_picture(const std::vector<Panel>& panels, Index image_rows, Index image_cols, const std::string& title,
                         const std::string& hmc_label) {
  const double panel_width = 400, panel_height = 470, plot_size = 310, plot_left = 64, plot_top = 110;
  const Index columns = std::min<Index>(4, static_cast<Index>(panels.size()));
  const Index rows = (static_cast<Index>(panels.size()) + columns - 1) / columns;
  const double header = 62;
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

  for (std::size_t p = 0; p < panels.size(); ++p) {
    const Panel& panel = panels[p];
    const double ox = 5 + static_cast<double>(static_cast<Index>(p) % columns) * panel_width;
    const double oy = header + static_cast<double>(static_cast<Index>(p) / columns) * panel_height;
    svg::Frame frame;
    frame.left = ox + plot_left;
    frame.top = oy + plot_top;
    frame.width = frame.height = plot_size;
    const Grid2d& g = panel.grid;
    const double hx = (g.x(1) - g.x(0)) / 2, hy = (g.y(1) - g.y(0)) / 2;
    frame.x_min = g.x(0) - hx;
    frame.x_max = g.x(g.x.size() - 1) + hx;
    frame.y_min = g.y(0) - hy;
    frame.y_max = g.y(g.y.size() - 1) + hy;

    doc.text(ox + 10, oy + 22, "test datapoint " + std::to_string(panel.datapoint), 14, "start", 0.0, "#000000", "bold");
    doc.text(ox + 10, oy + 42, "log p(x) = " + format("%.2f", panel.log_marginal) + " nats", 12);
    doc.text(ox + 10, oy + 60, "KL(q‖p) = " + format("%.3f", panel.kl_q), 12, "start", 0.0, "#c0391b");
    doc.text(ox + 10, oy + 78, "KL(q*‖p) = " + format("%.3f", panel.kl_q_star), 12, "start", 0.0, "#00838f");
    doc.text(ox + 10, oy + 96, panel.hmc_summary, 11, "start", 0.0, "#444444");
    if (panel.image.size() == image_rows * image_cols && image_rows > 0) {
      // The grayscale test image and the binary x the posterior conditions on, side by side.
      const double pixel = 2.0, side = image_cols * pixel;
      const double right = ox + panel_width - 14;
      svg::draw_grayscale_image(doc, right - 2 * side - 8, oy + 8, panel.gray_image, image_rows, image_cols, pixel);
      svg::draw_grayscale_image(doc, right - side, oy + 8, panel.image, image_rows, image_cols, pixel);
      doc.text(right - 1.5 * side - 8, oy + 8 + image_rows * pixel + 13, "image", 10, "middle");
      doc.text(right - 0.5 * side, oy + 8 + image_rows * pixel + 13, "x (binary)", 10, "middle");
    }

    doc.begin_clip(frame.left, frame.top, frame.width, frame.height);
    doc.rect(frame.left, frame.top, frame.width, frame.height, svg::heat_color(0.0).hex());
    MatrixD values(g.x.size(), g.y.size());
    for (Index j = 0; j < g.y.size(); ++j)
      for (Index i = 0; i < g.x.size(); ++i) values(i, j) = panel.exact_density(i + g.x.size() * j);
    svg::draw_heat_map(doc, frame, g.x, g.y, values, 0.01);
    for (Index c = 0; c < panel.hmc_draws.cols(); ++c)
      doc.circle(frame.px(panel.hmc_draws(0, c)), frame.py(panel.hmc_draws(1, c)), 1.3, kColorHmc, 0.75);
    for (const auto& [mean, cov, color] :
         {std::tuple{panel.q_mean, panel.q_covariance, kColorQ}, std::tuple{panel.q_star_mean, panel.q_star_covariance, kColorQStar}}) {
      doc.polyline(svg::to_pixels(frame, svg::gaussian_ellipse(mean(0), mean(1), cov, 1.0)), color, 2.0, true);
      doc.polyline(svg::to_pixels(frame, svg::gaussian_ellipse(mean(0), mean(1), cov, 2.0)), color, 1.6, true, "6,4");
      const double cx = frame.px(mean(0)), cy = frame.py(mean(1));
      doc.line(cx - 4, cy, cx + 4, cy, color, 2.0);
      doc.line(cx, cy - 4, cx, cy + 4, color, 2.0);
    }
    doc.end_clip();
    svg::draw_axes(doc, frame, "z1", "z2", 5);
  }
  return doc.str();
}

int posterior_2d_main(int argc, char** argv) {
  CommonOptions common;
  DatasetOptions data;
  std::string checkpoint, datapoint_list = "0,1,2,3", split = "test", binarization_override, picture = "posterior_2d.svg",
                          png;
  Index grid_nodes = 101, tv_cells_per_bin = 5, json_draws = 1000, picture_draws = 600, mmd_samples = 2000;
  double grid_half_width = 5.0;
  HmcOptions hmc;
  hmc.chains = 4;
  hmc.warmup = 500;
  hmc.draws = 500;
  LocalOptimizationOptions local;
  local.family = LocalGaussianFamily::full_covariance;
  ExactPosteriorOptions exact_options;

  po::options_description d("Options");
  add_common_options(d, common, "posterior_2d.json");
  add_dataset_options(d, data);
  d.add_options()
      ("checkpoint", po::value(&checkpoint)->required(), "VAE checkpoint (safetensors) with latent dimension 2")
      ("datapoints", po::value(&datapoint_list)->default_value(datapoint_list), "comma-separated indices into the split")
      ("split", po::value(&split)->default_value(split), "train or test")
      ("binarization", po::value(&binarization_override)->default_value(""),
       "dynamic, threshold or none (default: as the checkpoint was trained)")
      ("picture", po::value(&picture)->default_value(picture), "path of the SVG picture")
      ("png", po::value(&png)->default_value(""), "also write a PNG here (rendered by rsvg-convert or ImageMagick's convert; skipped if neither works)")
      ("grid-nodes", po::value(&grid_nodes)->default_value(grid_nodes), "grid nodes per axis (odd, >= 11)")
      ("grid-half-width", po::value(&grid_half_width)->default_value(grid_half_width),
       "grid half-width in exact posterior standard deviations (widened to show q and q*)")
      ("hmc-chains", po::value(&hmc.chains)->default_value(hmc.chains), "HMC chains per datapoint")
      ("hmc-warmup", po::value(&hmc.warmup)->default_value(hmc.warmup), "HMC warm-up iterations")
      ("hmc-draws", po::value(&hmc.draws)->default_value(hmc.draws), "HMC draws per chain")
      ("hmc-leapfrog-steps", po::value(&hmc.leapfrog_steps)->default_value(hmc.leapfrog_steps), "leapfrog steps per transition")
      ("local-max-steps", po::value(&local.max_steps)->default_value(local.max_steps), "max Adam steps of q*")
      ("local-samples", po::value(&local.samples_per_step)->default_value(local.samples_per_step),
       "reparameterized samples per q* step")
      ("mmd-samples", po::value(&mmd_samples)->default_value(mmd_samples), "exact-posterior draws for the MMD (>= 2)")
      ("tv-cells-per-bin", po::value(&tv_cells_per_bin)->default_value(tv_cells_per_bin),
       "grid cells per histogram bin side for the total variation (>= 1)")
      ("json-draws", po::value(&json_draws)->default_value(json_draws), "HMC draws per datapoint kept in the JSON (thinned)")
      ("picture-draws", po::value(&picture_draws)->default_value(picture_draws), "HMC draws per panel drawn as dots");
  if (!parse_command_line(argc, argv, "vigap-posterior-2d",
                          "Pictures and compares p(z|x), the encoder q, the local q* and HMC for a 2-D latent VAE.", d,
                          common))
    return 0;

  const std::vector<Index> datapoints = parse_index_list(datapoint_list);
  if (grid_nodes < 11 || grid_nodes % 2 == 0)
    throw std::invalid_argument("--grid-nodes must be odd and >= 11, found " + std::to_string(grid_nodes));
  if (!(grid_half_width >= 1.0) || !std::isfinite(grid_half_width))
    throw std::invalid_argument("--grid-half-width must be >= 1 (posterior standard deviations), found " +
                                std::to_string(grid_half_width));
  if (mmd_samples < 2) throw std::invalid_argument("--mmd-samples must be >= 2, found " + std::to_string(mmd_samples));
  if (tv_cells_per_bin < 1) throw std::invalid_argument("--tv-cells-per-bin must be >= 1");
  if (json_draws < 0) throw std::invalid_argument("--json-draws must be >= 0");
  if (picture_draws < 0) throw std::invalid_argument("--picture-draws must be >= 0");
  if (hmc.draws * hmc.chains < 2) throw std::invalid_argument("--hmc-draws x --hmc-chains must be >= 2 for the MMD");
  hmc.validate();
  local.validate();
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(common.out);
  check_writable_output_path(picture);
  if (!png.empty()) check_writable_output_path(png);

  const Vae vae = load_vae_checkpoint(checkpoint);
  const GenerativeModel& model = vae.decoder;
  if (model.latent_dim() != 2)
    throw std::invalid_argument("vigap-posterior-2d needs a checkpoint with latent dimension 2; " + checkpoint +
                                " has latent dimension " + std::to_string(model.latent_dim()));
  if (!vae.encoder) throw std::invalid_argument("checkpoint " + checkpoint + " has no encoder: q and q* need one");

  const Dataset dataset = load_dataset(data, split);
  if (dataset.dimension() != model.data_dim())
    throw std::invalid_argument("dataset " + dataset.name + " has dimension " + std::to_string(dataset.dimension()) +
                                ", the checkpoint's model expects " + std::to_string(model.data_dim()));
  for (Index i : datapoints)
    if (i >= dataset.size())
      throw std::invalid_argument("--datapoints: index " + std::to_string(i) + " is out of range: " + dataset.name +
                                  " (" + split + ") has " + std::to_string(dataset.size()) + " datapoints (0.." +
                                  std::to_string(dataset.size() - 1) + ")");
  const EvaluationBinarization binarization =
      evaluation_binarization(vae.metadata, binarization_override, "checkpoint " + checkpoint);
  // The whole split binarized once (fixed seed), as vigap-evaluate does: datapoint i is the same
  // binary image in every binary.
  const MatrixF binary = binarize_evaluation_set(dataset.images, binarization);
  const Index B = static_cast<Index>(datapoints.size());
  MatrixF X(binary.rows(), B);
  for (Index b = 0; b < B; ++b) X.col(b) = binary.col(datapoints[static_cast<std::size_t>(b)]);

  // Draws for datapoint i (its index in the split, from --datapoints) are keyed by (--seed, i,
  // purpose, substream): a datapoint's picture does not depend on the others chosen with it.
  std::vector<std::uint64_t> dataset_indices;
  for (Index i : datapoints) dataset_indices.push_back(static_cast<std::uint64_t>(i));
  const RandomStreams streams(common.seed, dataset_indices);
  nlohmann::ordered_json configuration;
  configuration["checkpoint"] = checkpoint;
  configuration["architecture"] = vae.architecture.to_json();
  configuration["checkpoint_metadata"] = vae.metadata;
  configuration["datapoints"] = datapoints;
  configuration["split"] = split;
  configuration["binarization"] = binarization.name;
  configuration["evaluation_binarization_seed"] = kEvaluationBinarizationSeed;
  configuration["grid"] = {{"nodes_per_axis", grid_nodes},
                           {"half_width_posterior_sd", grid_half_width},
                           {"rule", "centered on E[z|x]; half-width per axis max(k sd_p, |mean_q - mean_p| + 2.5 sd_q over q, q*), at most 3k sd_p"}};
  configuration["hmc"] = hmc.to_json();
  configuration["local_optimization"] = {{"family", to_string(local.family)},
                                         {"max_steps", local.max_steps},
                                         {"samples_per_step", local.samples_per_step},
                                         {"initial", "encoder"}};
  configuration["total_variation_cells_per_bin"] = tv_cells_per_bin;
  configuration["mmd"] = {{"exact_samples", mmd_samples},
                          {"kernel", "exp(-|L^-1 (a - b)|^2 / 2), L L^T = Cov[z|x]"},
                          {"estimator", "unbiased MMD^2"}};
  if (vae.flow) configuration["note"] = "the checkpoint has a flow: q shown is the encoder's Gaussian before the flow";
  configuration["threads"] = common.threads;
  nlohmann::ordered_json document =
      make_result_document("posterior_2d", configuration, dataset_identity(dataset, split), common.seed);
  nlohmann::ordered_json& timings = document["timings"];

  std::printf("%s: %lld %s datapoints of %s\n", model.describe().c_str(), static_cast<long long>(B), split.c_str(),
              dataset.name.c_str());

  // Exact posterior: log p(x), E[z|x], Cov[z|x] by quadrature.
  auto start = std::chrono::steady_clock::now();
  const ExactPosterior exact(model, X, exact_options);
  timings["exact_posterior_seconds"] = seconds_since(start);

  // Amortized q and the local q* started from it.
  const DiagonalGaussian q = DiagonalGaussian::from_encoder(*vae.encoder, X);
  start = std::chrono::steady_clock::now();
  const LocalGaussianOptimization local_result = optimize_local_gaussian(model, X, q, local, streams);
  timings["local_optimization_seconds"] = seconds_since(start);
  const auto& q_star = std::get<FullCovarianceGaussian>(local_result.optimized);

  // KL(q‖p) and KL(q*‖p) by quadrature against the exact log p(x).
  start = std::chrono::steady_clock::now();
  KlQuadratureOptions kl_options;
  kl_options.quadrature = exact_options.quadrature;
  const QuadratureKlDivergence kl_q =
      kl_divergence_by_quadrature(model, q, X, exact.log_marginal_likelihood(), kl_options, streams);
  const QuadratureKlDivergence kl_q_star = kl_divergence_by_quadrature(model, q_star, X, exact.log_marginal_likelihood(),
                                                                       kl_options, streams.with_substream(1));
  timings["kl_quadrature_seconds"] = seconds_since(start);

  // HMC, all datapoints' chains in one batch.
  start = std::chrono::steady_clock::now();
  const HmcResult chains = hmc_sample_posterior(model, X, hmc, streams);
  timings["hmc_seconds"] = seconds_since(start);
  const Index hmc_samples = hmc.chains * hmc.draws;

  // Exact-posterior reference draws: two independent sets (the second measures the discrepancy
  // measures' own noise floor at the HMC sample size).
  BatchRng exact_generators = streams.generators(StreamPurpose::exact_posterior_sampling);
  const MatrixD exact_draws = exact.sample(mmd_samples, exact_generators);
  const MatrixD exact_reference = exact.sample(hmc_samples, exact_generators);

  // Q's and q*'s densities on each datapoint's grid: Z = 2 x (B·G), datapoint b's grid in columns b·G...
  const Index G = grid_nodes * grid_nodes;
  std::vector<Grid2d> grids(static_cast<std::size_t>(B));
  MatrixD all_points(2, B * G);
  std::vector<MatrixD> q_covariances, q_star_covariances;
  for (Index b = 0; b < B; ++b) {
    const VectorD mp = exact.mean().col(b);
    const VectorD sp = standard_deviations(exact.covariance()[static_cast<std::size_t>(b)]);
    const VectorD mq = q.mean().col(b);
    const VectorD sq = q.log_variance().col(b).array().exp().sqrt();
    const MatrixD& L = q_star.cholesky_factors()[static_cast<std::size_t>(b)];
    const MatrixD q_star_cov = L * L.transpose();
    const VectorD sqs = standard_deviations(q_star_cov);
    const VectorD mqs = q_star.mean().col(b);
    q_covariances.push_back(sq.array().square().matrix().asDiagonal());
    q_star_covariances.push_back(q_star_cov);
    Grid2d& grid = grids[static_cast<std::size_t>(b)];
    const double wx = half_width(grid_half_width, mp(0), sp(0), {{mq(0), sq(0)}, {mqs(0), sqs(0)}});
    const double wy = half_width(grid_half_width, mp(1), sp(1), {{mq(1), sq(1)}, {mqs(1), sqs(1)}});
    grid.x = linspace(mp(0) - wx, mp(0) + wx, grid_nodes);
    grid.y = linspace(mp(1) - wy, mp(1) + wy, grid_nodes);
    all_points.middleCols(b * G, G) = grid.points();
  }
  start = std::chrono::steady_clock::now();
  const VectorD log_q_all = q.log_density(all_points, G);
  const VectorD log_q_star_all = q_star.log_density(all_points, G);
  timings["grid_densities_seconds"] = seconds_since(start);

  nlohmann::ordered_json per_datapoint = nlohmann::ordered_json::array();
  std::vector<Panel> panels;
  std::printf("\n| %9s | %10s | %9s | %9s | %11s | %9s | %10s | %10s |\n", "datapoint", "log p(x)", "KL(q||p)",
              "KL(q*||p)", "grid mass", "HMC TV", "HMC MMD2", "iid MMD2");
  for (Index b = 0; b < B; ++b) {
    const std::size_t bs = static_cast<std::size_t>(b);
    const Grid2d& grid = grids[bs];
    const MatrixD points = grid.points();
    const VectorD log_exact = exact.log_density_on_grid(points).row(b).transpose();
    const VectorD log_q = log_q_all.segment(b * G, G), log_q_star = log_q_star_all.segment(b * G, G);
    const VectorD cell_mass = log_exact.array().exp() * grid.cell_area();
    const double mass_on_grid = cell_mass.sum();

    const VectorD mp = exact.mean().col(b);
    const MatrixD& cov_p = exact.covariance()[bs];
    const MatrixD Lp = cov_p.llt().matrixL();
    const MatrixD draws = chains.draws_of(b);
    const VectorD hmc_mean = draws.rowwise().mean();
    const MatrixD centered = draws.colwise() - hmc_mean;
    const MatrixD hmc_cov = centered * centered.transpose() / static_cast<double>(draws.cols() - 1);
    const VectorD mean_error = hmc_mean - mp;
    const double mean_error_mahalanobis = Lp.triangularView<Eigen::Lower>().solve(mean_error).norm();
    const double cov_error_relative = (hmc_cov - cov_p).norm() / cov_p.norm();
    const MatrixD exact_b = exact_draws.middleCols(b * mmd_samples, mmd_samples);
    const MatrixD reference_b = exact_reference.middleCols(b * hmc_samples, hmc_samples);
    const double tv_hmc = total_variation_on_grid(draws, grid, cell_mass, tv_cells_per_bin);
    const double tv_iid = total_variation_on_grid(reference_b, grid, cell_mass, tv_cells_per_bin);
    const double mmd2_hmc = squared_mmd(draws, exact_b, Lp);
    const double mmd2_iid = squared_mmd(reference_b, exact_b, Lp);
    const double log_marginal = exact.log_marginal_likelihood().per_datapoint(b);
    const double klq = kl_q.kl_divergence.per_datapoint(b), klqs = kl_q_star.kl_divergence.per_datapoint(b);

    nlohmann::ordered_json r;
    r["datapoint"] = datapoints[bs];
    r["label"] = dataset.labels[static_cast<std::size_t>(datapoints[bs])];
    r["log_marginal_likelihood"] = log_marginal;
    r["log_marginal_likelihood_error_estimate"] = exact.log_marginal_likelihood().per_datapoint_standard_error(b);
    r["posterior_mean"] = to_json_vector(mp);
    r["posterior_covariance"] = to_json_matrix(cov_p);
    r["q"] = {{"mean", to_json_vector(q.mean().col(b))}, {"covariance", to_json_matrix(q_covariances[bs])}};
    r["q_star"] = {{"mean", to_json_vector(q_star.mean().col(b))},
                   {"covariance", to_json_matrix(q_star_covariances[bs])},
                   {"steps", local_result.steps_taken[bs]},
                   {"stopped_by_rule", static_cast<bool>(local_result.stopped_by_rule[bs])}};
    r["kl_q_to_posterior"] = klq;
    r["kl_q_to_posterior_error_estimate"] = kl_q.kl_divergence.per_datapoint_standard_error(b);
    r["kl_q_star_to_posterior"] = klqs;
    r["kl_q_star_to_posterior_error_estimate"] = kl_q_star.kl_divergence.per_datapoint_standard_error(b);
    r["grid"] = {{"z1", to_json_vector(grid.x)},
                 {"z2", to_json_vector(grid.y)},
                 {"cell_area", grid.cell_area()},
                 {"layout", "log_density.<name>[j][i] is at (z1[i], z2[j])"},
                 {"exact_mass_on_grid", mass_on_grid}};
    r["log_density"] = {{"exact", grid_values_to_json(log_exact, grid_nodes, grid_nodes)},
                        {"q", grid_values_to_json(log_q, grid_nodes, grid_nodes)},
                        {"q_star", grid_values_to_json(log_q_star, grid_nodes, grid_nodes)}};
    const MatrixD kept = thin_columns(draws, json_draws);
    r["hmc"] = {
        {"draws", {{"z1", to_json_vector(kept.row(0).transpose())}, {"z2", to_json_vector(kept.row(1).transpose())}}},
        {"draws_total", draws.cols()},
        {"mean", to_json_vector(hmc_mean)},
        {"covariance", to_json_matrix(hmc_cov)},
        {"mean_error", to_json_vector(mean_error)},
        {"mean_error_in_posterior_sd", mean_error_mahalanobis},
        {"covariance_relative_frobenius_error", cov_error_relative},
        {"total_variation", tv_hmc},
        {"total_variation_iid_exact_reference", tv_iid},
        {"mmd_squared", mmd2_hmc},
        {"mmd", std::sqrt(std::max(0.0, mmd2_hmc))},
        {"mmd_squared_iid_exact_reference", mmd2_iid},
        {"mmd_iid_exact_reference", std::sqrt(std::max(0.0, mmd2_iid))},
        {"r_hat", to_json_vector(chains.diagnostics.r_hat.col(b))},
        {"bulk_ess", to_json_vector(chains.diagnostics.bulk_ess.col(b))},
        {"gradient_evaluations", chains.gradient_evaluations / B}};
    per_datapoint.push_back(std::move(r));
    std::printf("| %9lld | %10.3f | %9.4f | %9.4f | %11.6f | %9.4f | %10.2e | %10.2e |\n",
                static_cast<long long>(datapoints[bs]), log_marginal, klq, klqs, mass_on_grid, tv_hmc, mmd2_hmc,
                mmd2_iid);

    Panel panel;
    panel.datapoint = datapoints[bs];
    panel.grid = grid;
    panel.exact_density = log_exact.array().exp();
    panel.q_mean = q.mean().col(b);
    panel.q_covariance = q_covariances[bs];
    panel.q_star_mean = q_star.mean().col(b);
    panel.q_star_covariance = q_star_covariances[bs];
    panel.hmc_draws = thin_columns(draws, picture_draws);
    panel.image = X.col(b);
    panel.gray_image = dataset.images.col(datapoints[bs]);
    panel.hmc_summary = "HMC: TV " + format("%.3f", tv_hmc) + " (iid " + format("%.3f", tv_iid) + "), mean err " +
                        format("%.2f", mean_error_mahalanobis) + " sd";
    panel.log_marginal = log_marginal;
    panel.kl_q = klq;
    panel.kl_q_star = klqs;
    panels.push_back(std::move(panel));
  }
  nlohmann::ordered_json& results = document["results"];
  results["datapoints"] = std::move(per_datapoint);
  results["hmc_gradient_evaluations_per_datapoint"] = chains.gradient_evaluations / B;
  results["hmc_divergences"] = chains.divergences;
  results["hmc_mean_acceptance_rate"] = chains.acceptance_rate.mean();
  results["q_star_gradient_evaluations_per_datapoint"] = local_result.gradient_evaluations / B;
  results["mean_kl_q_to_posterior"] = kl_q.kl_divergence.per_datapoint.mean();
  results["mean_kl_q_star_to_posterior"] = kl_q_star.kl_divergence.per_datapoint.mean();
  results["exact_unconverged_datapoints"] = exact.quadrature().unconverged;

  const std::string svg = draw_picture(panels, dataset.image_rows, dataset.image_cols,
                                       "Posteriors of " + std::filesystem::path(checkpoint).filename().string() +
                                           " (" + dataset.name + ", " + split + ")",
                                       "HMC draws (" + std::to_string(std::min(picture_draws, hmc_samples)) + " of " +
                                           std::to_string(hmc.chains) + " x " + std::to_string(hmc.draws) + ")");
  write_picture_and_result(picture, svg, common.out, document);
  std::printf("\nHMC: %lld gradient evaluations per datapoint, acceptance %.2f, %lld divergences; q*: %lld per datapoint\n",
              static_cast<long long>(chains.gradient_evaluations / B), chains.acceptance_rate.mean(),
              static_cast<long long>(chains.divergences), static_cast<long long>(local_result.gradient_evaluations / B));
  std::printf("picture: %s\n", picture.c_str());
  if (!png.empty()) write_png(picture, png);
  std::printf("results: %s\n", common.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_binary("vigap-posterior-2d", [&] { return posterior_2d_main(argc, argv); });
}
