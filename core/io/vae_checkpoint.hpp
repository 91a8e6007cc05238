#pragma once
// Saving and loading a VAE (encoder and decoder) as a safetensors file PyTorch can read.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/models/mlp_decoder_model.hpp"
#include "core/variational/affine_coupling_flow.hpp"
#include "core/variational/gaussian_encoder.hpp"

namespace vigap {

/// The shapes and choices that define a VAE; stored in the checkpoint's metadata.
struct VaeArchitecture {
  Index data_dim = 784;
  Index latent_dim = 50;
  std::vector<Index> encoder_hidden{200, 200};
  std::vector<Index> decoder_hidden{200, 200};
  Activation activation = Activation::tanh;
  Likelihood likelihood = Likelihood::bernoulli;
  bool has_encoder = true;
  /// How the encoder's variance outputs are read (GaussianEncoder). Stored only when not
  /// log-variance, so checkpoints without the field (all of vigap-train's) load as log-variance.
  EncoderScale encoder_scale = EncoderScale::log_variance;
  /// K affine coupling layers of a global flow after the encoder (0: plain Gaussian encoder).
  /// Checkpoints without the field (older ones) load as 0.
  Index flow_layers = 0;
  std::vector<Index> flow_hidden{64};  ///< hidden sizes of each coupling layer's conditioner
  double flow_log_scale_bound = 3.0;   ///< AffineCouplingFlowArchitecture::log_scale_bound

  /// The flow's shapes (latent_dim, flow_layers, flow_hidden, activation, flow_log_scale_bound).
  AffineCouplingFlowArchitecture flow_architecture() const;
  /// Throws std::invalid_argument naming the field when a size is out of range.
  void validate() const;
  nlohmann::ordered_json to_json() const;
  /// Parses to_json()'s output; `source` names the file for errors.
  static VaeArchitecture from_json(const nlohmann::json& j, const std::string& source);
};

/// A decoder, its encoder when it has one, and the metadata a checkpoint carries.
struct Vae {
  VaeArchitecture architecture;
  std::optional<GaussianEncoder> encoder;
  std::optional<AffineCouplingFlow> flow;  ///< present iff architecture.flow_layers > 0
  MlpDecoderModel decoder;
  std::map<std::string, std::string> metadata;  ///< free-form (training settings, dataset)

  /// Builds the networks of `architecture` with zero parameters.
  explicit Vae(const VaeArchitecture& architecture);
};

/// Writes the VAE to `path` in the safetensors format (written to a temporary file and renamed).
/// Tensors are named as PyTorch's nn.Linear would name them, weights [out, in] row-major:
/// "encoder.layers.{l}.weight", "encoder.layers.{l}.bias", "decoder.layers.{l}.weight", ...
/// and, with a flow, coupling layer k's conditioner as "flow.layers.{k}.conditioner.layers.{l}.weight"/".bias".
/// The "__metadata__" entry holds "format" = "vigap-vae", "format_version", "architecture" (JSON)
/// and vae.metadata.
void save_vae_checkpoint(const std::string& path, const Vae& vae);

/// Parses `bytes`, the contents of a checkpoint written by save_vae_checkpoint (`source` names
/// it in errors): checks the metadata's format and architecture, that the architecture needs no
/// more parameters than the file holds (before building any network, so a forged architecture
/// cannot make it allocate more than about the file's size), that every tensor the architecture
/// needs is present with dtype F32 and the right shape, and that no other tensor is. Throws
/// std::invalid_argument naming `source` and the field or tensor.
Vae parse_vae_checkpoint(std::string_view bytes, const std::string& source);

/// Reads the checkpoint at `path` (load_safetensors) and checks it as parse_vae_checkpoint does;
/// errors name the file and the tensor.
Vae load_vae_checkpoint(const std::string& path);

}  // namespace vigap
