// vigap-import: turns a PyTorch MLP VAE's state_dict (a torch.save file or a safetensors file)
// into a vigap checkpoint that every other binary reads, given on the command line what the tensor
// names cannot say (core/io/vae_import.hpp): the encoder's and decoder's layers in order, the
// activation, the encoder head and its scale, the likelihood and the binarization. The checkpoint
// records the source file, its SHA-256, its format and the description. Bad input: a message
// naming each offending tensor and its shape, exit 2, nothing written.
// With --torchscript-decoder (and optionally --torchscript-encoder) it writes a vigap-torchscript
// manifest instead (backends/torchscript/torchscript_format.hpp): any decoder a PyTorch user
// scripts, checked on a probe batch, with each module's SHA-256.
#include <cstdio>
#include <string>

#include "core/io/atomic_file.hpp"
#include "core/io/vae_checkpoint.hpp"
#include "core/io/vae_import.hpp"
#include "experiments/support/command_line.hpp"
#include "backends/torchscript/torchscript_format.hpp"

namespace po = boost::program_options;
using namespace vigap;

namespace {

/// The options of a TorchScript import (--torchscript-decoder, ...).
struct TorchScriptOptions {
  std::string decoder, encoder, encoder_output = "split-halves";
  Index latent_dim = 0, data_dim = 0;
};

void add_torchscript_options(po::options_description& d, TorchScriptOptions& ts) {
  d.add_options()
      ("torchscript-decoder", po::value(&ts.decoder),
       "instead of --input: a TorchScript decoder (torch.jit.save(torch.jit.script(decoder), path)), "
       "forward(z [N,d]) -> the --likelihood's parameters [N,D] (or [N,2D]), or with --likelihood "
       "log-likelihood-method a method log_likelihood(x [N,D], z [N,d]) -> [N]; writes a manifest at --checkpoint")
      ("torchscript-encoder", po::value(&ts.encoder),
       "with --torchscript-decoder: a TorchScript encoder, forward(x [N,D]) -> mean and scale of q(z|x) "
       "(--encoder-output, --encoder-scale)")
      ("encoder-output", po::value(&ts.encoder_output)->default_value(ts.encoder_output),
       "with --torchscript-encoder: split-halves (one [N,2d] tensor, mean first) or tuple (mean, scale)")
      ("latent-dim", po::value(&ts.latent_dim), "with --torchscript-decoder: the latent dimension d")
      ("data-dim", po::value(&ts.data_dim),
       "with --torchscript-decoder: the data dimension D (default: read from forward's output; required with "
       "log-likelihood-method)");
}

/// vigap-import --torchscript-decoder: checks the modules and writes the manifest.
int import_torchscript(const TorchScriptOptions& ts, const VaeImportOptions& o, const std::string& manifest) {
  const TorchScriptImportOptions options{.decoder_file = ts.decoder, .encoder_file = ts.encoder,
                                         .likelihood = o.likelihood, .encoder_output = ts.encoder_output,
                                         .encoder_scale = o.encoder_scale, .latent_dim = ts.latent_dim,
                                         .data_dim = ts.data_dim,
                                         .binarization = o.binarization.empty() ? "none" : o.binarization};
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();
  check_writable_output_path(manifest);
  const TorchScriptManifest m = make_torchscript_manifest(options, manifest);
  write_torchscript_manifest(manifest, m);
  std::printf("checked %s (%s, %ld -> %ld, sha256 %s)\n", ts.decoder.c_str(), to_string(m.decoder.output).c_str(),
              static_cast<long>(m.latent_dim), static_cast<long>(m.data_dim), m.decoder.sha256.c_str());
  if (m.encoder) std::printf("checked %s (sha256 %s)\n", ts.encoder.c_str(), m.encoder->sha256.c_str());
  std::printf("manifest: %s\n", manifest.c_str());
  return 0;
}

int import_main(int argc, char** argv) {
  CommonOptions common;
  VaeImportOptions o;
  std::string input, checkpoint;
  TorchScriptOptions ts;
  po::options_description d("Options");
  d.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("input", po::value(&input),
       "the state_dict: torch.save(model.state_dict(), path) (zip format, PyTorch >= 1.6) or "
       "safetensors.torch.save_file(model.state_dict(), path) (float32)")
      ("checkpoint", po::value(&checkpoint)->required(),
       "path of the vigap checkpoint (safetensors) to write; with --torchscript-decoder, of the manifest (JSON)")
      ("encoder", po::value(&o.encoder),
       "encoder layers in order, comma-separated prefixes of <prefix>.weight/<prefix>.bias (nn.Linear); "
       "'*' matches any text, matches taken in natural order (e.g. fc1,fc2,fc3 or 'encoder.*')")
      ("decoder", po::value(&o.decoder), "decoder layers in order, as --encoder (e.g. fc4,fc5,fc6)")
      ("activation", po::value(&o.activation), "after every layer but each network's last: tanh, relu, elu, identity")
      ("encoder-head", po::value(&o.encoder_head)->default_value(o.encoder_head),
       "split (the encoder's last layer gives mean and scale as halves, mean first) or "
       "two-heads:<mean layer>,<scale layer> (both fed by the last --encoder layer)")
      ("encoder-scale", po::value(&o.encoder_scale)->default_value(o.encoder_scale),
       "what the scale outputs are: log-variance, log-sd (log σ) or softplus-sd (σ = softplus(h))")
      ("likelihood", po::value(&o.likelihood)->default_value(o.likelihood),
       "bernoulli (decoder outputs logits), gaussian-fixed:<variance>, gaussian-learned (decoder outputs mean "
       "and scale halves) or gaussian-learned:<tensor> (one scale tensor of shape [D], [1] or []); with "
       "--torchscript-decoder: bernoulli, gaussian-fixed:<variance>, gaussian-mean:<sd>, gaussian-learned "
       "(forward gives means then log-variances) or log-likelihood-method")
      ("decoder-scale", po::value(&o.decoder_scale)->default_value(o.decoder_scale),
       "with gaussian-learned: log-variance or log-sd")
      ("binarization", po::value(&o.binarization),
       "how the training data were binarized: dynamic, threshold:<t> or none (recorded; the other binaries "
       "binarize the evaluation data the same way)")
      ("ignore", po::value(&o.ignore)->default_value(o.ignore),
       "comma-separated patterns ('*' any text) of tensors the VAE does not use (left-over tensors are an error)");
  add_torchscript_options(d, ts);
  if (!parse_command_line(argc, argv, "vigap-import",
                          "Imports a PyTorch MLP VAE's state_dict as a vigap checkpoint.", d, common))
    return 0;
  if (!ts.decoder.empty()) return import_torchscript(ts, o, checkpoint);
  // Required without --torchscript-decoder; checked in the order (and with the words) of
  // Boost.Program_options' own check, which reported them before --torchscript-decoder existed.
  for (const auto& [name, value] : {std::pair{"activation", &o.activation}, {"binarization", &o.binarization},
                                    {"decoder", &o.decoder}, {"encoder", &o.encoder}, {"input", &input}})
    if (value->empty())
      throw std::invalid_argument("the option '--" + std::string(name) + "' is required but missing (see vigap-import --help)");
  const VaeImportDescription description = VaeImportDescription::parse(o);
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(checkpoint);

  const Vae vae = import_vae_file(input, description);
  save_vae_checkpoint(checkpoint, vae);
  std::printf("imported %s (%s, sha256 %s)\n  encoder: %s\n  decoder: %s\n", input.c_str(),
              vae.metadata.at("source_format").c_str(), vae.metadata.at("source_sha256").c_str(),
              vae.encoder->describe().c_str(), vae.decoder.describe().c_str());
  if (const auto it = vae.metadata.find("import_conversions"); it != vae.metadata.end())
    std::printf("  converted to float32: %s\n", it->second.c_str());
  std::printf("checkpoint: %s\n", checkpoint.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_binary("vigap-import", [&] { return import_main(argc, argv); });
}
