// vigap-import end to end: a PyTorch MLP VAE (built at test time with python3-torch) imported from
// torch.save and from safetensors into a checkpoint that records its source and that
// vigap-evaluate reads; and every bad input: a clear message, exit code 2, no checkpoint written.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/io/sha256.hpp"
#include "core/io/state_dict_file.hpp"
#include "core/io/vae_checkpoint.hpp"
#include "support/experiment_binary_test.hpp"
#include "support/run_binary.hpp"
#include "support/temporary_directory.hpp"
#include "support/torch_fixtures.hpp"

namespace vigap {
namespace {

using testing::run_binary;

const std::string kDescription = "--encoder fc1,fc2,fc3 --decoder fc4,fc5,fc6 --activation elu --binarization dynamic";

TEST(ImportBinary, ImportsBothFormatsIntoACheckpointThatRecordsItsSource) {
  const std::string dir = testing::torch_fixture_directory();
  ASSERT_FALSE(dir.empty());
  testing::TemporaryDirectory scratch;
  for (const std::string extension : {".pt", ".safetensors"}) {
    const std::string input = dir + "/split_elu_bernoulli" + extension, out = scratch.file("vae" + extension);
    const auto run = run_binary("vigap-import", "--input " + input + " --checkpoint " + out + " " + kDescription);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_NE(run.output.find("encoder: Gaussian encoder 784-64-32-10 elu"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("decoder: MLP decoder 5-32-64-784 elu bernoulli"), std::string::npos) << run.output;
    const Vae vae = load_vae_checkpoint(out);
    EXPECT_EQ(vae.metadata.at("imported_from"), input);
    EXPECT_EQ(vae.metadata.at("source_sha256"), sha256_hex(read_binary_file(input)));
    EXPECT_EQ(vae.metadata.at("source_format"), extension == ".pt" ? "torch.save zip archive" : "safetensors");
    EXPECT_EQ(vae.metadata.at("binarization"), "dynamic");
    EXPECT_NE(vae.metadata.at("import_description").find("\"encoder\":\"fc1,fc2,fc3\""), std::string::npos);
  }
  // The two checkpoints hold the same networks.
  const Vae a = load_vae_checkpoint(scratch.file("vae.pt")), b = load_vae_checkpoint(scratch.file("vae.safetensors"));
  EXPECT_EQ(a.encoder->network().parameters(), b.encoder->network().parameters());
  EXPECT_EQ(a.decoder.network().parameters(), b.decoder.network().parameters());
  // The imported checkpoint evaluates (on the synthetic 28 x 28 data of the shared set-up).
  const auto run = testing::run_experiment("vigap-evaluate", "--checkpoint " + scratch.file("vae.pt") +
                                                                 " --num-datapoints 5 --estimators elbo --elbo-samples 20 "
                                                                 "--threads 1 --out " + scratch.file("e.json"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_LT(testing::read_json(scratch.file("e.json"))["results"]["elbo"]["value"].get<double>(), 0.0);
}

struct BadImport {
  std::string arguments;  ///< {dir} is the fixture directory
  std::string message;
};

class ImportBinaryBadInput : public ::testing::TestWithParam<BadImport> {};

TEST_P(ImportBinaryBadInput, ExitsWithTwoAndWritesNothing) {
  const std::string dir = testing::torch_fixture_directory();
  ASSERT_FALSE(dir.empty());
  testing::TemporaryDirectory scratch;
  const std::string arguments = testing::substitute_placeholders(GetParam().arguments, {{"{dir}", dir}});
  const auto run = run_binary("vigap-import", arguments + " --checkpoint " + scratch.file("out.safetensors"));
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_EQ(run.output, "vigap-import: error: " + testing::substitute_placeholders(GetParam().message, {{"{dir}", dir}}) + "\n");
  EXPECT_TRUE(scratch.entries().empty());
}

INSTANTIATE_TEST_SUITE_P(
    EveryError, ImportBinaryBadInput,
    ::testing::Values(
        BadImport{"--input {dir}/legacy.pt " + kDescription,
                  "file '{dir}/legacy.pt' is a legacy torch.save file (a bare pickle, written before PyTorch 1.6 or with "
                  "_use_new_zipfile_serialization=False), which vigap does not read: re-save it with a newer PyTorch, "
                  "torch.save(torch.load(path), new_path, _use_new_zipfile_serialization=True)"},
        BadImport{"--input {dir}/reference.json " + kDescription,
                  "file '{dir}/reference.json' is neither a torch.save zip archive (it would start with \"PK\") nor a "
                  "safetensors file (an 8-byte header length, then '{'): expected torch.save(model.state_dict(), path) "
                  "or safetensors.torch.save_file(model.state_dict(), path)"},
        BadImport{"--input {dir}/split_elu_bernoulli.pt --encoder fc1,fc3 --decoder fc4,fc5,fc6 --activation elu "
                  "--binarization dynamic",
                  "state_dict '{dir}/split_elu_bernoulli.pt': --encoder: layers do not connect: 'fc3' (fc3.weight [10, "
                  "32]) takes 32 inputs, but 'fc1' (fc1.weight [64, 784]) gives 64 outputs"},
        BadImport{"--input {dir}/split_elu_bernoulli.pt --encoder fc1,fc2,fc3 --decoder fc5,fc6 --activation elu "
                  "--binarization dynamic --ignore fc4.weight",
                  "state_dict '{dir}/split_elu_bernoulli.pt': --decoder: its first layer 'fc5' (fc5.weight [64, 32]) "
                  "takes 32 inputs, expected the latent dimension 5 (from the encoder head 'fc3' (fc3.weight [10, 32]))"},
        BadImport{"--input {dir}/split_elu_bernoulli.safetensors --encoder fc1,fc2,fc3 --decoder fc4,fc5,fc6 "
                  "--activation elu --binarization dynamic --likelihood gaussian-learned",
                  "state_dict '{dir}/split_elu_bernoulli.safetensors': --decoder: its last layer 'fc6' (fc6.weight "
                  "[784, 64]) gives 784 outputs, expected 1568 (mean and scale halves of the data dimension 784 the "
                  "encoder's first layer takes)"},
        BadImport{"--input {dir}/batchnorm.pt --encoder 0 --decoder 0 --activation elu --binarization dynamic "
                  "--encoder-head two-heads:0,0",
                  "state_dict '{dir}/batchnorm.pt': tensor '0.weight' is used twice (the weight of layer '0' of "
                  "--encoder-head (mean))"},
        BadImport{"--input {dir}/two_heads_elu_logvar_bernoulli.pt --encoder encoder.0 --decoder decoder.0 "
                  "--activation elu --encoder-head two-heads:mu,scale --binarization dynamic",
                  "state_dict '{dir}/two_heads_elu_logvar_bernoulli.pt': --decoder: its last layer 'decoder.0' "
                  "(decoder.0.weight [16, 4]) gives 16 outputs, expected 30 (one per pixel of the data dimension 30 "
                  "the encoder's first layer takes)"},
        BadImport{"--input {dir}/two_heads_tanh_softplus_learned_tensor.pt --encoder encoder.0 --decoder 'decoder.*' "
                  "--activation tanh --encoder-head two-heads:mu,scale --binarization none",
                  "state_dict '{dir}/two_heads_tanh_softplus_learned_tensor.pt': tensors that neither --encoder nor "
                  "--decoder uses: log_sigma [30] (name them in --ignore if the VAE does not need them)"},
        BadImport{"--input {dir}/split_elu_bernoulli.pt " + kDescription + " --activation gelu",
                  "option '--activation' cannot be specified more than once (see vigap-import --help)"},
        BadImport{"--input {dir}/split_elu_bernoulli.pt --encoder fc1,fc2,fc3 --decoder fc4,fc5,fc6 --activation gelu "
                  "--binarization dynamic",
                  "--activation: unknown activation 'gelu': expected one of identity, tanh, relu, elu"},
        BadImport{"--input {dir}/split_elu_bernoulli.pt " + kDescription + " --likelihood poisson",
                  "--likelihood: unknown likelihood 'poisson': expected one of bernoulli, gaussian-fixed:<variance>, "
                  "gaussian-learned, gaussian-learned:<tensor>"},
        BadImport{"--input {dir}/split_elu_bernoulli.pt --encoder fc1,fc2,fc3 --decoder fc4,fc5,fc6 --activation elu",
                  "the option '--binarization' is required but missing (see vigap-import --help)"}),
    [](const ::testing::TestParamInfo<BadImport>& info) { return "Case" + std::to_string(info.index); });

}  // namespace
}  // namespace vigap
