#pragma once
// Turning a PyTorch MLP VAE's state_dict into a vigap Vae, given what the tensor names cannot
// say: which layers form the encoder and the decoder and in what order, the activation, how the
// encoder's outputs give the Gaussian, the likelihood, and how the data were binarized.
//
// A layer is a pair of tensors <prefix>.weight [out, in] and <prefix>.bias [out] (nn.Linear);
// every layer but the last of each network is followed by the activation. Sizes come from the
// shapes. The mapping onto vigap's networks is exact in float32:
//   encoder head "split":     the last encoder layer's 2d outputs are (mean, scale) halves, as is;
//   encoder head "two-heads": the mean and scale layers (each [d, h]) are stacked into one [2d, h];
//   encoder scale log-sd:     log σ² = 2 log σ: the scale rows of the head's weight and bias times 2;
//   encoder scale softplus-sd: kept as is, read by the encoder as σ = softplus(h) (EncoderScale);
//   likelihood gaussian-fixed:σ²: D extra output rows of zero weights and bias log σ²;
//   likelihood gaussian-learned: the last decoder layer's 2D outputs are (mean, scale) halves, or,
//     with gaussian-learned:<tensor>, the tensor ([D], [1] or []) is the scale of every pixel,
//     as D extra rows of zero weights and that bias; a log-sd scale is doubled as above.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/io/state_dict_file.hpp"
#include "core/io/vae_checkpoint.hpp"

namespace vigap {

/// The description, as the command line of vigap-import spells it (each field one option).
struct VaeImportOptions {
  std::string encoder;                     ///< --encoder: layer prefixes in order, comma-separated; '*' matches any text
  std::string decoder;                     ///< --decoder: the same for the decoder
  std::string activation;                  ///< --activation: tanh, relu, elu, identity
  std::string encoder_head = "split";      ///< --encoder-head: split | two-heads:<mean layer>,<scale layer>
  std::string encoder_scale = "log-variance";  ///< --encoder-scale: log-variance | log-sd | softplus-sd
  std::string likelihood = "bernoulli";    ///< --likelihood: bernoulli | gaussian-fixed:<σ²> | gaussian-learned[:<tensor>]
  std::string decoder_scale = "log-variance";  ///< --decoder-scale (gaussian-learned): log-variance | log-sd
  std::string binarization;                ///< --binarization: dynamic | threshold:<t> | none
  std::string ignore;                      ///< --ignore: comma-separated tensor-name patterns left unused
};

/// The parsed description.
struct VaeImportDescription {
  enum class Scale { log_variance, log_sd, softplus_sd };
  enum class Head { split, two_heads };
  enum class Output { bernoulli, gaussian_fixed, gaussian_learned };

  std::vector<std::string> encoder, decoder;  ///< layer prefixes or patterns, in order
  Activation activation = Activation::tanh;
  Head head = Head::split;
  std::string mean_layer, scale_layer;  ///< Head::two_heads
  Scale encoder_scale = Scale::log_variance;
  Output likelihood = Output::bernoulli;
  double fixed_variance = 1.0;          ///< Output::gaussian_fixed: σ² > 0
  std::string learned_scale_tensor;     ///< Output::gaussian_learned: empty means 2D decoder outputs
  Scale decoder_scale = Scale::log_variance;  ///< Output::gaussian_learned: log_variance or log_sd
  std::string binarization = "dynamic";       ///< "dynamic", "threshold" or "none"
  float binarization_threshold = 0.5f;
  std::vector<std::string> ignore;      ///< patterns of tensors the VAE does not use

  /// Parses each option; throws std::invalid_argument naming the option, what it accepts and
  /// what it found (an unknown activation or likelihood lists the accepted ones).
  static VaeImportDescription parse(const VaeImportOptions& options);
  /// The description as the options would spell it, for the checkpoint's metadata.
  nlohmann::ordered_json to_json() const;
};

/// The VAE the state_dict `state` holds as `description` says (`source` names it in errors), with
/// metadata "binarization", "binarization_threshold", "import_description" (JSON) and, when
/// tensors were converted, "import_conversions". Throws std::invalid_argument naming `source`,
/// each offending tensor and its shape: a layer's weight or bias missing or of the wrong rank or
/// size, layers that do not connect (one's inputs differ from the previous one's outputs), an
/// encoder head of odd size or heads of different shapes, a decoder whose inputs are not the
/// latent dimension or whose outputs do not match the data dimension the likelihood needs, a
/// pattern matching no layer, a layer used twice, non-finite values, or tensors left over that
/// no --ignore pattern matches.
Vae import_vae(const StateDict& state, const VaeImportDescription& description, const std::string& source);

/// Reads the state_dict file at `path` (load_state_dict_file's formats) and imports it
/// (import_vae); the metadata also records "imported_from" (the path), "source_sha256" (the
/// SHA-256 of the file's bytes) and "source_format".
Vae import_vae_file(const std::string& path, const VaeImportDescription& description);

/// True if `name` matches `pattern`, in which '*' stands for any text (possibly empty).
bool matches_pattern(const std::string& pattern, const std::string& name);

}  // namespace vigap
