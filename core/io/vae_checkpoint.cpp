#include "core/io/vae_checkpoint.hpp"

#include <cmath>
#include <cstdint>
#include <set>
#include <stdexcept>

#include "core/io/safetensors.hpp"

namespace vigap {

namespace {

constexpr const char* kFormat = "vigap-vae";
constexpr const char* kFormatVersion = "1";

void add_layers(SafetensorsFile& file, const std::string& prefix, const std::vector<DenseLayer>& layers,
                const VectorF& parameters) {
  for (size_t l = 0; l < layers.size(); ++l) {
    const DenseLayer& layer = layers[l];
    const std::string name = prefix + ".layers." + std::to_string(l);
    file.tensors[name + ".weight"] = tensor_from_matrix(layer.weight(parameters));
    file.tensors[name + ".bias"] = tensor_from_vector(layer.bias(parameters));
  }
}

void add_network(SafetensorsFile& file, const std::string& prefix, const Mlp& network) {
  add_layers(file, prefix, network.layers(), network.parameters());
}

void add_flow(SafetensorsFile& file, const AffineCouplingFlow& flow) {
  for (Index k = 0; k < flow.num_layers(); ++k)
    add_layers(file, "flow.layers." + std::to_string(k) + ".conditioner", flow.conditioner_layers(k), flow.parameters());
}

void read_layers(const SafetensorsFile& file, const std::string& path, const std::string& prefix,
                 const std::vector<DenseLayer>& layers, VectorF& parameters, std::set<std::string>& used) {
  for (size_t l = 0; l < layers.size(); ++l) {
    const DenseLayer& layer = layers[l];
    const std::string name = prefix + ".layers." + std::to_string(l);
    for (const std::string& part : {std::string(".weight"), std::string(".bias")}) {
      if (file.tensors.find(name + part) == file.tensors.end())
        throw std::invalid_argument("checkpoint " + path + ": tensor '" + name + part +
                                    "' is missing (the architecture in its metadata needs it)");
    }
    layer.weight(parameters) =
        matrix_from_tensor(file.tensors.at(name + ".weight"), layer.output_dim(), layer.input_dim(),
                           "checkpoint " + path + ": tensor '" + name + ".weight'");
    layer.bias(parameters) = vector_from_tensor(file.tensors.at(name + ".bias"), layer.output_dim(),
                                                "checkpoint " + path + ": tensor '" + name + ".bias'");
    used.insert(name + ".weight");
    used.insert(name + ".bias");
  }
}

void read_network(const SafetensorsFile& file, const std::string& path, const std::string& prefix, Mlp& network,
                  std::set<std::string>& used) {
  read_layers(file, path, prefix, network.layers(), network.parameters(), used);
  if (!network.parameters().allFinite())
    throw std::invalid_argument("checkpoint " + path + ": the " + prefix + " parameters contain NaN or infinity");
}

void read_flow(const SafetensorsFile& file, const std::string& path, AffineCouplingFlow& flow,
               std::set<std::string>& used) {
  for (Index k = 0; k < flow.num_layers(); ++k)
    read_layers(file, path, "flow.layers." + std::to_string(k) + ".conditioner", flow.conditioner_layers(k),
                flow.parameters(), used);
  if (!flow.parameters().allFinite())
    throw std::invalid_argument("checkpoint " + path + ": the flow parameters contain NaN or infinity");
}

std::vector<Index> read_sizes(const nlohmann::json& j, const char* key, const std::string& source) {
  if (!j.contains(key) || !j[key].is_array())
    throw std::invalid_argument(source + ": architecture field '" + key + "' must be an array of sizes");
  std::vector<Index> sizes;
  for (const auto& v : j[key]) {
    if (!v.is_number_integer())
      throw std::invalid_argument(source + ": architecture field '" + key + "' must hold integers, found " + v.dump());
    sizes.push_back(v.get<Index>());
  }
  return sizes;
}

}  // namespace

void VaeArchitecture::validate() const {
  if (data_dim < 1) throw std::invalid_argument("data dimension must be >= 1, found " + std::to_string(data_dim));
  if (latent_dim < 1)
    throw std::invalid_argument("--latent-dim must be >= 1, found " + std::to_string(latent_dim));
  for (Index h : encoder_hidden)
    if (h < 1) throw std::invalid_argument("--encoder-hidden sizes must be >= 1, found " + std::to_string(h));
  for (Index h : decoder_hidden)
    if (h < 1) throw std::invalid_argument("--decoder-hidden sizes must be >= 1, found " + std::to_string(h));
  if (flow_layers < 0) throw std::invalid_argument("--flow-layers must be >= 0, found " + std::to_string(flow_layers));
  if (flow_layers > 0) {
    if (!has_encoder) throw std::invalid_argument("--flow-layers > 0 needs an encoder (the flow transforms its output)");
    for (Index h : flow_hidden)
      if (h < 1) throw std::invalid_argument("--flow-hidden sizes must be >= 1, found " + std::to_string(h));
    if (!(flow_log_scale_bound > 0.0) || !std::isfinite(flow_log_scale_bound))
      throw std::invalid_argument("flow_log_scale_bound must be finite and > 0, found " +
                                  std::to_string(flow_log_scale_bound));
  }
}

AffineCouplingFlowArchitecture VaeArchitecture::flow_architecture() const {
  AffineCouplingFlowArchitecture a;
  a.latent_dim = latent_dim;
  a.num_layers = flow_layers;
  a.hidden_sizes = flow_hidden;
  a.activation = activation;
  a.log_scale_bound = flow_log_scale_bound;
  return a;
}

nlohmann::ordered_json VaeArchitecture::to_json() const {
  nlohmann::ordered_json j;
  j["data_dim"] = data_dim;
  j["latent_dim"] = latent_dim;
  j["encoder_hidden"] = encoder_hidden;
  j["decoder_hidden"] = decoder_hidden;
  j["activation"] = to_string(activation);
  j["likelihood"] = to_string(likelihood);
  j["has_encoder"] = has_encoder;
  if (encoder_scale != EncoderScale::log_variance) j["encoder_scale"] = to_string(encoder_scale);
  j["flow_layers"] = flow_layers;
  if (flow_layers > 0) {
    j["flow_hidden"] = flow_hidden;
    j["flow_log_scale_bound"] = flow_log_scale_bound;
  }
  return j;
}

VaeArchitecture VaeArchitecture::from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw std::invalid_argument(source + ": the architecture must be a JSON object, found " + j.dump());
  VaeArchitecture a;
  for (const char* key : {"data_dim", "latent_dim"})
    if (!j.contains(key) || !j[key].is_number_integer())
      throw std::invalid_argument(source + ": architecture field '" + key + "' must be an integer");
  for (const char* key : {"activation", "likelihood"})
    if (!j.contains(key) || !j[key].is_string())
      throw std::invalid_argument(source + ": architecture field '" + key + "' must be a string");
  a.data_dim = j["data_dim"].get<Index>();
  a.latent_dim = j["latent_dim"].get<Index>();
  a.encoder_hidden = read_sizes(j, "encoder_hidden", source);
  a.decoder_hidden = read_sizes(j, "decoder_hidden", source);
  a.activation = parse_activation(j["activation"].get<std::string>());
  a.likelihood = parse_likelihood(j["likelihood"].get<std::string>());
  if (j.contains("has_encoder")) {
    if (!j["has_encoder"].is_boolean())
      throw std::invalid_argument(source + ": architecture field 'has_encoder' must be true or false, found " +
                                  j["has_encoder"].dump());
    a.has_encoder = j["has_encoder"].get<bool>();
  }
  if (j.contains("encoder_scale")) {
    if (!j["encoder_scale"].is_string())
      throw std::invalid_argument(source + ": architecture field 'encoder_scale' must be a string, found " +
                                  j["encoder_scale"].dump());
    a.encoder_scale = parse_encoder_scale(j["encoder_scale"].get<std::string>());
  }
  if (j.contains("flow_layers")) {
    if (!j["flow_layers"].is_number_integer())
      throw std::invalid_argument(source + ": architecture field 'flow_layers' must be an integer");
    a.flow_layers = j["flow_layers"].get<Index>();
  }
  if (a.flow_layers > 0) {
    a.flow_hidden = read_sizes(j, "flow_hidden", source);
    if (!j.contains("flow_log_scale_bound") || !j["flow_log_scale_bound"].is_number())
      throw std::invalid_argument(source + ": architecture field 'flow_log_scale_bound' must be a number");
    a.flow_log_scale_bound = j["flow_log_scale_bound"].get<double>();
  }
  a.validate();
  return a;
}

