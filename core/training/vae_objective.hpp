#pragma once
// The training objectives of a VAE (ELBO and IWAE-K) and their reparameterized gradients.
#include <string>

#include "core/models/mlp_decoder_model.hpp"
#include "core/variational/affine_coupling_flow.hpp"
#include "core/variational/gaussian_encoder.hpp"

namespace vigap {

/// Which bound training maximizes.
enum class TrainingObjective { elbo, iwae };
/// How the ELBO's KL(q(z|x) ‖ p(z)) term is computed.
enum class KlEstimator { analytic, monte_carlo };

TrainingObjective parse_training_objective(const std::string& name);
std::string to_string(TrainingObjective objective);
KlEstimator parse_kl_estimator(const std::string& name);
std::string to_string(KlEstimator estimator);

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
  /// Throws std::invalid_argument naming the option when a value is out of range.
  void validate() const;
};

/// Reused buffers of vae_objective.
struct VaeObjectiveWorkspace {
  GaussianEncoder::Workspace encoder;
  MlpDecoderModel::Workspace decoder;
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
double vae_objective(const GaussianEncoder& encoder, const MlpDecoderModel& decoder, const MatrixF& X,
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
double vae_objective(const GaussianEncoder& encoder, const AffineCouplingFlow* flow, const MlpDecoderModel& decoder,
                     const MatrixF& X, const MatrixF& noise, const VaeObjectiveOptions& options,
                     VaeObjectiveWorkspace& workspace, VectorF* grad_encoder, VectorF* grad_flow,
                     VectorF* grad_decoder, VectorD* per_datapoint = nullptr);

}  // namespace vigap
