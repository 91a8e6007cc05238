#pragma once
// What load_model returns: a model and, when the checkpoint has one, its amortized q(z|x),
// whatever the checkpoint's format.
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/models/generative_model.hpp"
#include "core/models/trainable_decoder.hpp"
#include "core/variational/amortized_approximation.hpp"
#include "core/variational/trainable_encoder.hpp"

namespace vigap {

/// A checkpoint's contents behind interfaces. Copies share the model and approximation.
struct LoadedModel {
  std::string source;  ///< the file it was read from
  std::string format;  ///< the registered format's name ("vigap-vae")
  /// p(x, z); never null.
  std::shared_ptr<const GenerativeModel> model;
  /// q(z|x); null when the checkpoint has none (a decoder alone).
  std::shared_ptr<const AmortizedApproximation> amortized;
  /// `model` itself as a trainable decoder when the backend's decoder can be trained; else null.
  std::shared_ptr<TrainableDecoder> trainable_decoder;
  /// The encoder of `amortized` (before any flow) when it can be trained; else null.
  std::shared_ptr<TrainableEncoder> trainable_encoder;
  /// The checkpoint's shapes and choices, for results' configuration ("architecture").
  nlohmann::ordered_json architecture;
  /// Free-form metadata (training settings, dataset), for configuration and evaluation settings.
  std::map<std::string, std::string> metadata;

  const GenerativeModel& generative_model() const { return *model; }

  /// The amortized q. Without one, throws std::invalid_argument
  /// "checkpoint <source> has no encoder, which <binary> needs: <needed_for>".
  const AmortizedApproximation& require_amortized(const std::string& binary, const std::string& needed_for) const;

  /// The amortized q when it is a diagonal Gaussian (the encoder alone). Analyses that cannot use
  /// a flow posterior call this, so that every binary refuses one with the same message:
  /// "checkpoint <source> has a flow after the encoder (<q's name>), which <binary> cannot use:
  /// <why>" (std::invalid_argument); without an encoder, as require_amortized.
  const AmortizedApproximation& require_gaussian_amortized(const std::string& binary, const std::string& why) const;

  /// The trainable decoder and encoder (gradient studies, training continuation). Throws
  /// std::invalid_argument "checkpoint <source> (format <format>) has no trainable decoder (encoder),
  /// which <binary> needs: <needed_for>" when the backend provides none.
  TrainableDecoder& require_trainable_decoder(const std::string& binary, const std::string& needed_for) const;
  TrainableEncoder& require_trainable_encoder(const std::string& binary, const std::string& needed_for) const;
};

}  // namespace vigap
