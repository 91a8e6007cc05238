#include "core/io/vae_import.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <set>
#include <stdexcept>

#include "core/data/binarization.hpp"
#include "core/io/sha256.hpp"

namespace vigap {

namespace {


/// value = the whole of `text` as a number; false if it is not one.
bool parse_whole_number(const std::string& text, double& value) {
  std::size_t used = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == text.size();
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const std::size_t end = std::min(text.find(',', begin), text.size());
    std::string item = text.substr(begin, end - begin);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) items.push_back(item);
    begin = end + 1;
  }
  return items;
}

/// a < b with runs of digits compared as numbers ("fc2" < "fc10", "layers.9" < "layers.10").
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      const std::string na = a.substr(i, ie - i), nb = b.substr(j, je - j);
      const std::string ta = na.substr(std::min(na.find_first_not_of('0'), na.size()));
      const std::string tb = nb.substr(std::min(nb.find_first_not_of('0'), nb.size()));
      if (ta.size() != tb.size()) return ta.size() < tb.size();
      if (ta != tb) return ta < tb;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

VaeImportDescription::Scale parse_scale(const std::string& text, const std::string& option, bool allow_softplus) {
  if (text == "log-variance") return VaeImportDescription::Scale::log_variance;
  if (text == "log-sd") return VaeImportDescription::Scale::log_sd;
  if (text == "softplus-sd" && allow_softplus) return VaeImportDescription::Scale::softplus_sd;
  throw std::invalid_argument(option + ": expected log-variance, log-sd" +
                              std::string(allow_softplus ? " or softplus-sd" : "") + ", found '" + text + "'");
}

std::string scale_name(VaeImportDescription::Scale s) {
  switch (s) {
    case VaeImportDescription::Scale::log_variance: return "log-variance";
    case VaeImportDescription::Scale::log_sd: return "log-sd";
    case VaeImportDescription::Scale::softplus_sd: return "softplus-sd";
  }
  return "?";
}

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& item : items) s += (s.empty() ? "" : ",") + item;
  return s;
}

void parse_likelihood_option(const std::string& text, VaeImportDescription& d) {
  using Output = VaeImportDescription::Output;
  const std::string accepted =
      "expected one of bernoulli, gaussian-fixed:<variance>, gaussian-learned, gaussian-learned:<tensor>";
  if (text == "bernoulli") {
    d.likelihood = Output::bernoulli;
  } else if (text.rfind("gaussian-fixed:", 0) == 0) {
    d.likelihood = Output::gaussian_fixed;
    const std::string value = text.substr(15);
    if (!parse_whole_number(value, d.fixed_variance) || !(d.fixed_variance > 0.0) || !std::isfinite(d.fixed_variance))
      throw std::invalid_argument("--likelihood gaussian-fixed:<variance>: expected a finite variance > 0, found '" +
                                  value + "'");
  } else if (text == "gaussian-learned" || text.rfind("gaussian-learned:", 0) == 0) {
    d.likelihood = Output::gaussian_learned;
    if (text.size() > 16) d.learned_scale_tensor = text.substr(17);
    if (text.size() > 16 && d.learned_scale_tensor.empty())
      throw std::invalid_argument("--likelihood gaussian-learned:<tensor>: expected a tensor name after ':'");
  } else {
    throw std::invalid_argument("--likelihood: unknown likelihood '" + text + "': " + accepted);
  }
}

void parse_binarization_option(const std::string& text, VaeImportDescription& d) {
  if (text.empty())
    throw std::invalid_argument("--binarization is required: how the training data were binarized "
                                "(dynamic, threshold:<t> or none)");
  if (text == "dynamic" || text == "none") {
    d.binarization = text;
    return;
  }
  if (text.rfind("threshold:", 0) == 0) {
    d.binarization = "threshold";
    const std::string value = text.substr(10);
    double threshold = 0.0;
    const bool ok = parse_whole_number(value, threshold) && threshold >= 0.0 && threshold <= 1.0;
    d.binarization_threshold = static_cast<float>(threshold);
    if (!ok)
      throw std::invalid_argument("--binarization threshold:<t>: expected a threshold in [0, 1], found '" + value + "'");
    return;
  }
  throw std::invalid_argument("--binarization: expected dynamic, threshold:<t> or none, found '" + text + "'");
}

}  // namespace

