#pragma once
// The native checkpoint format, "vigap-vae" (save_vae_checkpoint), as a model format of load_model.
#include <string>

#include "core/io/loaded_model.hpp"
#include "core/io/model_loader.hpp"
#include "core/io/vae_checkpoint.hpp"

namespace vigap {

/// Detects a safetensors file whose metadata "format" is "vigap-vae"; loads it with
/// load_vae_checkpoint and loaded_model_from_vae.
ModelFormat vigap_vae_format();

/// The LoadedModel holding `vae`'s parts: its MlpDecoderModel as model and trainable decoder, its
/// encoder (pushed through its flow when it has one) as the amortized q and trainable encoder,
/// architecture.to_json() and metadata. `source` names where it came from.
LoadedModel loaded_model_from_vae(Vae vae, const std::string& source);

}  // namespace vigap
