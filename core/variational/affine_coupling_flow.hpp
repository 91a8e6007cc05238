#pragma once
// A normalizing flow of K affine coupling layers (RealNVP, Dinh, Sohl-Dickstein & Bengio 2017).
//
// Why affine coupling: vigap's latent dimensions are 2-50, and every approximation must give
// log q(z) of arbitrary points (quadrature KL, importance sampling), not only of its own draws.
// A coupling layer is invertible in closed form, its Jacobian is triangular (log-det = sum of
// log-scales), and its conditioner is an ordinary MLP, so forward, inverse and the hand-written
// backward pass are all cheap and exact. Planar/radial flows have no closed-form inverse (no
// log_density of given points); IAF needs MADE masks to be autoregressive and its inverse is
// sequential in d. With alternating masks, two layers already let every coordinate depend on
// every other; one layer represents a correlated 2-D Gaussian exactly (z2' = z2 e^{s} + t(z1),
// t linear).
#include <functional>
#include <string>
#include <vector>

#include "core/nn/activation.hpp"
#include "core/nn/dense_layer.hpp"
#include "core/random.hpp"
#include "core/types.hpp"

namespace vigap {

/// Shapes of an AffineCouplingFlow.
struct AffineCouplingFlowArchitecture {
  Index latent_dim = 2;                 ///< d >= 1
  Index num_layers = 4;                 ///< K >= 1 coupling layers
  std::vector<Index> hidden_sizes{64};  ///< conditioner MLP hidden sizes, each >= 1 (empty: linear)
  Activation activation = Activation::tanh;  ///< conditioner hidden nonlinearity
  /// c > 0: the log-scale is s = c·tanh(a / c) of the conditioner's raw output a, so each layer
  /// scales a coordinate by at most e^{±c} (stability) while s ≈ a near 0.
  double log_scale_bound = 3.0;
  /// Throws std::invalid_argument naming the field when a value is out of range.
  void validate() const;
};

/// z_K = T(z_0) = T_K ∘ ... ∘ T_1 (z_0), applied column by column to a d x N matrix.
///
/// Layer k has the fixed binary mask m_k (m_kj = 1 iff j ≡ k mod 2: alternating even/odd
/// coordinates) and the conditioner MLP (a_s, a_t) = NN_k(m_k ⊙ z), d -> hidden... -> 2d:
///   s = (1 - m_k) ⊙ c·tanh(a_s / c),   t = (1 - m_k) ⊙ a_t,
///   T_k(z) = z ⊙ exp(s) + t,           log|det ∂T_k/∂z| = Σ_j s_j,
///   T_k⁻¹(y) = (y - t) ⊙ exp(-s)       (s, t computed from m_k ⊙ y = m_k ⊙ z).
/// All parameters live in one flat float vector (layer k's conditioner, its dense layers' W then
/// b in order), so Adam and checkpoints handle one vector. Float math, log-dets summed in double.
class AffineCouplingFlow {
 public:
  /// What forward keeps for backward of one fixed column block (core/nn/column_blocks.hpp).
  struct BlockWorkspace {
    /// inputs[k]: z entering layer k (d x block width); the inverse pass keeps the same
    std::vector<MatrixF> inputs;
    std::vector<MatrixF> masked_inputs;          ///< m_k ⊙ inputs[k]
    std::vector<std::vector<MatrixF>> outputs;   ///< outputs[k][l]: conditioner layer l output (activated)
    std::vector<MatrixF> log_scales;             ///< s of layer k (zero on conditioning rows)
    MatrixF grad, grad_conditioner, delta, delta_previous, grad_masked_input;  ///< scratch
    MatrixF z, shift, raw_top;                   ///< scratch
    VectorD log_det;                             ///< the block's log-determinants
    VectorF grad_log_det;                        ///< the block's ∂F/∂log_det (padding zero)
    VectorF gradient;                            ///< the block's ∂F/∂θ (summed in block order)
  };
  /// What forward keeps for backward; reuse one across calls to avoid allocation.
  struct Workspace {
    std::vector<BlockWorkspace> blocks;
    Index columns = 0;  ///< N of the last forward pass
  };

  AffineCouplingFlow() = default;
  explicit AffineCouplingFlow(AffineCouplingFlowArchitecture architecture);

  const AffineCouplingFlowArchitecture& architecture() const { return architecture_; }
  Index latent_dim() const { return architecture_.latent_dim; }
  Index num_layers() const { return architecture_.num_layers; }
  Index num_parameters() const { return parameters_.size(); }
  VectorF& parameters() { return parameters_; }
  const VectorF& parameters() const { return parameters_; }
  /// The dense layers of coupling layer k's conditioner (offsets into parameters()).
  const std::vector<DenseLayer>& conditioner_layers(Index k) const { return conditioners_[static_cast<size_t>(k)]; }
  /// m_k: 1 on the coordinates layer k conditions on (passes through), 0 on those it transforms.
  const VectorF& mask(Index k) const { return masks_[static_cast<size_t>(k)]; }
  std::string describe() const;