bool matches_pattern(const std::string& pattern, const std::string& name) {
  // Iterative glob with one backtracking point (the last '*').
  std::size_t p = 0, n = 0, star = std::string::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

VaeImportDescription VaeImportDescription::parse(const VaeImportOptions& o) {
  VaeImportDescription d;
  d.encoder = split_list(o.encoder);
  d.decoder = split_list(o.decoder);
  if (d.encoder.empty()) throw std::invalid_argument("--encoder is required: the encoder's layer prefixes in order (e.g. fc1,fc2,fc3)");
  if (d.decoder.empty()) throw std::invalid_argument("--decoder is required: the decoder's layer prefixes in order (e.g. fc4,fc5,fc6)");
  if (o.activation.empty()) throw std::invalid_argument("--activation is required: one of tanh, relu, elu, identity");
  try {
    d.activation = parse_activation(o.activation);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--activation: ") + e.what());
  }
  if (o.encoder_head == "split") {
    d.head = Head::split;
  } else if (o.encoder_head.rfind("two-heads:", 0) == 0 && split_list(o.encoder_head.substr(10)).size() == 2) {
    d.head = Head::two_heads;
    const auto layers = split_list(o.encoder_head.substr(10));
    d.mean_layer = layers[0];
    d.scale_layer = layers[1];
  } else {
    throw std::invalid_argument("--encoder-head: expected split or two-heads:<mean layer>,<scale layer>, found '" +
                                o.encoder_head + "'");
  }
  d.encoder_scale = parse_scale(o.encoder_scale, "--encoder-scale", true);
  parse_likelihood_option(o.likelihood, d);
  d.decoder_scale = parse_scale(o.decoder_scale, "--decoder-scale", false);
  if (d.decoder_scale != Scale::log_variance && d.likelihood != Output::gaussian_learned)
    throw std::invalid_argument("--decoder-scale " + o.decoder_scale + " needs --likelihood gaussian-learned");
  parse_binarization_option(o.binarization, d);
  d.ignore = split_list(o.ignore);
  return d;
}

nlohmann::ordered_json VaeImportDescription::to_json() const {
  nlohmann::ordered_json j;
  j["encoder"] = join(encoder);
  j["decoder"] = join(decoder);
  j["activation"] = to_string(activation);
  j["encoder_head"] = head == Head::split ? std::string("split") : "two-heads:" + mean_layer + "," + scale_layer;
  j["encoder_scale"] = scale_name(encoder_scale);
  if (likelihood == Output::bernoulli) j["likelihood"] = "bernoulli";
  if (likelihood == Output::gaussian_fixed) j["likelihood"] = "gaussian-fixed:" + std::to_string(fixed_variance);
  if (likelihood == Output::gaussian_learned)
    j["likelihood"] = learned_scale_tensor.empty() ? std::string("gaussian-learned")
                                                   : "gaussian-learned:" + learned_scale_tensor;
  if (likelihood == Output::gaussian_learned) j["decoder_scale"] = scale_name(decoder_scale);
  j["binarization"] =
      binarization == "threshold" ? "threshold:" + std::to_string(binarization_threshold) : binarization;
  j["ignore"] = join(ignore);
  return j;
}

namespace {

/// A layer of the state_dict: its tensors' names and values.
struct Layer {
  std::string prefix;
  const Tensor* weight = nullptr;
  const Tensor* bias = nullptr;
  Index outputs() const { return weight->shape[0]; }
  Index inputs() const { return weight->shape[1]; }
  std::string describe() const { return "'" + prefix + "' (" + prefix + ".weight " + shape_string(weight->shape) + ")"; }
};

class Importer {
 public:
  Importer(const StateDict& state, const VaeImportDescription& d, const std::string& source)
      : state_(state), d_(d), where_("state_dict '" + source + "'") {}

  Vae run();

 private:
  [[noreturn]] void fail(const std::string& message) const { throw std::invalid_argument(where_ + ": " + message); }

  /// The layer prefixes the state_dict has: the names of its "<prefix>.weight" tensors.
  std::vector<std::string> layer_prefixes() const {
    std::vector<std::string> prefixes;
    for (const auto& name : state_.order)
      if (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0) prefixes.push_back(name.substr(0, name.size() - 7));
    return prefixes;
  }

  std::string available_layers() const {
    std::string s;
    for (const auto& prefix : layer_prefixes())
      s += (s.empty() ? "" : ", ") + prefix + " " + shape_string(state_.tensors.at(prefix + ".weight").shape);
    return s.empty() ? "none" : s;
  }

  const Tensor& tensor(const std::string& name, const std::string& role) {
    const auto it = state_.tensors.find(name);
    if (it == state_.tensors.end())
      fail("no tensor '" + name + "' (" + role + "); the layers it has are: " + available_layers());
    for (float v : it->second.data)
      if (!std::isfinite(v)) fail("tensor '" + name + "' holds NaN or infinity");
    if (!used_.insert(name).second) fail("tensor '" + name + "' is used twice (" + role + ")");
    return it->second;
  }

  Layer layer(const std::string& prefix, const std::string& role) {
    Layer l;
    l.prefix = prefix;
    l.weight = &tensor(prefix + ".weight", "the weight of layer '" + prefix + "' of " + role);
    l.bias = &tensor(prefix + ".bias", "the bias of layer '" + prefix + "' of " + role);
    if (l.weight->shape.size() != 2 || l.weight->shape[0] < 1 || l.weight->shape[1] < 1)
      fail("layer '" + prefix + "' of " + role + ": expected " + prefix + ".weight of shape [out, in], found " +
           shape_string(l.weight->shape));
    if (l.bias->shape != std::vector<Index>{l.outputs()})
      fail("layer '" + prefix + "' of " + role + ": expected " + prefix + ".bias of shape [" +
           std::to_string(l.outputs()) + "] (" + prefix + ".weight is " + shape_string(l.weight->shape) + "), found " +
           shape_string(l.bias->shape));
    return l;
  }

  /// The layers of `items` in order, patterns expanded in natural order of the prefixes.
  std::vector<Layer> layers(const std::vector<std::string>& items, const std::string& option) {
    std::vector<Layer> out;
    for (const std::string& item : items) {
      if (item.find('*') == std::string::npos) {
        out.push_back(layer(item, option));
        continue;
      }
      std::vector<std::string> matched;
      for (const auto& prefix : layer_prefixes())
        if (matches_pattern(item, prefix)) matched.push_back(prefix);
      if (matched.empty()) fail(option + ": pattern '" + item + "' matches no layer; the layers are: " + available_layers());
      std::sort(matched.begin(), matched.end(), natural_less);
      for (const auto& prefix : matched) out.push_back(layer(prefix, option));
    }
    return out;
  }

  /// Throws unless each layer's inputs are the previous layer's outputs.
  void check_chain(const std::vector<Layer>& chain, const std::string& option) const {
    for (std::size_t i = 1; i < chain.size(); ++i)
      if (chain[i].inputs() != chain[i - 1].outputs())
        fail(option + ": layers do not connect: " + chain[i].describe() + " takes " +
             std::to_string(chain[i].inputs()) + " inputs, but " + chain[i - 1].describe() + " gives " +
             std::to_string(chain[i - 1].outputs()) + " outputs");
  }

  void fill_encoder(Vae& vae, const std::vector<Layer>& trunk, const Layer& mean, const Layer* scale);
  void fill_decoder(Vae& vae, const std::vector<Layer>& decoder, Index data_dim);
  void check_leftovers() const;

  const StateDict& state_;
  const VaeImportDescription& d_;
  std::string where_;
  std::set<std::string> used_;
};

void copy_layer(const Layer& from, const DenseLayer& to, VectorF& parameters) {
  to.weight(parameters).topRows(from.outputs()) = matrix_from_tensor(*from.weight, from.outputs(), from.inputs(), from.prefix);
  to.bias(parameters).head(from.outputs()) = vector_from_tensor(*from.bias, from.outputs(), from.prefix);
}

void Importer::fill_encoder(Vae& vae, const std::vector<Layer>& trunk, const Layer& head, const Layer* scale) {
  Mlp& net = vae.encoder->network();
  const auto& dense = net.layers();
  for (std::size_t l = 0; l < trunk.size(); ++l) copy_layer(trunk[l], dense[l], net.parameters());
  const DenseLayer& out = dense.back();
  const Index d = vae.architecture.latent_dim;
  copy_layer(head, out, net.parameters());  // split: all 2d rows; two heads: the mean's d rows
  if (scale != nullptr) {
    out.weight(net.parameters()).bottomRows(d) = matrix_from_tensor(*scale->weight, d, scale->inputs(), scale->prefix);
    out.bias(net.parameters()).tail(d) = vector_from_tensor(*scale->bias, d, scale->prefix);
  }
  if (d_.encoder_scale == VaeImportDescription::Scale::log_sd) {  // log σ² = 2 log σ, exact in float
    out.weight(net.parameters()).bottomRows(d) *= 2.0f;
    out.bias(net.parameters()).tail(d) *= 2.0f;
  }
}

void Importer::fill_decoder(Vae& vae, const std::vector<Layer>& decoder, Index data_dim) {
  using Output = VaeImportDescription::Output;
  Mlp& net = vae.decoder.network();
  const auto& dense = net.layers();
  for (std::size_t l = 0; l < decoder.size(); ++l) copy_layer(decoder[l], dense[l], net.parameters());
  const DenseLayer& out = dense.back();
  const bool scale_rows_in_layer = d_.likelihood == Output::gaussian_learned && d_.learned_scale_tensor.empty();
  if (d_.likelihood == Output::bernoulli || scale_rows_in_layer) {
    if (scale_rows_in_layer && d_.decoder_scale == VaeImportDescription::Scale::log_sd) {
      out.weight(net.parameters()).bottomRows(data_dim) *= 2.0f;
      out.bias(net.parameters()).tail(data_dim) *= 2.0f;
    }
    return;
  }
  out.weight(net.parameters()).bottomRows(data_dim).setZero();
  if (d_.likelihood == Output::gaussian_fixed) {
    out.bias(net.parameters()).tail(data_dim).setConstant(static_cast<float>(std::log(d_.fixed_variance)));
    return;
  }
  const Tensor& t = tensor(d_.learned_scale_tensor, "the decoder's learned scale (--likelihood)");
  const bool one = t.data.size() == 1 && t.shape.size() <= 1;
  if (!one && t.shape != std::vector<Index>{data_dim})
    fail("--likelihood gaussian-learned:" + d_.learned_scale_tensor + ": expected tensor '" + d_.learned_scale_tensor +
         "' of shape [" + std::to_string(data_dim) + "], [1] or [], found " + shape_string(t.shape));
  const float factor = d_.decoder_scale == VaeImportDescription::Scale::log_sd ? 2.0f : 1.0f;
  for (Index i = 0; i < data_dim; ++i) out.bias(net.parameters())(data_dim + i) = factor * t.data[one ? 0 : i];
}

void Importer::check_leftovers() const {
  std::string left;
  for (const auto& name : state_.order) {
    if (used_.count(name)) continue;
    const bool ignored = std::any_of(d_.ignore.begin(), d_.ignore.end(),
                                     [&](const std::string& p) { return matches_pattern(p, name); });
    if (!ignored) left += (left.empty() ? "" : ", ") + name + " " + shape_string(state_.tensors.at(name).shape);
  }
  if (!left.empty())
    fail("tensors that neither --encoder nor --decoder uses: " + left +
         " (name them in --ignore if the VAE does not need them)");
}

Vae Importer::run() {
  using Head = VaeImportDescription::Head;
  using Output = VaeImportDescription::Output;
  std::vector<Layer> trunk = layers(d_.encoder, "--encoder");
  check_chain(trunk, "--encoder");
  Layer head;
  std::optional<Layer> scale;
  if (d_.head == Head::split) {
    head = trunk.back();
    trunk.pop_back();
    if (head.outputs() % 2 != 0)
      fail("--encoder-head split: the encoder's last layer " + head.describe() + " has " + std::to_string(head.outputs()) +
           " outputs, expected an even number (the mean and scale halves)");
  } else {
    head = layer(d_.mean_layer, "--encoder-head (mean)");
    scale = layer(d_.scale_layer, "--encoder-head (scale)");
    if (scale->weight->shape != head.weight->shape)
      fail("--encoder-head two-heads: the mean head " + head.describe() + " and the scale head " + scale->describe() +
           " differ in shape");
    std::vector<Layer> chain = trunk;
    chain.push_back(head);
    check_chain(chain, "--encoder-head");
  }
  const Index latent_dim = d_.head == Head::split ? head.outputs() / 2 : head.outputs();
  const Index data_dim = trunk.empty() ? head.inputs() : trunk.front().inputs();
  const std::vector<Layer> decoder = layers(d_.decoder, "--decoder");
  check_chain(decoder, "--decoder");
  if (decoder.front().inputs() != latent_dim)
    fail("--decoder: its first layer " + decoder.front().describe() + " takes " + std::to_string(decoder.front().inputs()) +
         " inputs, expected the latent dimension " + std::to_string(latent_dim) + " (from the encoder head " +
         head.describe() + ")");
  const bool two_d = d_.likelihood == Output::gaussian_learned && d_.learned_scale_tensor.empty();
  if (decoder.back().outputs() != (two_d ? 2 * data_dim : data_dim))
    fail("--decoder: its last layer " + decoder.back().describe() + " gives " + std::to_string(decoder.back().outputs()) +
         " outputs, expected " + std::to_string(two_d ? 2 * data_dim : data_dim) +
         (two_d ? " (mean and scale halves of" : " (one per pixel of") + " the data dimension " +
         std::to_string(data_dim) + " the encoder's first layer takes)");

  VaeArchitecture a;
  a.data_dim = data_dim;
  a.latent_dim = latent_dim;
  a.encoder_hidden.clear();
  for (const Layer& l : trunk) a.encoder_hidden.push_back(l.outputs());
  a.decoder_hidden.clear();
  for (std::size_t l = 0; l + 1 < decoder.size(); ++l) a.decoder_hidden.push_back(decoder[l].outputs());
  a.activation = d_.activation;
  a.likelihood = d_.likelihood == Output::bernoulli ? Likelihood::bernoulli : Likelihood::gaussian;
  a.encoder_scale =
      d_.encoder_scale == VaeImportDescription::Scale::softplus_sd ? EncoderScale::softplus_sd : EncoderScale::log_variance;
  Vae vae(a);
  fill_encoder(vae, trunk, head, scale ? &*scale : nullptr);
  fill_decoder(vae, decoder, data_dim);
  check_leftovers();
  return vae;
}

}  // namespace

Vae import_vae(const StateDict& state, const VaeImportDescription& description, const std::string& source) {
  Vae vae = Importer(state, description, source).run();
  vae.metadata["binarization"] = description.binarization;
  vae.metadata["binarization_threshold"] = std::to_string(description.binarization_threshold);
  vae.metadata["import_description"] = description.to_json().dump();
  if (!state.conversions.empty()) {
    std::string text;
    for (const auto& line : state.conversions) text += (text.empty() ? "" : "; ") + line;
    vae.metadata["import_conversions"] = text;
  }
  return vae;
}

Vae import_vae_file(const std::string& path, const VaeImportDescription& description) {
  const std::string bytes = read_binary_file(path);
  const StateDict state = parse_state_dict_file(bytes, path);
  Vae vae = import_vae(state, description, path);
  vae.metadata["imported_from"] = path;
  vae.metadata["source_sha256"] = sha256_hex(bytes);
  vae.metadata["source_format"] = state.format;
  return vae;
}

}  // namespace vigap
