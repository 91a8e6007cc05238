#include "core/training/exact_marginal_likelihood_objective.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <numbers>
#include <stdexcept>
#include <string>

#include "core/parallel/worker_pool.hpp"

namespace vigap {

namespace {

// A node whose responsibilities sum to at most this, (1/B) Σ_b r_bg <= 1e-10, is left out of
// the gradient: each datapoint's r_b· sums to 1, so all left-out nodes together carry at most
// G · 1e-10 (1.6e-6 for the default 128² grid) of the batch's posterior mass, and the gradient
// changes by at most that fraction of its size.
constexpr float kNegligibleNodeMass = 1e-10f;

/// Workspaces of one decoder for the tasks of parallel_for_tasks: a task takes one (made on first
/// need, fixed column blocks) and gives it back, so about one per thread exists.
class WorkspacePool {
 public:
  explicit WorkspacePool(const TrainableDecoder& decoder) : decoder_(decoder) {}
  std::unique_ptr<TrainableDecoder::Workspace> take() {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (free_.empty()) return decoder_.make_workspace(ColumnBlocking::fixed);
    std::unique_ptr<TrainableDecoder::Workspace> workspace = std::move(free_.back());
    free_.pop_back();
    return workspace;
  }
  void give_back(std::unique_ptr<TrainableDecoder::Workspace> workspace) {
    const std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(workspace));
  }

 private:
  const TrainableDecoder& decoder_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<TrainableDecoder::Workspace>> free_;
};

}  // namespace

void ExactMarginalLikelihoodObjectiveOptions::validate(Index latent_dim) const {
  if (latent_dim < 1 || latent_dim > 3)
    throw std::invalid_argument("exact marginal-likelihood training needs a latent dimension of 1 to 3 (the grid grows as "
                                "n^d), found " + std::to_string(latent_dim));
  if (!(half_width > 0.0 && std::isfinite(half_width)))
    throw std::invalid_argument("--grid-half-width must be > 0, found " + std::to_string(half_width));
  if (cells_per_dimension < 1)
    throw std::invalid_argument("--grid-cells must be >= 1, found " + std::to_string(cells_per_dimension));
  double nodes = 1.0;
  for (Index j = 0; j < latent_dim; ++j) nodes *= static_cast<double>(cells_per_dimension);
  if (nodes > static_cast<double>(Index{1} << 26))
    throw std::invalid_argument("--grid-cells " + std::to_string(cells_per_dimension) + " gives " +
                                std::to_string(static_cast<long long>(nodes)) + " nodes in " +
                                std::to_string(latent_dim) + " dimensions: expected at most 2^26");
  if (nodes_per_block < 1)
    throw std::invalid_argument("grid nodes per block must be >= 1, found " + std::to_string(nodes_per_block));
}

LatentGrid shifted_latent_grid(Index latent_dim, const ExactMarginalLikelihoodObjectiveOptions& options,
                               const VectorD& shift) {
  options.validate(latent_dim);
  const double h = options.spacing();
  if (shift.size() != latent_dim)
    throw std::invalid_argument("grid shift has " + std::to_string(shift.size()) + " entries, expected " +
                                std::to_string(latent_dim));
  for (Index j = 0; j < latent_dim; ++j)
    if (!(std::abs(shift(j)) <= 0.5 * h))
      throw std::invalid_argument("grid shift " + std::to_string(shift(j)) + " is beyond half a cell (" +
                                  std::to_string(0.5 * h) + ")");
  const Index n = options.cells_per_dimension;
  Index G = 1;
  for (Index j = 0; j < latent_dim; ++j) G *= n;
  LatentGrid grid;
  grid.shift = shift;
  grid.nodes.resize(latent_dim, G);
  grid.log_weights.resize(G);
  const double log_cell = static_cast<double>(latent_dim) * std::log(h);
  const double log_normalizer = -0.5 * static_cast<double>(latent_dim) * std::log(2.0 * std::numbers::pi);
  for (Index g = 0; g < G; ++g) {
    Index rest = g;
    double squared_norm = 0.0;
    for (Index j = 0; j < latent_dim; ++j) {
      const Index i = rest % n;
      rest /= n;
      const double z = -options.half_width + (static_cast<double>(i) + 0.5) * h + shift(j);
      grid.nodes(j, g) = static_cast<float>(z);
      const double zf = static_cast<double>(grid.nodes(j, g));  // the prior at the node the decoder sees
      squared_norm += zf * zf;
    }
    grid.log_weights(g) = log_cell + log_normalizer - 0.5 * squared_norm;
  }
  return grid;
}

VectorD draw_grid_shift(Index latent_dim, const ExactMarginalLikelihoodObjectiveOptions& options, Rng& rng) {
  options.validate(latent_dim);
  VectorD shift = VectorD::Zero(latent_dim);
  if (!options.random_shift) return shift;
  const double h = options.spacing();
  for (Index j = 0; j < latent_dim; ++j) shift(j) = (uniform_01(rng) - 0.5) * h;
  return shift;
}

