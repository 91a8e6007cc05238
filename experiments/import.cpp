// vigap-import: turns a PyTorch MLP VAE's state_dict (a torch.save file or a safetensors file)
// into a vigap checkpoint that every other binary reads, given on the command line what the tensor
// names cannot say (core/io/vae_import.hpp): the encoder's and decoder's layers in order, the
// activation, the encoder head and its scale, the likelihood and the binarization. The checkpoint
// records the source file, its SHA-256, its format and the description. Bad input: a message
// naming each offending tensor and its shape, exit 2, nothing written.
#include <cstdio>
#include <string>

#include "core/io/atomic_file.hpp"
#include "core/io/vae_checkpoint.hpp"
#include "core/io/vae_import.hpp"
#include "experiments/support/command_line.hpp"

namespace po = boost::program_options;
using namespace vigap;

namespace {

int import_main(int argc, char** argv) {
  CommonOptions common;
  VaeImportOptions o;
  std::string input, checkpoint;
  po::options_description d("Options");
  d.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("input", po::value(&input)->required(),
       "the state_dict: torch.save(model.state_dict(), path) (zip format, PyTorch >= 1.6) or "
       "safetensors.torch.save_file(model.state_dict(), path) (float32)")
      ("checkpoint", po::value(&checkpoint)->required(), "path of the vigap checkpoint (safetensors) to write")
      ("encoder", po::value(&o.encoder)->required(),
       "encoder layers in order, comma-separated prefixes of <prefix>.weight/<prefix>.bias (nn.Linear); "
       "'*' matches any text, matches taken in natural order (e.g. fc1,fc2,fc3 or 'encoder.*')")
      ("decoder", po::value(&o.decoder)->required(), "decoder layers in order, as --encoder (e.g. fc4,fc5,fc6)")
      ("activation", po::value(&o.activation)->required(), "after every layer but each network's last: tanh, relu, elu, identity")
      ("encoder-head", po::value(&o.encoder_head)->default_value(o.encoder_head),
       "split (the encoder's last layer gives mean and scale as halves, mean first) or "
       "two-heads:<mean layer>,<scale layer> (both fed by the last --encoder layer)")
      ("encoder-scale", po::value(&o.encoder_scale)->default_value(o.encoder_scale),
       "what the scale outputs are: log-variance, log-sd (log σ) or softplus-sd (σ = softplus(h))")
      ("likelihood", po::value(&o.likelihood)->default_value(o.likelihood),
       "bernoulli (decoder outputs logits), gaussian-fixed:<variance>, gaussian-learned (decoder outputs mean "
       "and scale halves) or gaussian-learned:<tensor> (one scale tensor of shape [D], [1] or [])")
      ("decoder-scale", po::value(&o.decoder_scale)->default_value(o.decoder_scale),
       "with gaussian-learned: log-variance or log-sd")
      ("binarization", po::value(&o.binarization)->required(),
       "how the training data were binarized: dynamic, threshold:<t> or none (recorded; the other binaries "
       "binarize the evaluation data the same way)")
      ("ignore", po::value(&o.ignore)->default_value(o.ignore),
       "comma-separated patterns ('*' any text) of tensors the VAE does not use (left-over tensors are an error)");
  if (!parse_command_line(argc, argv, "vigap-import",
                          "Imports a PyTorch MLP VAE's state_dict as a vigap checkpoint.", d, common))
    return 0;
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
