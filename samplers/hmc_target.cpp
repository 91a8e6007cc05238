#include "samplers/hmc_target.hpp"

#include <stdexcept>
#include <string>

namespace vigap {

void TargetEvaluation::assign_columns_where(const TargetEvaluation& other,
                                            const Eigen::Array<bool, Eigen::Dynamic, 1>& take) {
  const Index n = log_density.size();
  if (other.log_density.size() != n || take.size() != n || other.gradient.cols() != gradient.cols() ||
      other.auxiliary.rows() != auxiliary.rows())
    throw std::invalid_argument("TargetEvaluation::assign_columns_where: shapes differ (" + std::to_string(n) +
                                " vs " + std::to_string(other.log_density.size()) + " columns)");
  for (Index c = 0; c < n; ++c) {
    if (!take(c)) continue;
    log_density(c) = other.log_density(c);
    gradient.col(c) = other.gradient.col(c);
    if (auxiliary.rows() > 0) auxiliary.col(c) = other.auxiliary.col(c);
  }
}

BatchLogDensity log_joint_target(const GenerativeModel& model, const MatrixF& X, Index samples_per_datapoint) {
  if (samples_per_datapoint < 1)
    throw std::invalid_argument("log_joint_target: samples_per_datapoint must be >= 1, found " +
                                std::to_string(samples_per_datapoint));
  return [&model, &X, samples_per_datapoint](const MatrixD& Z, TargetEvaluation& evaluation) {
    evaluation.log_density = model.log_joint_with_gradient(X, Z, samples_per_datapoint, evaluation.gradient);
    evaluation.auxiliary.resize(0, Z.cols());
  };
}

}  // namespace vigap
