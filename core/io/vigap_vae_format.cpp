#include "core/io/vigap_vae_format.hpp"

#include <memory>

#include "core/io/safetensors.hpp"
#include "core/variational/amortized_encoder_approximation.hpp"

namespace vigap {

LoadedModel loaded_model_from_vae(Vae vae, const std::string& source) {
  LoadedModel loaded;
  loaded.source = source;
  loaded.format = "vigap-vae";
  auto decoder = std::make_shared<MlpDecoderModel>(std::move(vae.decoder));
  loaded.model = decoder;
  loaded.trainable_decoder = decoder;
  if (vae.encoder) {
    auto encoder = std::make_shared<GaussianEncoder>(std::move(*vae.encoder));
    std::shared_ptr<const AffineCouplingFlow> flow;
    if (vae.flow) flow = std::make_shared<const AffineCouplingFlow>(std::move(*vae.flow));
    loaded.amortized = std::make_shared<AmortizedEncoderApproximation>(encoder, flow);
    loaded.trainable_encoder = encoder;
  }
  loaded.architecture = vae.architecture.to_json();
  loaded.metadata = std::move(vae.metadata);
  return loaded;
}

ModelFormat vigap_vae_format() {
  ModelFormat format;
  format.name = "vigap-vae";
  format.description = "a VAE saved by vigap-train (safetensors, metadata format = vigap-vae)";
  format.detect = [](const std::string& path) {
    const auto metadata = read_safetensors_metadata(path);
    if (!metadata) return false;
    const auto entry = metadata->find("format");
    return entry != metadata->end() && entry->second == "vigap-vae";
  };
  format.load = [](const std::string& path) { return loaded_model_from_vae(load_vae_checkpoint(path), path); };
  return format;
}

}  // namespace vigap
