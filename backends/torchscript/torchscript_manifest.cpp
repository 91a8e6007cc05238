#include "backends/torchscript/torchscript_manifest.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/io/atomic_file.hpp"
#include "core/io/sha256.hpp"

namespace vigap {

namespace {

constexpr const char* kFormat = "vigap-torchscript";

template <typename Enum, std::size_t N>
Enum parse_name(const std::string& name, const std::string& where, const std::pair<const char*, Enum> (&names)[N]) {
  std::string accepted;
  for (const auto& [text, value] : names) {
    if (name == text) return value;
    accepted += (accepted.empty() ? "" : ", ") + std::string(text);
  }
  throw std::invalid_argument(where + ": expected one of " + accepted + ", found '" + name + "'");
}

template <typename Enum, std::size_t N>
std::string name_of(Enum value, const std::pair<const char*, Enum> (&names)[N]) {
  for (const auto& [text, v] : names)
    if (v == value) return text;
  return "?";
}

const std::pair<const char*, TorchScriptDecoderOutput> kDecoderOutputs[] = {
    {"bernoulli-logits", TorchScriptDecoderOutput::bernoulli_logits},
    {"gaussian-mean", TorchScriptDecoderOutput::gaussian_mean},
    {"gaussian-mean-log-variance", TorchScriptDecoderOutput::gaussian_mean_log_variance},
    {"log-likelihood-method", TorchScriptDecoderOutput::log_likelihood_method}};
const std::pair<const char*, TorchScriptEncoderOutput> kEncoderOutputs[] = {
    {"split-halves", TorchScriptEncoderOutput::split_halves}, {"tuple", TorchScriptEncoderOutput::tuple}};
const std::pair<const char*, TorchScriptEncoderScale> kEncoderScales[] = {
    {"log-variance", TorchScriptEncoderScale::log_variance},
    {"log-sd", TorchScriptEncoderScale::log_sd},
    {"softplus-sd", TorchScriptEncoderScale::softplus_sd}};

/// json[key] as a string; `where` names the manifest and the object.
std::string string_field(const nlohmann::ordered_json& json, const std::string& key, const std::string& where) {
  if (!json.contains(key)) throw std::invalid_argument(where + ": field '" + key + "' is missing");
  if (!json[key].is_string())
    throw std::invalid_argument(where + ": field '" + key + "' must be a string, found " + json[key].dump());
  return json[key].get<std::string>();
}

Index dimension_field(const nlohmann::ordered_json& json, const std::string& key, const std::string& where) {
  if (!json.contains(key)) throw std::invalid_argument(where + ": field '" + key + "' is missing");
  const auto& v = json[key];
  if (!v.is_number_integer() || v.get<long long>() < 1)
    throw std::invalid_argument(where + ": field '" + key + "' must be an integer >= 1, found " + v.dump());
  return static_cast<Index>(v.get<long long>());
}

void parse_module(const nlohmann::ordered_json& json, const std::string& where, const std::string& manifest_path,
                  TorchScriptModuleEntry& entry) {
  if (!json.is_object()) throw std::invalid_argument(where + ": must be an object, found " + json.dump());
  entry.file = string_field(json, "file", where);
  if (entry.file.empty()) throw std::invalid_argument(where + ": field 'file' is empty");
  const std::filesystem::path file(entry.file);
  entry.path = file.is_absolute() ? entry.file : (std::filesystem::path(manifest_path).parent_path() / file).string();
  entry.sha256 = string_field(json, "sha256", where);
  if (entry.sha256.size() != 64 || entry.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw std::invalid_argument(where + ": field 'sha256' must be 64 lowercase hexadecimal digits, found '" +
                                entry.sha256 + "'");
}

void check_binarization(const std::string& text, const std::string& where) {
  if (text == "dynamic" || text == "none") return;
  if (text.rfind("threshold:", 0) == 0) {
    try {
      std::size_t used = 0;
      const double t = std::stod(text.substr(10), &used);
      if (used == text.size() - 10 && t >= 0.0 && t <= 1.0) return;
    } catch (const std::exception&) {
    }
  }
  throw std::invalid_argument(where + ": field 'binarization' must be dynamic, threshold:<t in [0, 1]> or none, found '" +
                              text + "'");
}

}  // namespace

TorchScriptDecoderOutput parse_torchscript_decoder_output(const std::string& name, const std::string& where) {
  return parse_name(name, where, kDecoderOutputs);
}
std::string to_string(TorchScriptDecoderOutput output) { return name_of(output, kDecoderOutputs); }
TorchScriptEncoderOutput parse_torchscript_encoder_output(const std::string& name, const std::string& where) {
  return parse_name(name, where, kEncoderOutputs);
}
std::string to_string(TorchScriptEncoderOutput output) { return name_of(output, kEncoderOutputs); }
TorchScriptEncoderScale parse_torchscript_encoder_scale(const std::string& name, const std::string& where) {
  return parse_name(name, where, kEncoderScales);
}
std::string to_string(TorchScriptEncoderScale scale) { return name_of(scale, kEncoderScales); }

TorchScriptManifest TorchScriptManifest::parse(const nlohmann::ordered_json& json, const std::string& manifest_path) {
  const std::string where = "manifest " + manifest_path;
  if (!json.is_object()) throw std::invalid_argument(where + ": expected a JSON object");
  if (string_field(json, "format", where) != kFormat)
    throw std::invalid_argument(where + ": field 'format' must be '" + std::string(kFormat) + "', found '" +
                                json["format"].get<std::string>() + "'");
  if (!json.contains("version") || json["version"] != 1)
    throw std::invalid_argument(where + ": field 'version' must be 1 (the only version this vigap reads), found " +
                                (json.contains("version") ? json["version"].dump() : std::string("none")));
  TorchScriptManifest m;
  m.latent_dim = dimension_field(json, "latent_dim", where);
  m.data_dim = dimension_field(json, "data_dim", where);
  if (!json.contains("decoder")) throw std::invalid_argument(where + ": field 'decoder' is missing");
  const auto& decoder = json["decoder"];
  parse_module(decoder, where + ", decoder", manifest_path, m.decoder);
  m.decoder.output = parse_torchscript_decoder_output(string_field(decoder, "output", where + ", decoder"),
                                                      where + ", decoder 'output'");
  if (m.decoder.output == TorchScriptDecoderOutput::gaussian_mean) {
    if (!decoder.contains("sd") || !decoder["sd"].is_number() || !(decoder["sd"].get<double>() > 0.0) ||
        !std::isfinite(decoder["sd"].get<double>()))
      throw std::invalid_argument(where + ", decoder: output 'gaussian-mean' needs 'sd', a finite number > 0, found " +
                                  (decoder.contains("sd") ? decoder["sd"].dump() : std::string("none")));
    m.decoder.sd = decoder["sd"].get<double>();
  }
  if (json.contains("encoder")) {
    const auto& encoder = json["encoder"];
    TorchScriptEncoderEntry e;
    parse_module(encoder, where + ", encoder", manifest_path, e);
    e.output = parse_torchscript_encoder_output(string_field(encoder, "output", where + ", encoder"),
                                                where + ", encoder 'output'");
    e.scale = parse_torchscript_encoder_scale(string_field(encoder, "scale", where + ", encoder"),
                                              where + ", encoder 'scale'");
    m.encoder = e;
  }
  if (json.contains("binarization")) {
    m.binarization = string_field(json, "binarization", where);
    check_binarization(m.binarization, where);
  }
  if (json.contains("source")) m.source = json["source"];
  return m;
}

nlohmann::ordered_json TorchScriptManifest::to_json() const {
  nlohmann::ordered_json j;
  j["format"] = kFormat;
  j["version"] = 1;
  j["latent_dim"] = latent_dim;
  j["data_dim"] = data_dim;
  nlohmann::ordered_json d = {{"file", decoder.file}, {"sha256", decoder.sha256}, {"output", to_string(decoder.output)}};
  if (decoder.output == TorchScriptDecoderOutput::gaussian_mean) d["sd"] = decoder.sd;
  j["decoder"] = d;
  if (encoder)
    j["encoder"] = {{"file", encoder->file},
                    {"sha256", encoder->sha256},
                    {"output", to_string(encoder->output)},
                    {"scale", to_string(encoder->scale)}};
  j["binarization"] = binarization;
  j["source"] = source;
  return j;
}

bool is_torchscript_manifest(const std::string& path) {
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    char first = 0;
    while (in.get(first) && std::isspace(static_cast<unsigned char>(first))) {
    }
    if (first != '{') return false;
    in.seekg(0);
    std::string text(4 << 20, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    const auto json = nlohmann::ordered_json::parse(text, nullptr, false);
    return json.is_object() && json.contains("format") && json["format"] == kFormat;
  } catch (const std::exception&) {
    return false;
  }
}

TorchScriptManifest read_torchscript_manifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("manifest " + path + ": cannot open the file for reading");
  std::stringstream text;
  text << in.rdbuf();
  const auto json = nlohmann::ordered_json::parse(text.str(), nullptr, false);
  if (json.is_discarded()) throw std::invalid_argument("manifest " + path + ": not valid JSON");
  return TorchScriptManifest::parse(json, path);
}

void check_module_sha256(const TorchScriptModuleEntry& entry, const std::string& manifest_path) {
  std::ifstream in(entry.path, std::ios::binary);
  if (!in)
    throw std::invalid_argument("manifest " + manifest_path + ": module file " + entry.path +
                                " cannot be opened (missing? paths are relative to the manifest)");
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string found = sha256_hex(bytes.str());
  if (found != entry.sha256)
    throw std::invalid_argument("manifest " + manifest_path + ": module " + entry.path + " has SHA-256 " + found +
                                ", the manifest records " + entry.sha256 +
                                ": the file changed since the manifest was written (re-run vigap-import, or "
                                "update 'sha256' if the new module is meant)");
}

void write_torchscript_manifest(const std::string& path, const TorchScriptManifest& manifest) {
  write_file_atomically(path, manifest.to_json().dump(2) + "\n");
}

}  // namespace vigap
