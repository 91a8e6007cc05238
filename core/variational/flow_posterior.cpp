#include "core/variational/flow_posterior.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace vigap {

FlowPosterior::FlowPosterior(MatrixD base_mean, MatrixD base_log_variance, std::vector<AffineCouplingFlow> flows,
                             std::string name, bool fitted_per_datapoint)
    : base_mean_(std::move(base_mean)),
      base_log_variance_(std::move(base_log_variance)),
      flows_(std::move(flows)),
      name_(std::move(name)),
      fitted_per_datapoint_(fitted_per_datapoint) {
  if (base_mean_.rows() < 1 || base_mean_.rows() != base_log_variance_.rows() ||
      base_mean_.cols() != base_log_variance_.cols())
    throw std::invalid_argument("FlowPosterior: base mean (" + std::to_string(base_mean_.rows()) + " x " +
                                std::to_string(base_mean_.cols()) + ") and log-variance (" +
                                std::to_string(base_log_variance_.rows()) + " x " +
                                std::to_string(base_log_variance_.cols()) + ") must be non-empty and of one shape");
  if (!base_mean_.allFinite() || !base_log_variance_.allFinite())
    throw std::invalid_argument("FlowPosterior: base mean and log-variance must be finite");
  if (flows_.size() != 1 && static_cast<Index>(flows_.size()) != base_mean_.cols())
    throw std::invalid_argument("FlowPosterior: expected 1 shared flow or one per datapoint (" +
                                std::to_string(base_mean_.cols()) + "), found " + std::to_string(flows_.size()));
  for (const AffineCouplingFlow& f : flows_) {
    if (f.latent_dim() != base_mean_.rows())
      throw std::invalid_argument("FlowPosterior: a flow has latent dimension " + std::to_string(f.latent_dim()) +
                                  ", the base Gaussian " + std::to_string(base_mean_.rows()));
    if (!f.parameters().allFinite()) throw std::invalid_argument("FlowPosterior: flow parameters must be finite");
  }
}

FlowPosterior FlowPosterior::from_encoder(const GaussianEncoder& encoder, const AffineCouplingFlow& flow,
                                          const MatrixF& X) {
  GaussianEncoder::Workspace ws;
  MatrixF mean, log_variance;
  encoder.forward(X, ws, mean, log_variance);
  return FlowPosterior(mean.cast<double>(), log_variance.cast<double>(), {flow},
                       "amortized flow posterior (encoder + global " + flow.describe() + ")");
}

std::string FlowPosterior::describe() const {
  return name_ + " [" + flows_.front().describe() + (fitted_per_datapoint() ? ", one per datapoint" : ", shared") + "]";
}

VectorD FlowPosterior::base_log_density(const MatrixD& Z0, Index S) const {
  const double constant = -0.5 * static_cast<double>(latent_dim()) * std::log(2.0 * std::numbers::pi);
  VectorD out(Z0.cols());
  for (Index c = 0; c < Z0.cols(); ++c) {
    const Index b = c / S;  // scalar loops: the same bits at any batch position
    double squared = 0.0, log_det = 0.0;
    for (Index j = 0; j < Z0.rows(); ++j) {
      const double standardized = (Z0(j, c) - base_mean_(j, b)) * std::exp(-0.5 * base_log_variance_(j, b));
      squared += standardized * standardized;
      log_det += base_log_variance_(j, b);
    }
    out(c) = constant - 0.5 * (squared + log_det);
  }
  return out;
}

MatrixD FlowPosterior::sample(Index S, BatchRng& generators) const {
  VectorD unused;
  return sample_with_log_density(S, generators, unused);
}

