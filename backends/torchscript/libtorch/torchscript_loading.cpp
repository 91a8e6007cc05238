#include "backends/torchscript/libtorch/torchscript_loading.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "backends/torchscript/libtorch/torchscript_encoder.hpp"
#include "backends/torchscript/libtorch/torchscript_model.hpp"
#include "backends/torchscript/libtorch/torchscript_runtime.hpp"
#include "core/io/sha256.hpp"

namespace vigap {

LoadedModel load_torchscript_manifest(const TorchScriptManifest& manifest, const std::string& manifest_path) {
  check_module_sha256(manifest.decoder, manifest_path);
  if (manifest.encoder) check_module_sha256(*manifest.encoder, manifest_path);
  LoadedModel loaded;
  loaded.source = manifest_path;
  loaded.format = "vigap-torchscript";
  loaded.model = std::make_shared<TorchScriptModel>(manifest.decoder, manifest.latent_dim, manifest.data_dim);
  if (manifest.encoder)
    loaded.amortized = std::make_shared<TorchScriptEncoder>(*manifest.encoder, manifest.data_dim, manifest.latent_dim);
  loaded.architecture = manifest.to_json();
  const std::string& b = manifest.binarization;
  const bool threshold = b.rfind("threshold:", 0) == 0;
  loaded.metadata["binarization"] = threshold ? "threshold" : b;
  if (threshold) loaded.metadata["binarization_threshold"] = b.substr(10);
  loaded.metadata["torchscript_manifest"] = manifest.to_json().dump();
  loaded.metadata["torchscript_version"] = libtorch_version();
  return loaded;
}

namespace {

/// `file` as the manifest at `manifest_path` should name it: relative to the manifest's directory
/// when the file is inside it, else absolute.
std::string manifest_relative(const std::string& file, const std::string& manifest_path) {
  namespace fs = std::filesystem;
  const fs::path target = fs::absolute(file).lexically_normal();
  const fs::path base = fs::absolute(manifest_path).parent_path().lexically_normal();
  const fs::path relative = target.lexically_relative(base);
  if (relative.empty() || *relative.begin() == "..") return target.string();
  return relative.string();
}

/// The decoder's declared output from --likelihood (vigap-import's names or the manifest's).
TorchScriptDecoderEntry decoder_from_likelihood(const std::string& likelihood) {
  TorchScriptDecoderEntry d;
  const auto number_after = [&](const std::string& prefix) {
    const std::string text = likelihood.substr(prefix.size());
    std::size_t used = 0;
    double v = 0.0;
    try {
      v = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() || !(v > 0.0) || !std::isfinite(v))
      throw std::invalid_argument("--likelihood " + prefix + "<value>: expected a finite number > 0, found '" + text + "'");
    return v;
  };
  if (likelihood == "bernoulli" || likelihood == "bernoulli-logits") {
    d.output = TorchScriptDecoderOutput::bernoulli_logits;
  } else if (likelihood.rfind("gaussian-fixed:", 0) == 0) {
    d.output = TorchScriptDecoderOutput::gaussian_mean;
    d.sd = std::sqrt(number_after("gaussian-fixed:"));
  } else if (likelihood.rfind("gaussian-mean:", 0) == 0) {
    d.output = TorchScriptDecoderOutput::gaussian_mean;
    d.sd = number_after("gaussian-mean:");
  } else if (likelihood == "gaussian-learned" || likelihood == "gaussian-mean-log-variance") {
    d.output = TorchScriptDecoderOutput::gaussian_mean_log_variance;
  } else if (likelihood == "log-likelihood-method") {
    d.output = TorchScriptDecoderOutput::log_likelihood_method;
  } else {
    throw std::invalid_argument("--likelihood with --torchscript-decoder: expected bernoulli, gaussian-fixed:<variance>, "
                                "gaussian-mean:<sd>, gaussian-learned (means then log-variances) or "
                                "log-likelihood-method, found '" + likelihood + "'");
  }
  return d;
}

/// The data dimension from the decoder's forward output on a probe batch of two latents.
Index data_dim_from_decoder(const TorchScriptDecoderEntry& d, Index latent_dim) {
  const std::vector<long> shape = torchscript_forward_output_shape(d.path, {2, static_cast<long>(latent_dim)}, "decoder");
  const bool doubled = d.output == TorchScriptDecoderOutput::gaussian_mean_log_variance;
  long per_row = 1;  // [2, D] or [2, ...] (an image decoder's [2, C, H, W]): D = the entries per row
  for (size_t i = 1; i < shape.size(); ++i) per_row *= shape[i];
  if (shape.size() < 2 || shape[0] != 2 || per_row < 1 || (doubled && per_row % 2 != 0)) {
    std::string s;
    for (long v : shape) s += (s.empty() ? "" : ", ") + std::to_string(v);
    throw std::invalid_argument("TorchScript decoder " + d.path + ": forward(z) on z of shape [2, " +
                                std::to_string(latent_dim) + "] returned shape [" + s + "], expected [2, " +
                                (doubled ? "2D" : "D") + "]");
  }
  return doubled ? per_row / 2 : per_row;
}

/// Latent columns of vigap-import's probe batch: more than one block, so the padding is exercised.
constexpr Index kProbeColumns = 3 * kTorchScriptBlockWidth / 2;

std::string file_sha256(const std::string& path, const std::string& option) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(option + " " + path + ": cannot open the file for reading");
  std::stringstream bytes;
  bytes << in.rdbuf();
  return sha256_hex(bytes.str());
}

}  // namespace