  /// Hidden layers PyTorch-style (uniform ±1/sqrt(fan_in)); every conditioner's output layer
  /// zero, so the flow starts as the identity map (log-det 0).
  void initialize(Rng& rng);

  /// Z = T(Z0) and log_det(n) = log|det ∂T/∂z0| at column n of Z0 (d x N). Forward, backward
  /// and inverse run on fixed column blocks split over worker_threads() threads, so that each
  /// column's results are the same bits whatever N, its position and the thread count (the
  /// parameter gradient is summed over blocks in block order).
  void forward(const MatrixF& Z0, Workspace& workspace, MatrixF& Z, VectorD& log_det) const;

  /// After forward(Z0, workspace, ...), for a scalar F(Z, log_det) with ∂F/∂Z = grad_Z (d x N)
  /// and ∂F/∂log_det = grad_log_det (N): accumulates ∂F/∂θ into *grad_parameters (when non-null;
  /// sized num_parameters()) and writes ∂F/∂Z0 into *grad_Z0 (when non-null).
  void backward(Workspace& workspace, const MatrixF& grad_Z, const VectorF& grad_log_det, VectorF* grad_parameters,
                MatrixF* grad_Z0) const;

  /// Z0 = T⁻¹(Z), and log_det(n) = log|det ∂T/∂z0| at Z0's column n (the forward log-det), so
  /// log q_K(z) = log q_0(T⁻¹(z)) - log_det.
  void inverse(const MatrixF& Z, MatrixF& Z0, VectorD& log_det) const;

  /// As inverse(Z, Z0, log_det) (the same bits), keeping in `workspace` what inverse_backward needs.
  void inverse(const MatrixF& Z, Workspace& workspace, MatrixF& Z0, VectorD& log_det) const;

  /// After inverse(Z, workspace, ...), for a scalar F(Z0, log_det) with ∂F/∂Z0 = grad_Z0 (d x N)
  /// and ∂F/∂log_det = grad_log_det (N), writes ∂F/∂Z into grad_Z: layer by layer from Z0 back to
  /// Z, through x = (y - t) ⊙ e^{-s} with (s, t) = NN_k(m_k ⊙ y):
  ///   ∂F/∂s = (1-m) ⊙ (-∂F/∂x ⊙ x + ∂F/∂log_det),   ∂F/∂t = -(1-m) ⊙ ∂F/∂x ⊙ e^{-s},
  ///   ∂F/∂y = ∂F/∂x ⊙ e^{-s} + m ⊙ ∂F/∂(m ⊙ y)   (the conditioner's backward pass).
  /// With F = log q_0(Z0) - log_det this is ∇_z log q_K(z). The parameters' gradient is not computed.
  void inverse_backward(Workspace& workspace, const MatrixF& grad_Z0, const VectorF& grad_log_det,
                        MatrixF& grad_Z) const;

 private:
  /// out = raw conditioner output (2d x N) of layer k for masked input x; keeps activations in *outputs.
  void conditioner_forward(Index k, const MatrixF& x, std::vector<MatrixF>& outputs) const;
  /// s and t of layer k from the raw output (raw_top: scratch for its first d rows, contiguous).
  void log_scale_and_shift(Index k, const MatrixF& raw, MatrixF& raw_top, MatrixF& s, MatrixF& t) const;
  /// forward / backward / inverse of one padded block (block.inputs[0] or z holds its input).
  void forward_block(BlockWorkspace& block) const;
  void backward_block(BlockWorkspace& block, VectorF* grad_parameters) const;
  void inverse_block(BlockWorkspace& block) const;
  /// inverse() on fixed column blocks, block b's memory from block_for(b).
  void inverse_blocks(const MatrixF& Z, const std::function<BlockWorkspace&(Index)>& block_for, MatrixF& Z0,
                      VectorD& log_det) const;
  void inverse_backward_block(BlockWorkspace& block) const;
  /// The end of layer k's backward pass (forward or inverse map), given ∂F/∂(raw log-scale) in
  /// block.raw_top, ∂F/∂t in block.shift and layer k's elementwise output/input factor (e^s or
  /// e^{-s}) in block.z: the conditioner's backward pass (accumulating ∂F/∂θ into
  /// *grad_parameters when non-null), then block.grad = block.grad ⊙ block.z + m_k ⊙ ∂F/∂(m_k ⊙ input).
  void conditioner_backward(Index k, BlockWorkspace& block, VectorF* grad_parameters) const;

  AffineCouplingFlowArchitecture architecture_;
  std::vector<std::vector<DenseLayer>> conditioners_;
  std::vector<VectorF> masks_;
  VectorF parameters_;
};

}  // namespace vigap
