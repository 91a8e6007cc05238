#include "core/io/loaded_model.hpp"

#include <stdexcept>

namespace vigap {

const AmortizedApproximation& LoadedModel::require_amortized(const std::string& binary,
                                                             const std::string& needed_for) const {
  if (amortized == nullptr)
    throw std::invalid_argument("checkpoint " + source + " has no encoder, which " + binary + " needs: " + needed_for);
  return *amortized;
}

const AmortizedApproximation& LoadedModel::require_gaussian_amortized(const std::string& binary,
                                                                      const std::string& why) const {
  const AmortizedApproximation& q = require_amortized(binary, why);
  if (!q.is_diagonal_gaussian())
    throw std::invalid_argument("checkpoint " + source + " has a flow after the encoder (" + q.describe() +
                                "), which " + binary + " cannot use: " + why);
  return q;
}

TrainableDecoder& LoadedModel::require_trainable_decoder(const std::string& binary,
                                                         const std::string& needed_for) const {
  if (trainable_decoder == nullptr)
    throw std::invalid_argument("checkpoint " + source + " (format " + format + ") has no trainable decoder, which " +
                                binary + " needs: " + needed_for);
  return *trainable_decoder;
}

TrainableEncoder& LoadedModel::require_trainable_encoder(const std::string& binary,
                                                         const std::string& needed_for) const {
  if (trainable_encoder == nullptr)
    throw std::invalid_argument("checkpoint " + source + " (format " + format + ") has no trainable encoder, which " +
                                binary + " needs: " + needed_for);
  return *trainable_encoder;
}

}  // namespace vigap