TorchScriptManifest make_torchscript_manifest_with_libtorch(const TorchScriptImportOptions& o, const std::string& manifest_path) {
  if (o.latent_dim < 1)
    throw std::invalid_argument("--latent-dim is required with --torchscript-decoder: an integer >= 1, found " +
                                std::to_string(o.latent_dim));
  if (o.data_dim < 0) throw std::invalid_argument("--data-dim must be >= 1, found " + std::to_string(o.data_dim));
  TorchScriptManifest m;
  m.latent_dim = o.latent_dim;
  static_cast<TorchScriptDecoderEntry&>(m.decoder) = decoder_from_likelihood(o.likelihood);
  m.decoder.file = manifest_relative(o.decoder_file, manifest_path);
  m.decoder.path = o.decoder_file;
  if (o.data_dim > 0) {
    m.data_dim = o.data_dim;
  } else if (m.decoder.output == TorchScriptDecoderOutput::log_likelihood_method) {
    throw std::invalid_argument("--data-dim is required with --likelihood log-likelihood-method (a log-likelihood "
                                "method does not say the data's dimension)");
  } else {
    m.data_dim = data_dim_from_decoder(m.decoder, m.latent_dim);
  }
  if (!o.encoder_file.empty()) {
    TorchScriptEncoderEntry e;
    e.output = parse_torchscript_encoder_output(o.encoder_output, "--encoder-output");
    e.scale = parse_torchscript_encoder_scale(o.encoder_scale, "--encoder-scale");
    e.file = manifest_relative(o.encoder_file, manifest_path);
    e.path = o.encoder_file;
    m.encoder = e;
  }
  m.binarization = o.binarization;
  m.source = {{"written_by", "vigap-import"}, {"decoder", o.decoder_file}, {"libtorch", libtorch_version()}};
  if (m.encoder) m.source["encoder"] = o.encoder_file;
  m.decoder.sha256 = file_sha256(o.decoder_file, "--torchscript-decoder");
  if (m.encoder) m.encoder->sha256 = file_sha256(o.encoder_file, "--torchscript-encoder");
  // Read back as the manifest will be (checks every field), then load and probe the modules.
  TorchScriptManifest probe = TorchScriptManifest::parse(m.to_json(), manifest_path);
  probe.decoder.path = o.decoder_file;
  if (probe.encoder) probe.encoder->path = o.encoder_file;
  const LoadedModel loaded = load_torchscript_manifest(probe, manifest_path);
  Rng rng(20261201);
  const MatrixD latents = standard_normal_matrix(m.latent_dim, kProbeColumns, rng);
  const MatrixF data = MatrixF::Zero(m.data_dim, kProbeColumns);
  static_cast<const TorchScriptModel&>(*loaded.model).check_module(latents, data);
  if (loaded.amortized) loaded.amortized->gaussian_base(data);
  return m;
}

}  // namespace vigap