double exact_marginal_likelihood_objective(const TrainableDecoder& decoder, const MatrixF& X, const LatentGrid& grid,
                                           Index nodes_per_block, VectorF* grad_decoder, VectorD* per_datapoint) {
  const char* caller = "exact_marginal_likelihood_objective";
  if (decoder.likelihood() != Likelihood::bernoulli)
    throw std::invalid_argument(std::string(caller) + ": needs a Bernoulli decoder, found " +
                                to_string(decoder.likelihood()));
  if (X.rows() != decoder.data_dim())
    throw std::invalid_argument(std::string(caller) + ": data have dimension " + std::to_string(X.rows()) +
                                ", the decoder expects " + std::to_string(decoder.data_dim()));
  if (X.cols() < 1) throw std::invalid_argument(std::string(caller) + ": no data");
  if (grid.nodes.rows() != decoder.latent_dim() || grid.size() < 1 || grid.log_weights.size() != grid.size())
    throw std::invalid_argument(std::string(caller) + ": the grid has dimension " + std::to_string(grid.nodes.rows()) +
                                " and " + std::to_string(grid.size()) + " nodes, the decoder latent dimension " +
                                std::to_string(decoder.latent_dim()));
  if (nodes_per_block < 1) throw std::invalid_argument(std::string(caller) + ": nodes per block must be >= 1");

  WorkspacePool workspaces(decoder);
  const Index B = X.cols();
  const Index G = grid.size();
  const Index num_blocks = (G + nodes_per_block - 1) / nodes_per_block;

  // Pass 1: a_bg = log w_g + log p(z_g) + x_bᵀ L_g - Σ_i softplus(L_ig), B x G.
  MatrixF log_joint(B, G);
  parallel_for_tasks(num_blocks, [&](Index k) {
    thread_local MatrixF product;
    std::unique_ptr<TrainableDecoder::Workspace> ws = workspaces.take();
    const Index first = k * nodes_per_block, count = std::min(nodes_per_block, G - first);
    const MatrixF& logits = decoder.output(grid.nodes.middleCols(first, count), *ws);
    const RowVectorD softplus_sum =
        (logits.array().max(0.0f) + (-logits.array().abs()).exp().log1p()).cast<double>().colwise().sum();
    product.noalias() = X.transpose() * logits;
    const RowVectorD offset = grid.log_weights.segment(first, count).transpose() - softplus_sum;
    for (Index g = 0; g < count; ++g)
      log_joint.col(first + g) =
          (product.col(g).cast<double>().array() + offset(g)).cast<float>();
    workspaces.give_back(std::move(ws));
  });

  // log p̂(x_b) = m_b + log Σ_g exp(a_bg - m_b).
  const VectorF row_max = log_joint.rowwise().maxCoeff();
  VectorD sums = VectorD::Zero(B);
  for (Index g = 0; g < G; ++g) sums += (log_joint.col(g) - row_max).array().exp().cast<double>().matrix();
  const VectorD log_px = row_max.cast<double>() + sums.array().log().matrix();
  if (per_datapoint != nullptr) *per_datapoint = log_px;
  const double objective = log_px.mean();
  if (grad_decoder == nullptr) return objective;

  // Pass 2: ∂F/∂L = X R - σ(L) diag(1ᵀ R), R = exp(a - log p̂) / B, block by block, then backward.
  const VectorF log_px_f = log_px.cast<float>();
  const float inverse_batch = 1.0f / static_cast<float>(B);
  std::vector<VectorF> block_gradients(static_cast<size_t>(num_blocks));
  parallel_for_tasks(num_blocks, [&](Index k) {
    thread_local MatrixF block_responsibilities, responsibilities, nodes, grad_logits;
    const Index first = k * nodes_per_block, count = std::min(nodes_per_block, G - first);
    VectorF& gradient = block_gradients[static_cast<size_t>(k)];
    gradient.setZero(decoder.num_parameters());
    block_responsibilities =
        ((log_joint.middleCols(first, count).colwise() - log_px_f).array().exp() * inverse_batch).matrix();
    const RowVectorF block_mass = block_responsibilities.colwise().sum();
    // Only nodes some posterior of the batch reaches enter the backward pass: sharp posteriors
    // cover a small part of the grid (see kNegligibleNodeMass).
    std::vector<Index> active;
    for (Index g = 0; g < count; ++g)
      if (block_mass(g) > kNegligibleNodeMass) active.push_back(g);
    if (active.empty()) return;
    const Index n = static_cast<Index>(active.size());
    responsibilities.resize(B, n);
    nodes.resize(grid.nodes.rows(), n);
    RowVectorF mass(n);
    for (Index j = 0; j < n; ++j) {
      responsibilities.col(j) = block_responsibilities.col(active[static_cast<size_t>(j)]);
      nodes.col(j) = grid.nodes.col(first + active[static_cast<size_t>(j)]);
      mass(j) = block_mass(active[static_cast<size_t>(j)]);
    }
    std::unique_ptr<TrainableDecoder::Workspace> ws = workspaces.take();
    const MatrixF& logits = decoder.output(nodes, *ws);
    grad_logits.noalias() = X * responsibilities;
    grad_logits.array() -= (1.0f + (-logits.array()).exp()).inverse().rowwise() * mass.array();
    decoder.backward_output(nodes, grad_logits, *ws, &gradient);
    workspaces.give_back(std::move(ws));
  });
  grad_decoder->setZero(decoder.num_parameters());
  for (const VectorF& gradient : block_gradients) *grad_decoder += gradient;
  return objective;
}

}  // namespace vigap
