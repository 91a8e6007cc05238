#pragma once
// The batched target density an HMC transition samples from: log π(z) and ∇ log π(z) per column.
#include <functional>

#include "core/models/generative_model.hpp"
#include "core/types.hpp"

namespace vigap {

/// The value of a target at N points (the columns of a d x N latent matrix).
///
/// auxiliary holds k values per column (k may be 0) that the target wants carried along with the
/// point (e.g. AIS keeps log p(x|z) and its gradient there, so changing the temperature needs no
/// new model call). The HMC kernel only reads log_density and gradient, and moves auxiliary
/// columns together with accepted points.
struct TargetEvaluation {
  VectorD log_density;  ///< N values log π(z_c)
  MatrixD gradient;     ///< d x N, column c = ∇_z log π(z)|_{z_c}
  MatrixD auxiliary;    ///< k x N

  /// Column c of *this becomes column c of other wherever take(c) is true.
  void assign_columns_where(const TargetEvaluation& other, const Eigen::Array<bool, Eigen::Dynamic, 1>& take);
};

/// A batched target: given Z (d x N) fills evaluation (log density, gradient, auxiliary) for every
/// column in one call. One call is one forward + backward pass per column for a model target;
/// callers count evaluated columns for cost accounting.
using BatchLogDensity = std::function<void(const MatrixD& Z, TargetEvaluation& evaluation)>;

/// The unnormalized posterior π(z) = p(x_b, z) for column c of Z, b = c / S: log p(x, z) and
/// ∇_z log p(x, z) = ∇_z log p(x|z) - z from one model.log_joint_with_gradient call.
/// The returned callable keeps references to model and X: both must outlive it.
BatchLogDensity log_joint_target(const GenerativeModel& model, const MatrixF& X, Index samples_per_datapoint);

}  // namespace vigap
