// Regression tests of the findings of fuzz/vae_checkpoint_fuzzer.cpp (and of the review that came
// with it): each input is written out here and must now be rejected with a clear
// std::invalid_argument naming the checkpoint and the field.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/io/safetensors.hpp"
#include "core/io/vae_checkpoint.hpp"
#include "support/expect_throw_message.hpp"

namespace vigap {
namespace {

using testing::expect_throw_message;

/// The bytes of a checkpoint whose metadata holds `architecture` and which has no tensors.
std::string checkpoint_bytes(const std::string& architecture) {
  SafetensorsFile file;
  file.metadata = {{"format", "vigap-vae"}, {"format_version", "1"}, {"architecture", architecture}};
  return serialize_safetensors(file);
}

// The fuzzer's architecture (from its crashing checkpoint): "has_encoder" given twice, the last
// time as the number 0. j.value("has_encoder", true) threw nlohmann's type_error 302, which escaped
// as an exception other than std::invalid_argument.
constexpr const char* kHasEncoderNumber =
    R"({"data_dim":4,"latent_dim":2,"encoder_hidden":[],"decoder_hidden":[3],"activation":"elu",)"
    R"("likelihood":"gaussian","has_encoder":false,"has_encoder":0})";

TEST(VaeCheckpointFuzzFindings, HasEncoderThatIsNotABooleanIsRejected) {
  expect_throw_message<std::invalid_argument>(
      [] { VaeArchitecture::from_json(nlohmann::json::parse(kHasEncoderNumber), "checkpoint c.safetensors"); },
      {"checkpoint c.safetensors", "'has_encoder' must be true or false", "found 0"});
  expect_throw_message<std::invalid_argument>(
      [] { parse_vae_checkpoint(checkpoint_bytes(kHasEncoderNumber), "c.safetensors"); },
      {"checkpoint c.safetensors", "has_encoder"});
}

// A forged architecture of a few bytes made the reader build networks of 10^12 parameters before
// looking at the tensors (an allocation of terabytes, or std::bad_alloc escaping). Now it is
// compared with what the file holds first.
TEST(VaeCheckpointFuzzFindings, ArchitectureNeedingMoreParametersThanTheFileHoldsIsRejectedBeforeAllocating) {
  const std::string huge =
      R"({"data_dim":1000000,"latent_dim":1000000,"encoder_hidden":[],"decoder_hidden":[],"activation":"tanh",)"
      R"("likelihood":"bernoulli","has_encoder":true,"flow_layers":0})";
  expect_throw_message<std::invalid_argument>(
      [&] { parse_vae_checkpoint(checkpoint_bytes(huge), "c.safetensors"); },
      {"checkpoint c.safetensors", "needs at least 2000000000000 parameters", "found 0 values"});
  const std::string overflowing =
      R"({"data_dim":9223372036854775807,"latent_dim":9223372036854775807,"encoder_hidden":[],"decoder_hidden":[],)"
      R"("activation":"tanh","likelihood":"bernoulli","flow_layers":4611686018427387904,"flow_hidden":[9223372036854775807],)"
      R"("flow_log_scale_bound":3})";
  expect_throw_message<std::invalid_argument>(
      [&] { parse_vae_checkpoint(checkpoint_bytes(overflowing), "c.safetensors"); },
      {"checkpoint c.safetensors", "needs at least 2^64 parameters"});
}

}  // namespace
}  // namespace vigap
