#pragma once
// The "vigap-torchscript" manifest: a JSON file naming the TorchScript modules of a model (paths
// relative to the manifest), their SHA-256, what the decoder's output means and, optionally, the
// encoder's. Written by vigap-import --torchscript-decoder, or by hand:
//
//   {"format": "vigap-torchscript", "version": 1,
//    "latent_dim": 2, "data_dim": 784,
//    "decoder": {"file": "decoder.pt", "sha256": "<64 hex digits>",
//                "output": "bernoulli-logits"            // forward(z [N,d]) -> logits [N,D]
//                        | "gaussian-mean", "sd": 0.1     // forward(z) -> means [N,D], fixed sd
//                        | "gaussian-mean-log-variance"   // forward(z) -> [N,2D]: means, then log-variances
//                        | "log-likelihood-method"},      // log_likelihood(x [N,D], z [N,d]) -> [N]
//    "encoder": {"file": "encoder.pt", "sha256": "...",   // optional: forward(x [N,D]) -> q(z|x)
//                "output": "split-halves"   // one tensor [N,2d]: mean, then scale
//                        | "tuple",         // (mean [N,d], scale [N,d])
//                "scale": "log-variance" | "log-sd" | "softplus-sd"},
//    "binarization": "dynamic" | "threshold:<t>" | "none",   // optional, default "none"
//    "source": {...}}                                          // optional, free-form, recorded
//
// Inputs are float32 tensors, one row per datapoint or latent (PyTorch's batch-first layout):
// z [N, d] and x [N, D]. Outputs are [N, K] or [N, ...] with K entries per row (an image
// decoder's [N, 1, 28, 28] for D = 784), read row-major as out.view(N, -1); a decoder that wants
// images as input reshapes x itself (x.view(-1, 1, 28, 28)).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/types.hpp"

namespace vigap {

/// What a TorchScript decoder module computes (the manifest's decoder "output").
enum class TorchScriptDecoderOutput {
  bernoulli_logits,            ///< forward(z) -> logits l [N, D]: log p(x|z) = Σ_i x_i l_i - softplus(l_i)
  gaussian_mean,               ///< forward(z) -> means m [N, D]: p(x|z) = N(m, sd² I), sd in the manifest
  gaussian_mean_log_variance,  ///< forward(z) -> [N, 2D]: means m, then log-variances s: N(m, diag e^s)
  log_likelihood_method,       ///< log_likelihood(x [N, D], z [N, d]) -> log p(x|z) [N], any likelihood
};
/// Parses "bernoulli-logits", "gaussian-mean", "gaussian-mean-log-variance", "log-likelihood-method";
/// throws std::invalid_argument naming `where`, the accepted names and what was found.
TorchScriptDecoderOutput parse_torchscript_decoder_output(const std::string& name, const std::string& where);
std::string to_string(TorchScriptDecoderOutput output);

/// How a TorchScript encoder's forward(x [N, D]) gives q(z|x) = N(μ, diag σ²).
enum class TorchScriptEncoderOutput {
  split_halves,  ///< one tensor [N, 2d]: μ, then the scale h
  tuple,         ///< a tuple (μ [N, d], h [N, d])
};
/// Parses "split-halves" or "tuple" (std::invalid_argument naming `where` otherwise).
TorchScriptEncoderOutput parse_torchscript_encoder_output(const std::string& name, const std::string& where);
std::string to_string(TorchScriptEncoderOutput output);

/// The encoder's scale h: "log-variance" (log σ² = h), "log-sd" (log σ² = 2h) or "softplus-sd" (σ = softplus(h)).
enum class TorchScriptEncoderScale { log_variance, log_sd, softplus_sd };
TorchScriptEncoderScale parse_torchscript_encoder_scale(const std::string& name, const std::string& where);
std::string to_string(TorchScriptEncoderScale scale);

/// One module file of a manifest.
struct TorchScriptModuleEntry {
  std::string file;    ///< as written in the manifest (relative to it, or absolute)
  std::string path;    ///< resolved: the manifest's directory / file
  std::string sha256;  ///< 64 lowercase hex digits
};

struct TorchScriptDecoderEntry : TorchScriptModuleEntry {
  TorchScriptDecoderOutput output = TorchScriptDecoderOutput::bernoulli_logits;
  double sd = 0.0;  ///< gaussian_mean: the fixed standard deviation, > 0
};

struct TorchScriptEncoderEntry : TorchScriptModuleEntry {
  TorchScriptEncoderOutput output = TorchScriptEncoderOutput::split_halves;
  TorchScriptEncoderScale scale = TorchScriptEncoderScale::log_variance;
};

/// A parsed manifest.
struct TorchScriptManifest {
  Index latent_dim = 0;
  Index data_dim = 0;
  TorchScriptDecoderEntry decoder;
  std::optional<TorchScriptEncoderEntry> encoder;
  std::string binarization = "none";  ///< "dynamic", "threshold:<t>" or "none"
  nlohmann::ordered_json source = nlohmann::ordered_json::object();

  /// Parses `json` (read from `manifest_path`, which module paths are relative to). Throws
  /// std::invalid_argument naming the manifest, the field, what it accepts and what it found.
  static TorchScriptManifest parse(const nlohmann::ordered_json& json, const std::string& manifest_path);
  /// The manifest's JSON (module "file"s as given, not resolved).
  nlohmann::ordered_json to_json() const;
};

/// Whether the file at `path` is a JSON object whose "format" is "vigap-torchscript" (reads at
/// most a few MB; never throws).
bool is_torchscript_manifest(const std::string& path);

/// Reads and parses the manifest at `path` (std::invalid_argument naming it when it is not
/// JSON or not a valid manifest). Does not open the modules.
TorchScriptManifest read_torchscript_manifest(const std::string& path);

/// Throws std::invalid_argument "<manifest>: module <path> has SHA-256 <found>, the manifest
/// records <expected>: the file changed since the manifest was written ..." when the module file's
/// bytes do not hash to entry.sha256, and a message naming the file when it cannot be read.
void check_module_sha256(const TorchScriptModuleEntry& entry, const std::string& manifest_path);

/// Writes `manifest` to `path` atomically (pretty-printed JSON).
void write_torchscript_manifest(const std::string& path, const TorchScriptManifest& manifest);

}  // namespace vigap
