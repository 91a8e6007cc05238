#include "core/training/vae_objective.hpp"

#include <cmath>
#include <stdexcept>

#include "core/math/log_sum_exp.hpp"

namespace vigap {

namespace {

// Per datapoint b, from the log weights log w_{b,s}: f_b = log (1/S) Σ_s w_{b,s} (IWAE) or
// (1/S) Σ_s log w_{b,s} (ELBO), and the column weights a_c = ∂F/∂ log w_c of F = (1/B) Σ_b f_b.
VectorD combine_log_weights(const VectorD& log_weight, Index B, Index S, TrainingObjective objective,
                            VectorF& column_weights) {
  VectorD f(B);
  column_weights.resize(B * S);
  for (Index b = 0; b < B; ++b) {
    const auto segment = log_weight.segment(b * S, S);
    if (objective == TrainingObjective::iwae) {
      const double lse = log_sum_exp(segment);
      f(b) = lse - std::log(static_cast<double>(S));
      for (Index s = 0; s < S; ++s)
        column_weights(b * S + s) = static_cast<float>(std::exp(segment(s) - lse) / static_cast<double>(B));
    } else {
      f(b) = segment.mean();
      column_weights.segment(b * S, S).setConstant(1.0f / static_cast<float>(B * S));
    }
  }
  return f;
}

// Training steps split their networks into unpadded blocks of nearly equal width (thread-count
// independent, and a batch of 100 is not padded to 128 columns).
void make_workspaces(const TrainableEncoder& encoder, const TrainableDecoder& decoder, VaeObjectiveWorkspace& ws) {
  if (!ws.encoder) ws.encoder = encoder.make_workspace(ColumnBlocking::balanced);
  if (!ws.decoder) ws.decoder = decoder.make_workspace(ColumnBlocking::balanced);
}

}  // namespace

TrainingObjective parse_training_objective(const std::string& name) {
  if (name == "elbo") return TrainingObjective::elbo;
  if (name == "iwae") return TrainingObjective::iwae;
  throw std::invalid_argument("unknown --objective '" + name + "': expected elbo or iwae");
}
std::string to_string(TrainingObjective objective) { return objective == TrainingObjective::elbo ? "elbo" : "iwae"; }

KlEstimator parse_kl_estimator(const std::string& name) {
  if (name == "analytic") return KlEstimator::analytic;
  if (name == "monte-carlo" || name == "monte_carlo") return KlEstimator::monte_carlo;
  throw std::invalid_argument("unknown --kl '" + name + "': expected analytic or monte-carlo");
}
std::string to_string(KlEstimator estimator) {
  return estimator == KlEstimator::analytic ? "analytic" : "monte-carlo";
}

EncoderGradient parse_encoder_gradient(const std::string& name) {
  if (name == "reparameterized") return EncoderGradient::reparameterized;
  if (name == "stl" || name == "sticking-the-landing") return EncoderGradient::sticking_the_landing;
  if (name == "dreg" || name == "doubly-reparameterized") return EncoderGradient::doubly_reparameterized;
  throw std::invalid_argument("unknown encoder gradient '" + name + "': expected reparameterized, stl or dreg");
}
std::string to_string(EncoderGradient gradient) {
  switch (gradient) {
    case EncoderGradient::reparameterized: return "reparameterized";
    case EncoderGradient::sticking_the_landing: return "stl";
    case EncoderGradient::doubly_reparameterized: return "dreg";
  }
  return "unknown";
}

void VaeObjectiveOptions::validate() const {
  if (samples < 1)
    throw std::invalid_argument("the number of samples (S or K) must be >= 1, found " + std::to_string(samples));
  if (!(kl_weight >= 0.0 && kl_weight <= 1.0))
    throw std::invalid_argument("the KL weight must be in [0, 1], found " + std::to_string(kl_weight));
  if (encoder_gradient == EncoderGradient::sticking_the_landing && objective == TrainingObjective::elbo &&
      kl_estimator == KlEstimator::analytic)
    throw std::invalid_argument(
        "the sticking-the-landing encoder gradient needs a Monte Carlo log q term: expected the IWAE objective or "
        "the ELBO with the monte-carlo KL estimator, found the ELBO with the analytic KL");
  if (encoder_gradient == EncoderGradient::doubly_reparameterized && objective != TrainingObjective::iwae)
    throw std::invalid_argument(
        "the doubly reparameterized encoder gradient is defined for the IWAE objective, found objective " +
        to_string(objective));
}

double vae_objective(const TrainableEncoder& encoder, const TrainableDecoder& decoder, const MatrixF& X,
                     const MatrixF& noise, const VaeObjectiveOptions& options, VaeObjectiveWorkspace& ws,
                     VectorF* grad_encoder, VectorF* grad_decoder, VectorD* per_datapoint) {
  options.validate();
  const Index B = X.cols();
  const Index S = options.samples;
  const Index d = encoder.latent_dim();
  if (decoder.latent_dim() != d || decoder.data_dim() != encoder.data_dim())
    throw std::invalid_argument("vae_objective: encoder " + encoder.describe() + " does not fit decoder " +
                                decoder.describe());
  if (noise.rows() != d || noise.cols() != B * S)
    throw std::invalid_argument("vae_objective: noise must be " + std::to_string(d) + " x " +
                                std::to_string(B * S) + ", found " + std::to_string(noise.rows()) + " x " +
                                std::to_string(noise.cols()));
  const float beta = static_cast<float>(options.kl_weight);
  const bool analytic = options.objective == TrainingObjective::elbo && options.kl_estimator == KlEstimator::analytic;

  make_workspaces(encoder, decoder, ws);
  encoder.forward(X, *ws.encoder, ws.mean, ws.log_variance);
  const MatrixF std_dev = (0.5f * ws.log_variance.array()).exp();
  ws.latents.resize(d, B * S);
  for (Index c = 0; c < B * S; ++c)
    ws.latents.col(c) = ws.mean.col(c / S) + std_dev.col(c / S).cwiseProduct(noise.col(c));

  const VectorD log_likelihood = decoder.forward(X, ws.latents, S, *ws.decoder);

  // log w_c = log p(x|z_c) + β (log p(z_c) - log q(z_c|x)); the 2π terms of p and q cancel.
  // log p(z) - log q(z|x) = -½‖z‖² + ½‖ε‖² + ½ Σ_j v_j.
  VectorD log_weight = log_likelihood;
  VectorD kl_analytic;
  if (analytic) {
    kl_analytic = (0.5 * (ws.mean.array().square() + ws.log_variance.array().exp() - 1.0f - ws.log_variance.array()))
                      .cast<double>()
                      .colwise()
                      .sum()
                      .transpose();
  } else {
    for (Index c = 0; c < B * S; ++c) {
      const double log_ratio = -0.5 * ws.latents.col(c).cast<double>().squaredNorm() +
                               0.5 * noise.col(c).cast<double>().squaredNorm() +
                               0.5 * ws.log_variance.col(c / S).cast<double>().sum();
      log_weight(c) += options.kl_weight * log_ratio;
    }
  }

  VectorD f = combine_log_weights(log_weight, B, S, options.objective, ws.column_weights);
  if (analytic) f -= options.kl_weight * kl_analytic;
  if (per_datapoint != nullptr) *per_datapoint = f;
  const double objective = f.mean();
  if (grad_encoder == nullptr && grad_decoder == nullptr) return objective;

  if (grad_decoder != nullptr) grad_decoder->setZero(decoder.num_parameters());
  decoder.backward(X, ws.latents, S, ws.column_weights, *ws.decoder, grad_decoder,
                   grad_encoder != nullptr ? &ws.grad_latents : nullptr);
  if (grad_encoder == nullptr) return objective;

  // ∂F/∂z_c: the decoder's part plus, in the Monte Carlo forms, β a_c ∂log p(z)/∂z = -β a_c z.
  // The doubly reparameterized gradient weighs column c by e_c = B a_c² = w̃_c²/B instead of a_c
  // (the decoder's part is linear in the column weight, so it is rescaled by e_c / a_c = B a_c).
  // The path-only estimators (STL, DReG) add β e_c ∂(-log q(z|x))/∂z at fixed q = β e_c ε_c / σ_b.
  const bool path_only = options.encoder_gradient != EncoderGradient::reparameterized;
  if (!analytic)
    for (Index c = 0; c < B * S; ++c) {
      float e = ws.column_weights(c);
      if (options.encoder_gradient == EncoderGradient::doubly_reparameterized) {
        ws.grad_latents.col(c) *= static_cast<float>(B) * e;
        e *= static_cast<float>(B) * e;
      }
      ws.grad_latents.col(c) -= (beta * e) * ws.latents.col(c);
      if (path_only) ws.grad_latents.col(c) += (beta * e) * noise.col(c).cwiseQuotient(std_dev.col(c / S));
    }

  // Through z = μ + exp(v/2) ε: ∂z/∂μ = 1, ∂z/∂v = ½ exp(v/2) ε.
  ws.grad_mean.setZero(d, B);
  ws.grad_log_variance.setZero(d, B);
  for (Index c = 0; c < B * S; ++c) {
    const Index b = c / S;
    ws.grad_mean.col(b) += ws.grad_latents.col(c);
    ws.grad_log_variance.col(b) += 0.5f * ws.grad_latents.col(c).cwiseProduct(std_dev.col(b)).cwiseProduct(noise.col(c));
  }
  const float inv_B = 1.0f / static_cast<float>(B);
  if (analytic) {
    // -β/B ∂KL/∂μ = -β μ / B;   -β/B ∂KL/∂v = -β (e^v - 1) / (2B)
    ws.grad_mean.array() -= beta * inv_B * ws.mean.array();
    ws.grad_log_variance.array() -= 0.5f * beta * inv_B * (ws.log_variance.array().exp() - 1.0f);
  } else if (!path_only) {
    // β ∂(-log q)/∂v_j = β/2 per column, weighted by a_c; Σ_s a_{b,s} = 1/B.
    ws.grad_log_variance.array() += 0.5f * beta * inv_B;
  }
  grad_encoder->setZero(encoder.num_parameters());
  encoder.backward(X, ws.grad_mean, ws.grad_log_variance, *ws.encoder, grad_encoder);
  return objective;
}

double vae_objective(const TrainableEncoder& encoder, const AffineCouplingFlow* flow, const TrainableDecoder& decoder,
                     const MatrixF& X, const MatrixF& noise, const VaeObjectiveOptions& options,
                     VaeObjectiveWorkspace& ws, VectorF* grad_encoder, VectorF* grad_flow, VectorF* grad_decoder,
                     VectorD* per_datapoint) {
  if (flow == nullptr) return vae_objective(encoder, decoder, X, noise, options, ws, grad_encoder, grad_decoder, per_datapoint);
  options.validate();
  const Index B = X.cols();
  const Index S = options.samples;
  const Index d = encoder.latent_dim();
  if (decoder.latent_dim() != d || decoder.data_dim() != encoder.data_dim() || flow->latent_dim() != d)
    throw std::invalid_argument("vae_objective: encoder " + encoder.describe() + ", flow " + flow->describe() +
                                " and decoder " + decoder.describe() + " do not fit together");
  if (noise.rows() != d || noise.cols() != B * S)
    throw std::invalid_argument("vae_objective: noise must be " + std::to_string(d) + " x " +
                                std::to_string(B * S) + ", found " + std::to_string(noise.rows()) + " x " +
                                std::to_string(noise.cols()));
  if (options.encoder_gradient != EncoderGradient::reparameterized)
    throw std::invalid_argument("vae_objective with a flow posterior supports the reparameterized encoder gradient "
                                "only, found " + to_string(options.encoder_gradient));
  if (options.objective == TrainingObjective::elbo && options.kl_estimator == KlEstimator::analytic)
    throw std::invalid_argument(
        "the ELBO of a flow posterior has no analytic KL term: use --kl monte-carlo (or auto) with --flow-layers");
  const float beta = static_cast<float>(options.kl_weight);

  make_workspaces(encoder, decoder, ws);
  encoder.forward(X, *ws.encoder, ws.mean, ws.log_variance);
  const MatrixF std_dev = (0.5f * ws.log_variance.array()).exp();
  ws.base_latents.resize(d, B * S);
  for (Index c = 0; c < B * S; ++c)
    ws.base_latents.col(c) = ws.mean.col(c / S) + std_dev.col(c / S).cwiseProduct(noise.col(c));
  flow->forward(ws.base_latents, ws.flow, ws.latents, ws.log_det);

  // log w_c = log p(x|z_c) + β(-½‖z_c‖² + ½‖ε_c‖² + ½ Σ_j v_j + log det_c); the 2π terms cancel.
  VectorD log_weight = decoder.forward(X, ws.latents, S, *ws.decoder);
  for (Index c = 0; c < B * S; ++c) {
    const double log_ratio = -0.5 * ws.latents.col(c).cast<double>().squaredNorm() +
                             0.5 * noise.col(c).cast<double>().squaredNorm() +
                             0.5 * ws.log_variance.col(c / S).cast<double>().sum() + ws.log_det(c);
    log_weight(c) += options.kl_weight * log_ratio;
  }
  const VectorD f = combine_log_weights(log_weight, B, S, options.objective, ws.column_weights);
  if (per_datapoint != nullptr) *per_datapoint = f;
  const double objective = f.mean();
  if (grad_encoder == nullptr && grad_flow == nullptr && grad_decoder == nullptr) return objective;

  if (grad_decoder != nullptr) grad_decoder->setZero(decoder.num_parameters());
  const bool through_latents = grad_encoder != nullptr || grad_flow != nullptr;
  decoder.backward(X, ws.latents, S, ws.column_weights, *ws.decoder, grad_decoder,
                   through_latents ? &ws.grad_latents : nullptr);
  if (!through_latents) return objective;

  // ∂F/∂z_c = decoder part - β a_c z_c;  ∂F/∂(log det_c) = β a_c.
  for (Index c = 0; c < B * S; ++c) ws.grad_latents.col(c) -= (beta * ws.column_weights(c)) * ws.latents.col(c);
  ws.grad_log_det = beta * ws.column_weights;
  if (grad_flow != nullptr) grad_flow->setZero(flow->num_parameters());
  flow->backward(ws.flow, ws.grad_latents, ws.grad_log_det, grad_flow,
                 grad_encoder != nullptr ? &ws.grad_base_latents : nullptr);
  if (grad_encoder == nullptr) return objective;

  // Through z_0 = μ + exp(v/2) ε, plus β ∂(½ Σ v)/∂v_j = β/2 per column weight (Σ_s a_{b,s} = 1/B).
  ws.grad_mean.setZero(d, B);
  ws.grad_log_variance.setZero(d, B);
  for (Index c = 0; c < B * S; ++c) {
    const Index b = c / S;
    ws.grad_mean.col(b) += ws.grad_base_latents.col(c);
    ws.grad_log_variance.col(b) +=
        0.5f * ws.grad_base_latents.col(c).cwiseProduct(std_dev.col(b)).cwiseProduct(noise.col(c));
  }
  ws.grad_log_variance.array() += 0.5f * beta / static_cast<float>(B);
  grad_encoder->setZero(encoder.num_parameters());
  encoder.backward(X, ws.grad_mean, ws.grad_log_variance, *ws.encoder, grad_encoder);
  return objective;
}

}  // namespace vigap