MatrixD FlowPosterior::sample_with_log_density(Index S, BatchRng& generators, VectorD& log_density_out) const {
  check_generators(generators, S, "FlowPosterior::sample");
  const Index d = latent_dim();
  const Index B = num_datapoints();
  const MatrixD eps = standard_normal_matrix(d, B * S, generators);
  MatrixF Z0(d, B * S);
  const double constant = -0.5 * static_cast<double>(d) * std::log(2.0 * std::numbers::pi);
  log_density_out.resize(B * S);
  for (Index c = 0; c < B * S; ++c) {
    const Index b = c / S;  // scalar loops: the same bits at any batch position
    double squared = 0.0, log_det = 0.0;
    for (Index j = 0; j < d; ++j) {
      Z0(j, c) = static_cast<float>(base_mean_(j, b) + std::exp(0.5 * base_log_variance_(j, b)) * eps(j, c));
      squared += eps(j, c) * eps(j, c);
      log_det += base_log_variance_(j, b);
    }
    log_density_out(c) = constant - 0.5 * (squared + log_det);
  }
  AffineCouplingFlow::Workspace ws;
  MatrixF Z;
  VectorD log_det;
  if (shares_flow()) {
    flows_.front().forward(Z0, ws, Z, log_det);
    log_density_out -= log_det;
    return Z.cast<double>();
  }
  MatrixD out(d, B * S);
  for (Index b = 0; b < B; ++b) {
    flows_[static_cast<size_t>(b)].forward(Z0.middleCols(b * S, S), ws, Z, log_det);
    out.middleCols(b * S, S) = Z.cast<double>();
    log_density_out.segment(b * S, S) -= log_det;
  }
  return out;
}

VectorD FlowPosterior::log_density(const MatrixD& Z, Index S) const {
  check_latents(Z, S, "FlowPosterior::log_density");
  const Index B = num_datapoints();
  const MatrixF Zf = Z.cast<float>();
  MatrixF Z0;
  VectorD log_det;
  if (shares_flow()) {
    flows_.front().inverse(Zf, Z0, log_det);
    return base_log_density(Z0.cast<double>(), S) - log_det;
  }
  MatrixD Z0_all(latent_dim(), B * S);
  VectorD log_det_all(B * S);
  for (Index b = 0; b < B; ++b) {
    flows_[static_cast<size_t>(b)].inverse(Zf.middleCols(b * S, S), Z0, log_det);
    Z0_all.middleCols(b * S, S) = Z0.cast<double>();
    log_det_all.segment(b * S, S) = log_det;
  }
  return base_log_density(Z0_all, S) - log_det_all;
}

VectorD FlowPosterior::log_density_with_gradient(const MatrixD& Z, Index S, MatrixD& grad_Z) const {
  check_latents(Z, S, "FlowPosterior::log_density_with_gradient");
  const Index d = latent_dim();
  const Index N = Z.cols();
  const MatrixF Zf = Z.cast<float>();
  MatrixD Z0_all(d, N);
  VectorD log_det_all(N);
  grad_Z.resize(d, N);
  AffineCouplingFlow::Workspace ws;
  MatrixF Z0, grad_Z0, grad_Zf;
  VectorD log_det;
  // Columns [first, first + n) all pushed through `flow`: every column (shared flow) or one datapoint's S.
  const auto through = [&](const AffineCouplingFlow& flow, Index first, Index n) {
    flow.inverse(Zf.middleCols(first, n), ws, Z0, log_det);
    Z0_all.middleCols(first, n) = Z0.cast<double>();
    log_det_all.segment(first, n) = log_det;
    grad_Z0.resize(d, n);
    for (Index i = 0; i < n; ++i) {
      const Index b = (first + i) / S;
      for (Index j = 0; j < d; ++j)
        grad_Z0(j, i) =
            static_cast<float>(-(Z0_all(j, first + i) - base_mean_(j, b)) * std::exp(-base_log_variance_(j, b)));
    }
    flow.inverse_backward(ws, grad_Z0, VectorF::Constant(n, -1.0f), grad_Zf);
    grad_Z.middleCols(first, n) = grad_Zf.cast<double>();
  };
  if (shares_flow()) {
    through(flows_.front(), 0, N);
  } else {
    for (Index b = 0; b < num_datapoints(); ++b) through(flows_[static_cast<size_t>(b)], b * S, S);
  }
  return base_log_density(Z0_all, S) - log_det_all;
}

}  // namespace vigap