Vae::Vae(const VaeArchitecture& a)
    : architecture(a),
      decoder((a.validate(), a.latent_dim), a.decoder_hidden, a.data_dim, a.activation, a.likelihood) {
  if (a.has_encoder) encoder.emplace(a.data_dim, a.encoder_hidden, a.latent_dim, a.activation, a.encoder_scale);
  if (a.flow_layers > 0) flow.emplace(a.flow_architecture());
}

void save_vae_checkpoint(const std::string& path, const Vae& vae) {
  if (vae.architecture.has_encoder != vae.encoder.has_value())
    throw std::invalid_argument("save_vae_checkpoint: the architecture and the encoder disagree on whether there is one");
  if (vae.encoder && vae.encoder->scale() != vae.architecture.encoder_scale)
    throw std::invalid_argument("save_vae_checkpoint: the architecture and the encoder disagree on the encoder scale");
  if ((vae.architecture.flow_layers > 0) != vae.flow.has_value() ||
      (vae.flow && vae.flow->num_parameters() != AffineCouplingFlow(vae.architecture.flow_architecture()).num_parameters()))
    throw std::invalid_argument("save_vae_checkpoint: the architecture and the flow disagree");
  SafetensorsFile file;
  if (vae.encoder) add_network(file, "encoder", vae.encoder->network());
  add_network(file, "decoder", vae.decoder.network());
  if (vae.flow) add_flow(file, *vae.flow);
  file.metadata = vae.metadata;
  file.metadata["format"] = kFormat;
  file.metadata["format_version"] = kFormatVersion;
  file.metadata["architecture"] = vae.architecture.to_json().dump();
  save_safetensors(path, file);
}

