#include "core/nn/activation.hpp"

#include <stdexcept>

namespace vigap {

Activation parse_activation(const std::string& name) {
  if (name == "identity") return Activation::identity;
  if (name == "tanh") return Activation::tanh;
  if (name == "relu") return Activation::relu;
  if (name == "elu") return Activation::elu;
  throw std::invalid_argument("unknown activation '" + name +
                              "': expected one of identity, tanh, relu, elu");
}

std::string to_string(Activation a) {
  switch (a) {
    case Activation::identity: return "identity";
    case Activation::tanh: return "tanh";
    case Activation::relu: return "relu";
    case Activation::elu: return "elu";
  }
  return "unknown";
}

void apply_activation(Activation a, MatrixF& Y) {
  switch (a) {
    case Activation::identity: return;
    case Activation::tanh: Y.array() = Y.array().tanh(); return;
    case Activation::relu: Y.array() = Y.array().max(0.0f); return;
    case Activation::elu:  // max(y, 0) + exp(min(y, 0)) - 1: the same function, vectorized (no select)
      Y.array() = Y.array().max(0.0f) + (Y.array().min(0.0f).exp() - 1.0f);
      return;
  }
}

void multiply_by_activation_derivative(Activation a, const MatrixF& Y, MatrixF& G) {
  switch (a) {
    case Activation::identity: return;
    case Activation::tanh: G.array() *= 1.0f - Y.array().square(); return;
    case Activation::relu: G.array() *= Y.array().sign(); return;  // Y >= 0: sign is [Y > 0]
    case Activation::elu: G.array() *= 1.0f + Y.array().min(0.0f); return;  // 1 if Y > 0, else Y + 1
  }
}

}  // namespace vigap
