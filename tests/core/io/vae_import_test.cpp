// Importing PyTorch MLP VAEs (built at test time by tests/support/make_torch_vae_fixtures.py):
// for every encoder head, encoder scale and likelihood, from torch.save and from safetensors,
// vigap's log p(x|z) and the encoder's mean and log-variance agree with PyTorch's (float64) to
// float32 rounding; and every description that does not fit the tensors is refused, naming them.
#include "core/io/vae_import.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/io/sha256.hpp"
#include "support/temporary_directory.hpp"
#include "support/torch_fixtures.hpp"

namespace vigap {
namespace {

VaeImportOptions options_of(const nlohmann::json& o) {
  VaeImportOptions options;
  options.encoder = o.value("encoder", "");
  options.decoder = o.value("decoder", "");
  options.activation = o.value("activation", "");
  options.encoder_head = o.value("encoder-head", options.encoder_head);
  options.encoder_scale = o.value("encoder-scale", options.encoder_scale);
  options.likelihood = o.value("likelihood", options.likelihood);
  options.decoder_scale = o.value("decoder-scale", options.decoder_scale);
  options.binarization = o.value("binarization", "");
  return options;
}

/// Columns of a row-per-datapoint JSON array.
template <typename Matrix>
Matrix columns_of(const nlohmann::json& rows) {
  Matrix m(static_cast<Index>(rows[0].size()), static_cast<Index>(rows.size()));
  for (Index b = 0; b < m.cols(); ++b)
    for (Index i = 0; i < m.rows(); ++i) m(i, b) = rows[b][i].get<double>();
  return m;
}

// The tolerance: vigap computes in float32 (unit roundoff ε = 2^-24). A float32 dot product of n
// terms errs by at most about n·ε·Σ|terms|, and by about √n·ε·Σ|terms| when roundings are
// independent, as here; the errors of the layers before the last add through the network, whose
// fan-ins sum to N. So for an output whose terms have absolute sum M we allow 8·ε·√N·(M + 1):
// the √N growth with a safety factor of 8, and "+ 1" for outputs near zero. Log-variances carry a
// further factor 2 (log-sd is doubled; d(2 log softplus h)/dh <= 2).
double tolerance(double magnitude, double fan_in_sum) {
  const double epsilon = std::numeric_limits<float>::epsilon() / 2;
  return 8.0 * epsilon * std::sqrt(fan_in_sum) * (magnitude + 1.0);
}

class ImportAgreesWithPyTorch : public ::testing::TestWithParam<std::string> {};

TEST_P(ImportAgreesWithPyTorch, LogLikelihoodAndEncoderFromBothFormats) {
  const std::string dir = testing::torch_fixture_directory();
  ASSERT_FALSE(dir.empty());
  const nlohmann::json& v = testing::torch_fixture_reference()["variants"][GetParam()];
  const VaeImportDescription description = VaeImportDescription::parse(options_of(v["options"]));
  const MatrixF X = columns_of<MatrixD>(v["x"]).cast<float>();
  const MatrixD Z = columns_of<MatrixD>(v["z"]);
  const MatrixD mean_expected = columns_of<MatrixD>(v["mean"]), log_variance_expected = columns_of<MatrixD>(v["log_variance"]);
  const MatrixD mean_magnitude = columns_of<MatrixD>(v["mean_magnitude"]);
  const MatrixD log_variance_magnitude = columns_of<MatrixD>(v["log_variance_magnitude"]);
  const double fan_ins = v["fan_in_sum"].get<double>();
  for (const std::string extension : {".pt", ".safetensors"}) {
    SCOPED_TRACE(GetParam() + extension);
    const Vae vae = import_vae_file(dir + "/" + GetParam() + extension, description);
    const VectorD log_p = vae.decoder.log_likelihood(X, Z, 1);
    for (Index b = 0; b < X.cols(); ++b) {
      const double expected = v["log_px_given_z"][b].get<double>();
      EXPECT_NEAR(log_p(b), expected, tolerance(v["log_px_given_z_magnitude"][b].get<double>(), fan_ins)) << "datapoint " << b;
    }
    GaussianEncoder::Workspace workspace;
    MatrixF mean, log_variance;
    vae.encoder->forward(X, workspace, mean, log_variance);
    ASSERT_EQ(mean.rows(), mean_expected.rows());
    for (Index b = 0; b < X.cols(); ++b)
      for (Index j = 0; j < mean.rows(); ++j) {
        EXPECT_NEAR(mean(j, b), mean_expected(j, b), tolerance(mean_magnitude(j, b), fan_ins)) << j << "," << b;
        EXPECT_NEAR(log_variance(j, b), log_variance_expected(j, b), 2 * tolerance(log_variance_magnitude(j, b), fan_ins))
            << j << "," << b;
      }
    EXPECT_EQ(vae.metadata.at("source_sha256"), sha256_hex(read_binary_file(dir + "/" + GetParam() + extension)));
    EXPECT_EQ(vae.metadata.at("source_format"), extension == ".pt" ? "torch.save zip archive" : "safetensors");
  }
}

INSTANTIATE_TEST_SUITE_P(EveryHeadScaleAndLikelihood, ImportAgreesWithPyTorch,
                         ::testing::Values("split_elu_bernoulli", "split_tanh_logsd_gaussian_fixed",
                                           "split_relu_softplus_gaussian_learned", "two_heads_elu_logvar_bernoulli",
                                           "two_heads_tanh_softplus_learned_tensor", "two_heads_relu_logsd_gaussian_fixed"));

TEST(VaeImport, CheckpointRecordsWhereItCameFromAndRoundTrips) {
  const std::string dir = testing::torch_fixture_directory();
  ASSERT_FALSE(dir.empty());
  const nlohmann::json& v = testing::torch_fixture_reference()["variants"]["two_heads_tanh_softplus_learned_tensor"];
  const std::string source = dir + "/two_heads_tanh_softplus_learned_tensor.pt";
  const Vae vae = import_vae_file(source, VaeImportDescription::parse(options_of(v["options"])));
  testing::TemporaryDirectory scratch;
  save_vae_checkpoint(scratch.file("m.safetensors"), vae);
  const Vae loaded = load_vae_checkpoint(scratch.file("m.safetensors"));
  EXPECT_EQ(loaded.architecture.encoder_scale, EncoderScale::softplus_sd);
  EXPECT_EQ(loaded.encoder->scale(), EncoderScale::softplus_sd);
  EXPECT_EQ(loaded.architecture.to_json().dump(), vae.architecture.to_json().dump());
  EXPECT_EQ(loaded.encoder->network().parameters(), vae.encoder->network().parameters());
  EXPECT_EQ(loaded.decoder.network().parameters(), vae.decoder.network().parameters());
  EXPECT_EQ(loaded.metadata.at("imported_from"), source);
  EXPECT_EQ(loaded.metadata.at("binarization"), "none");
  EXPECT_EQ(loaded.metadata.at("import_description"),
            "{\"encoder\":\"encoder.0\",\"decoder\":\"decoder.0,decoder.2\",\"activation\":\"tanh\","
            "\"encoder_head\":\"two-heads:mu,scale\",\"encoder_scale\":\"softplus-sd\","
            "\"likelihood\":\"gaussian-learned:log_sigma\",\"decoder_scale\":\"log-sd\",\"binarization\":\"none\","
            "\"ignore\":\"\"}");
  EXPECT_EQ(loaded.architecture.latent_dim, 2);
  EXPECT_EQ(loaded.architecture.encoder_hidden, std::vector<Index>{16});
  EXPECT_EQ(loaded.architecture.likelihood, Likelihood::gaussian);
}

TEST(VaeImport, IgnoresOnlyTheTensorsItIsTold) {
  const std::string dir = testing::torch_fixture_directory();
  ASSERT_FALSE(dir.empty());
  StateDict state = load_state_dict_file(dir + "/split_tanh_logsd_gaussian_fixed.pt");
  Tensor extra;
  extra.shape = {};
  extra.data = {3.0f};
  state.tensors["bn.num_batches_tracked"] = extra;
  state.order.push_back("bn.num_batches_tracked");
  VaeImportOptions o = options_of(testing::torch_fixture_reference()["variants"]["split_tanh_logsd_gaussian_fixed"]["options"]);
  try {
    import_vae(state, VaeImportDescription::parse(o), "m.pt");
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "state_dict 'm.pt': tensors that neither --encoder nor --decoder uses: "
                                     "bn.num_batches_tracked [] (name them in --ignore if the VAE does not need them)");
  }
  o.ignore = "bn.*";
  EXPECT_NO_THROW(import_vae(state, VaeImportDescription::parse(o), "m.pt"));
}

/// The message import_vae throws for the 30-16-12-(2·3) / 3-12-16-30 tanh model with `options`
/// (the fixture's own options with the fields given replaced) after `edit` changes its tensors.
std::string import_error(const std::function<void(VaeImportOptions&)>& change_options,
                         const std::function<void(StateDict&)>& edit = [](StateDict&) {}) {
  const std::string dir = testing::torch_fixture_directory();
  if (dir.empty()) return "no fixtures";
  StateDict state = load_state_dict_file(dir + "/split_tanh_logsd_gaussian_fixed.pt");
  edit(state);
  VaeImportOptions o = options_of(testing::torch_fixture_reference()["variants"]["split_tanh_logsd_gaussian_fixed"]["options"]);
  change_options(o);
  try {
    import_vae(state, VaeImportDescription::parse(o), "m.pt");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(VaeImport, RefusesTensorsThatDoNotFormTheDescribedLayers) {
  const auto same = [](VaeImportOptions&) {};
  EXPECT_EQ(import_error(same, [](StateDict& s) { s.tensors["fc2.bias"].shape = {11}; }),
            "state_dict 'm.pt': layer 'fc2' of --encoder: expected fc2.bias of shape [12] (fc2.weight is [12, 16]), "
            "found [11]");
  EXPECT_EQ(import_error(same, [](StateDict& s) { s.tensors["fc5.weight"].shape = {192}; }),
            "state_dict 'm.pt': layer 'fc5' of --decoder: expected fc5.weight of shape [out, in], found [192]");
  EXPECT_EQ(import_error([](VaeImportOptions& o) { o.encoder = "fc1,fc2,fc9"; }),
            "state_dict 'm.pt': no tensor 'fc9.weight' (the weight of layer 'fc9' of --encoder); the layers it has are: "
            "fc1 [16, 30], fc2 [12, 16], fc3 [6, 12], fc4 [12, 3], fc5 [16, 12], fc6 [30, 16]");
  EXPECT_EQ(import_error(same, [](StateDict& s) { s.tensors.erase("fc4.bias"); }),
            "state_dict 'm.pt': no tensor 'fc4.bias' (the bias of layer 'fc4' of --decoder); the layers it has are: "
            "fc1 [16, 30], fc2 [12, 16], fc3 [6, 12], fc4 [12, 3], fc5 [16, 12], fc6 [30, 16]");
  EXPECT_EQ(import_error([](VaeImportOptions& o) { o.encoder = "fc1,fc3"; }),
            "state_dict 'm.pt': --encoder: layers do not connect: 'fc3' (fc3.weight [6, 12]) takes 12 inputs, but 'fc1' "
            "(fc1.weight [16, 30]) gives 16 outputs");
  EXPECT_EQ(import_error([](VaeImportOptions& o) { o.decoder = "fc4,fc6"; }),
            "state_dict 'm.pt': --decoder: layers do not connect: 'fc6' (fc6.weight [30, 16]) takes 16 inputs, but "
            "'fc4' (fc4.weight [12, 3]) gives 12 outputs");
  EXPECT_EQ(import_error([](VaeImportOptions& o) { o.decoder = "fc5,fc6"; }),
            "state_dict 'm.pt': --decoder: its first layer 'fc5' (fc5.weight [16, 12]) takes 12 inputs, expected the "
            "latent dimension 3 (from the encoder head 'fc3' (fc3.weight [6, 12]))");
  EXPECT_EQ(import_error([](VaeImportOptions& o) { o.decoder = "fc4,fc5"; }),
            "state_dict 'm.pt': --decoder: its last layer 'fc5' (fc5.weight [16, 12]) gives 16 outputs, expected 30 (one "
            "per pixel of the data dimension 30 the encoder's first layer takes)");
  EXPECT_EQ(import_error([](VaeImportOptions& o) { o.likelihood = "gaussian-learned"; }),
            "state_dict 'm.pt': --decoder: its last layer 'fc6' (fc6.weight [30, 16]) gives 30 outputs, expected 60 "
            "(mean and scale halves of the data dimension 30 the encoder's first layer takes)");
  EXPECT_EQ(import_error([](VaeImportOptions& o) { o.likelihood = "gaussian-learned:fc6.bias"; }),
            "state_dict 'm.pt': tensor 'fc6.bias' is used twice (the decoder's learned scale (--likelihood))");
  EXPECT_EQ(import_error([](VaeImportOptions& o) { o.likelihood = "gaussian-learned:log_sigma"; },
                         [](StateDict& s) {
                           s.tensors["log_sigma"] = s.tensors["fc1.bias"];
                           s.order.push_back("log_sigma");
                         }),
            "state_dict 'm.pt': --likelihood gaussian-learned:log_sigma: expected tensor 'log_sigma' of shape [30], [1] "
            "or [], found [16]");
  EXPECT_EQ(import_error(same,
                         [](StateDict& s) {
                           s.tensors["fc3.weight"].shape = {5, 12};
                           s.tensors["fc3.weight"].data.resize(60);
                           s.tensors["fc3.bias"].shape = {5};
                           s.tensors["fc3.bias"].data.resize(5);
                         }),
            "state_dict 'm.pt': --encoder-head split: the encoder's last layer 'fc3' (fc3.weight [5, 12]) has 5 "
            "outputs, expected an even number (the mean and scale halves)");
  EXPECT_EQ(import_error([](VaeImportOptions& o) { o.encoder = "fc1,fc1,fc2,fc3"; }),
            "state_dict 'm.pt': tensor 'fc1.weight' is used twice (the weight of layer 'fc1' of --encoder)");
  EXPECT_EQ(import_error([](VaeImportOptions& o) { o.encoder = "enc.*"; }),
            "state_dict 'm.pt': --encoder: pattern 'enc.*' matches no layer; the layers are: fc1 [16, 30], fc2 [12, "
            "16], fc3 [6, 12], fc4 [12, 3], fc5 [16, 12], fc6 [30, 16]");
  EXPECT_EQ(import_error([](VaeImportOptions& o) { o.encoder = "fc1"; o.encoder_head = "two-heads:fc2,fc3"; }),
            "state_dict 'm.pt': --encoder-head two-heads: the mean head 'fc2' (fc2.weight [12, 16]) and the scale head "
            "'fc3' (fc3.weight [6, 12]) differ in shape");
  EXPECT_EQ(import_error(same, [](StateDict& s) { s.tensors["fc5.weight"].data[7] = std::nanf(""); }),
            "state_dict 'm.pt': tensor 'fc5.weight' holds NaN or infinity");
}

TEST(VaeImport, RefusesUnknownOptionValuesListingTheAcceptedOnes) {
  const auto error = [](const std::function<void(VaeImportOptions&)>& change) {
    VaeImportOptions o;
    o.encoder = "fc1";
    o.decoder = "fc2";
    o.activation = "elu";
    o.binarization = "dynamic";
    change(o);
    try {
      VaeImportDescription::parse(o);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error([](VaeImportOptions& o) { o.activation = "gelu"; }),
            "--activation: unknown activation 'gelu': expected one of identity, tanh, relu, elu");
  EXPECT_EQ(error([](VaeImportOptions& o) { o.likelihood = "poisson"; }),
            "--likelihood: unknown likelihood 'poisson': expected one of bernoulli, gaussian-fixed:<variance>, "
            "gaussian-learned, gaussian-learned:<tensor>");
  EXPECT_EQ(error([](VaeImportOptions& o) { o.likelihood = "gaussian-fixed:-1"; }),
            "--likelihood gaussian-fixed:<variance>: expected a finite variance > 0, found '-1'");
  EXPECT_EQ(error([](VaeImportOptions& o) { o.encoder_head = "halves"; }),
            "--encoder-head: expected split or two-heads:<mean layer>,<scale layer>, found 'halves'");
  EXPECT_EQ(error([](VaeImportOptions& o) { o.encoder_scale = "sd"; }),
            "--encoder-scale: expected log-variance, log-sd or softplus-sd, found 'sd'");
  EXPECT_EQ(error([](VaeImportOptions& o) { o.decoder_scale = "log-sd"; }),
            "--decoder-scale log-sd needs --likelihood gaussian-learned");
  EXPECT_EQ(error([](VaeImportOptions& o) { o.binarization = ""; }),
            "--binarization is required: how the training data were binarized (dynamic, threshold:<t> or none)");
  EXPECT_EQ(error([](VaeImportOptions& o) { o.binarization = "threshold:2"; }),
            "--binarization threshold:<t>: expected a threshold in [0, 1], found '2'");
  EXPECT_EQ(error([](VaeImportOptions& o) { o.encoder = " , "; }),
            "--encoder is required: the encoder's layer prefixes in order (e.g. fc1,fc2,fc3)");
}

TEST(VaeImport, PatternsMatchAnyTextAndExpandInNaturalOrder) {
  EXPECT_TRUE(matches_pattern("encoder.*", "encoder.10"));
  EXPECT_TRUE(matches_pattern("*", ""));
  EXPECT_TRUE(matches_pattern("a*b*c", "aXbYbc"));
  EXPECT_FALSE(matches_pattern("a*b*c", "aXbYbd"));
  EXPECT_FALSE(matches_pattern("fc1", "fc10"));
}

}  // namespace
}  // namespace vigap