namespace {

/// a * b, or UINT64_MAX if it overflows.
std::uint64_t saturating_product(std::uint64_t a, std::uint64_t b) {
  return (b != 0 && a > UINT64_MAX / b) ? UINT64_MAX : a * b;
}

/// a + b, or UINT64_MAX if it overflows.
std::uint64_t saturating_sum(std::uint64_t a, std::uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

/// Σ_l s_l · s_{l+1} over the layer sizes [first, hidden..., last]: the weights of a dense
/// network with those sizes, a lower bound on its parameter count (biases and doubled outputs
/// of Gaussian heads only add to it). Saturates at UINT64_MAX.
std::uint64_t minimum_weights(Index first, const std::vector<Index>& hidden, Index last) {
  std::vector<Index> sizes{first};
  sizes.insert(sizes.end(), hidden.begin(), hidden.end());
  sizes.push_back(last);
  std::uint64_t total = 0;
  for (size_t l = 0; l + 1 < sizes.size(); ++l)
    total = saturating_sum(total, saturating_product(static_cast<std::uint64_t>(sizes[l]),
                                                     static_cast<std::uint64_t>(sizes[l + 1])));
  return total;
}

/// A lower bound on the parameters `a` (validated) needs: encoder, decoder and flow weights.
std::uint64_t minimum_parameter_count(const VaeArchitecture& a) {
  std::uint64_t total = minimum_weights(a.latent_dim, a.decoder_hidden, a.data_dim);
  if (a.has_encoder) total = saturating_sum(total, minimum_weights(a.data_dim, a.encoder_hidden, a.latent_dim));
  if (a.flow_layers > 0)
    total = saturating_sum(total, saturating_product(static_cast<std::uint64_t>(a.flow_layers),
                                                     minimum_weights(a.latent_dim, a.flow_hidden, a.latent_dim)));
  return total;
}

/// The VAE held by the parsed checkpoint `file` (`path` names it in errors).
Vae vae_from_safetensors(const SafetensorsFile& file, const std::string& path) {
  const auto format = file.metadata.find("format");
  if (format == file.metadata.end() || format->second != kFormat)
    throw std::invalid_argument("checkpoint " + path + ": metadata 'format' must be '" + kFormat + "', found " +
                                (format == file.metadata.end() ? std::string("none") : "'" + format->second + "'"));
  const auto architecture_text = file.metadata.find("architecture");
  if (architecture_text == file.metadata.end())
    throw std::invalid_argument("checkpoint " + path + ": metadata has no 'architecture' entry");
  nlohmann::json architecture_json;
  try {
    architecture_json = nlohmann::json::parse(architecture_text->second);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number beyond double
    throw std::invalid_argument("checkpoint " + path + ": metadata 'architecture' is not JSON: " + e.what());
  }
  const VaeArchitecture architecture = VaeArchitecture::from_json(architecture_json, "checkpoint " + path);
  std::uint64_t values_in_file = 0;
  for (const auto& [name, tensor] : file.tensors) values_in_file += tensor.data.size();
  const std::uint64_t needed = minimum_parameter_count(architecture);
  if (needed > values_in_file)
    throw std::invalid_argument("checkpoint " + path + ": the architecture in its metadata needs at least " +
                                (needed == UINT64_MAX ? std::string("2^64") : std::to_string(needed)) +
                                " parameters, found " + std::to_string(values_in_file) + " values in the file's tensors");
  Vae vae(architecture);
  std::set<std::string> used;
  if (vae.encoder) read_network(file, path, "encoder", vae.encoder->network(), used);
  read_network(file, path, "decoder", vae.decoder.network(), used);
  if (vae.flow) read_flow(file, path, *vae.flow, used);
  std::string unexpected;
  for (const auto& [name, tensor] : file.tensors)
    if (!used.count(name)) unexpected += (unexpected.empty() ? "" : ", ") + name;
  if (!unexpected.empty())
    throw std::invalid_argument("checkpoint " + path + ": tensors that the architecture in its metadata does not have: " +
                                unexpected);
  for (const auto& [key, value] : file.metadata)
    if (key != "format" && key != "format_version" && key != "architecture") vae.metadata[key] = value;
  return vae;
}

}  // namespace

Vae parse_vae_checkpoint(std::string_view bytes, const std::string& source) {
  return vae_from_safetensors(parse_safetensors(bytes, source), source);
}

Vae load_vae_checkpoint(const std::string& path) { return vae_from_safetensors(load_safetensors(path), path); }

}  // namespace vigap
