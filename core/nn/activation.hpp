#pragma once
// Elementwise activations of hidden layers, with derivatives expressed through the output.
#include <string>

#include "core/types.hpp"

namespace vigap {

/// Hidden-layer nonlinearity. Output layers are always linear (identity).
enum class Activation { identity, tanh, relu, elu };

/// Parses "identity", "tanh", "relu" or "elu"; throws std::invalid_argument naming the
/// accepted names otherwise.
Activation parse_activation(const std::string& name);

/// The name parse_activation accepts for a.
std::string to_string(Activation a);

/// In place: Y <- f(Y). tanh(y); relu max(y, 0); elu y if y > 0 else exp(y) - 1.
void apply_activation(Activation a, MatrixF& Y);

/// In place: G <- G ⊙ f'(pre-activation), with f' written through the output Y = f(pre):
/// tanh 1 - Y²; relu [Y > 0]; elu 1 if Y > 0 else Y + 1; identity 1.
void multiply_by_activation_derivative(Activation a, const MatrixF& Y, MatrixF& G);

}  // namespace vigap
