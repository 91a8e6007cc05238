#pragma once
// The training objectives of a VAE (ELBO and IWAE-K) and their reparameterized gradients.
#include <string>

#include <memory>

#include "core/models/trainable_decoder.hpp"
#include "core/variational/affine_coupling_flow.hpp"
#include "core/variational/trainable_encoder.hpp"

namespace vigap {

/// Which bound training maximizes.
enum class TrainingObjective { elbo, iwae };
/// How the ELBO's KL(q(z|x) ‖ p(z)) term is computed.
enum class KlEstimator { analytic, monte_carlo };
/// Which estimator of the encoder gradient ∂F/∂φ vae_objective returns (the decoder gradient
/// and the objective's value do not depend on it).
enum class EncoderGradient {
  /// The full reparameterized gradient: log q(z|x) differentiated through z and through φ.
  reparameterized,
  /// Sticking the landing (Roeder, Wu & Duvenaud 2017): the score term ∂log q(z|x)/∂φ at fixed z is
  /// dropped (stop-gradient on q's parameters inside log q). For the ELBO it is unbiased (the score
  /// has expectation 0) and it is exactly 0 when q(z|x) = p(z|x); for IWAE it is biased (Tucker et al.
  /// 2018). Monte Carlo forms only (IWAE or the ELBO with KlEstimator::monte_carlo).
  sticking_the_landing,
  /// Doubly reparameterized IWAE gradient (Tucker, Lawson, Gu & Maddison 2018):
  ///   ∂F/∂φ = (1/B) Σ_b Σ_k w̃_{b,k}² ∂log w_{b,k}/∂z_{b,k} ∂z_{b,k}/∂φ,  w̃ the normalized weights,
  /// with log w's log q differentiated through z only. Unbiased for the IWAE gradient; IWAE only.
  doubly_reparameterized,
};

TrainingObjective parse_training_objective(const std::string& name);
std::string to_string(TrainingObjective objective);
KlEstimator parse_kl_estimator(const std::string& name);
std::string to_string(KlEstimator estimator);
/// Parses "reparameterized", "stl" (or "sticking-the-landing") and "dreg" (or "doubly-reparameterized").
EncoderGradient parse_encoder_gradient(const std::string& name);
/// "reparameterized", "stl" or "dreg".
std::string to_string(EncoderGradient gradient);

/// Settings of vae_objective.
struct VaeObjectiveOptions {
  TrainingObjective objective = TrainingObjective::elbo;
  /// ELBO only: analytic KL (lower variance) or the Monte Carlo estimate log q - log p.
  KlEstimator kl_estimator = KlEstimator::analytic;
  /// S (ELBO: averaged) or K (IWAE: importance samples); >= 1.
  Index samples = 1;
  /// β in [0, 1], the warm-up weight of the prior-versus-q terms (1 is the true bound):
  /// ELBO  (1/S) Σ_s log p(x|z_s) - β KL            (analytic)
  ///       (1/S) Σ_s [log p(x|z_s) + β(log p(z_s) - log q(z_s|x))]   (Monte Carlo)
  /// IWAE  log (1/K) Σ_k exp(log p(x|z_k) + β(log p(z_k) - log q(z_k|x)))
  double kl_weight = 1.0;
  /// The encoder-gradient estimator (default: the full reparameterized gradient). sticking_the_landing
  /// needs a Monte Carlo form, doubly_reparameterized the IWAE objective; the flow overload of
  /// vae_objective supports reparameterized only.
  EncoderGradient encoder_gradient = EncoderGradient::reparameterized;
  /// Throws std::invalid_argument naming the option when a value is out of range.
  void validate() const;
};

/// Reused buffers of vae_objective. The encoder's and decoder's workspaces are made on first use
/// (make_workspace(ColumnBlocking::balanced)); reuse one VaeObjectiveWorkspace with the same
/// encoder and decoder types.
struct VaeObjectiveWorkspace {
  std::unique_ptr<TrainableEncoder::Workspace> encoder;
  std::unique_ptr<TrainableDecoder::Workspace> decoder;
  MatrixF mean, log_variance, latents, grad_latents, grad_mean, grad_log_variance;
  VectorF column_weights;
  // Flow posterior only:
  AffineCouplingFlow::Workspace flow;
  MatrixF base_latents, grad_base_latents;
  VectorD log_det;
  VectorF grad_log_det;
};

/// The per-batch objective F = (1/B) Σ_b f_b(x_b), f_b as in VaeObjectiveOptions, with
/// z_{b,s} = μ_φ(x_b) + exp(v_φ(x_b)/2) ⊙ ε_{b,s} for the given standard-normal noise ε
/// (d x (B·S), the S columns of datapoint b consecutive). With β = 1 this is a lower bound
/// on the batch mean of log p(x) (ELBO ≤ IWAE_K ≤ log p(x)) for this noise' expectation.
/// Writes ∂F/∂φ and ∂F/∂θ (the gradients of the objective to maximize) into *grad_encoder and
/// *grad_decoder when non-null, overwriting them. Returns F, and f_b in *per_datapoint if non-null.
double vae_objective(const TrainableEncoder& encoder, const TrainableDecoder& decoder, const MatrixF& X,
                     const MatrixF& noise, const VaeObjectiveOptions& options, VaeObjectiveWorkspace& workspace,
                     VectorF* grad_encoder, VectorF* grad_decoder, VectorD* per_datapoint = nullptr);

/// The same objective for the flow posterior q(z|x): z_0 = μ_φ(x) + exp(v_φ(x)/2) ⊙ ε, z = T_ψ(z_0)
/// with one global AffineCouplingFlow T_ψ shared by every datapoint (not conditioned on x), so
///   log q(z|x) = log N(z_0; μ, diag e^v) - log|det ∂T_ψ/∂z_0|,
///   log p(z) - log q(z|x) = -½‖z‖² + ½‖ε‖² + ½ Σ_j v_j + log|det ∂T_ψ/∂z_0|.
/// q's KL to the prior has no closed form, so the ELBO needs options.kl_estimator = monte_carlo
/// (std::invalid_argument otherwise); IWAE is as before. With flow == nullptr this is exactly
/// the Gaussian vae_objective above (grad_flow untouched). Writes ∂F/∂ψ into *grad_flow when
/// non-null (overwriting it). Bias direction as above: with β = 1 a lower bound on log p(x).
double vae_objective(const TrainableEncoder& encoder, const AffineCouplingFlow* flow, const TrainableDecoder& decoder,
                     const MatrixF& X, const MatrixF& noise, const VaeObjectiveOptions& options,
                     VaeObjectiveWorkspace& workspace, VectorF* grad_encoder, VectorF* grad_flow,
                     VectorF* grad_decoder, VectorD* per_datapoint = nullptr);

}  // namespace vigap
