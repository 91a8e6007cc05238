#pragma once
// Numeric types used across vigap.
//
// Network math (weights, activations, data) is float32; latents handed across the
// GenerativeModel interface, log densities and every reduction over samples are double.
// All matrices are column-major: one column per datapoint (X is D x B) or per latent
// sample (Z is d x (B*S), the S samples of datapoint b in columns b*S ... b*S+S-1).
#include <Eigen/Dense>

namespace vigap {

using Index = Eigen::Index;

using MatrixF = Eigen::MatrixXf;
using VectorF = Eigen::VectorXf;
using RowVectorF = Eigen::RowVectorXf;
using MatrixD = Eigen::MatrixXd;
using VectorD = Eigen::VectorXd;
using RowVectorD = Eigen::RowVectorXd;

}  // namespace vigap
