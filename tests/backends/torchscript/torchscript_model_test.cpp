// TorchScriptModel and TorchScriptEncoder against the same MLP VAE imported natively: log p(x|z)
// and ∇_z agree to float32 rounding through the forward (logits) path and the user's
// log_likelihood(x, z) method; autograd gradients match finite differences; a column's result is
// the same bits at every position of a block, in every batch and at any thread count (also for a
// transposed-convolution decoder, whose output is [N, 1, 28, 28]); and every
// bad module or manifest is refused with a message naming the file.
#include <gtest/gtest.h>
#include <omp.h>

#include <cfloat>
#include <cmath>
#include <fstream>

#include "backends/torchscript/libtorch/torchscript_encoder.hpp"
#include "backends/torchscript/libtorch/torchscript_model.hpp"
#include "backends/torchscript/libtorch/torchscript_runtime.hpp"
#include "core/models/trainable_decoder.hpp"
#include "support/expect_throw_message.hpp"
#include "support/finite_difference.hpp"
#include "support/torchscript_fixtures.hpp"

namespace vigap {
namespace {

constexpr Index kDatapoints = 5;
constexpr Index kSamples = 40;  // 200 latent columns: 7 blocks, the last one padded

struct Models {
  LoadedModel native, forward, method;
};

const Models& models() {
  static const Models m{load_model(testing::native_checkpoint()), testing::load_torchscript(testing::forward_manifest()),
                        testing::load_torchscript(testing::method_manifest())};
  return m;
}

MatrixF binary_data(Index D, Index B, Rng& rng) {
  MatrixF X(D, B);
  for (Index i = 0; i < X.size(); ++i) X.data()[i] = uniform_01(rng) < 0.3 ? 1.0f : 0.0f;
  return X;
}

/// f() throws std::invalid_argument whose message contains `fragment`.
template <typename Function>
void expect_refused(Function&& f, const std::string& fragment) {
  testing::expect_throw_message<std::invalid_argument>(f, {fragment});
}

class TorchScriptModelTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(testing::torchscript_fixture_directory().empty()); }
};

/// Σ_i |x_i l_i| + softplus(l_i) per column: the scale of log p(x|z)'s float32 rounding.
VectorD bernoulli_magnitudes(const LoadedModel& native, const MatrixF& X, const MatrixD& Z, Index S) {
  const auto ws = native.trainable_decoder->make_workspace(ColumnBlocking::fixed);
  const MatrixF L = native.trainable_decoder->output(Z.cast<float>(), *ws);
  VectorD m(Z.cols());
  for (Index c = 0; c < Z.cols(); ++c) {
    const Eigen::ArrayXd l = L.col(c).cast<double>().array(), x = X.col(c / S).cast<double>().array();
    m(c) = ((x * l).abs() + (l.max(0.0) + (-l.abs()).exp().log1p())).sum();
  }
  return m;
}

TEST_F(TorchScriptModelTest, ForwardAndMethodPathsAgreeWithTheNativeModelToFloatRounding) {
  Rng rng(11);
  const MatrixF X = binary_data(784, kDatapoints, rng);
  const MatrixD Z = 1.5 * standard_normal_matrix(2, kDatapoints * kSamples, rng);
  const Models& m = models();
  MatrixD g_native, g_forward, g_method;
  const VectorD native = m.native.model->log_likelihood_with_gradient(X, Z, kSamples, g_native);
  const VectorD forward = m.forward.model->log_likelihood_with_gradient(X, Z, kSamples, g_forward);
  const VectorD method = m.method.model->log_likelihood_with_gradient(X, Z, kSamples, g_method);
  EXPECT_EQ(forward, m.forward.model->log_likelihood(X, Z, kSamples));  // with or without autograd: same bits
  const VectorD magnitude = bernoulli_magnitudes(m.native, X, Z, kSamples);
  // Rounding: each logit is a float32 dot product over 64 hidden units (relative error <= ~64 eps
  // of the products' magnitudes, which the logits' magnitudes bound within a small factor), and
  // the sums over 784 pixels; 64 eps of Σ|terms| covers both. The gradient: the same relative
  // error of Σ_i |x_i - σ(l_i)| |∂l_i/∂z|, bounded by 64 eps of the gradient's own scale times D.
  double max_value = 0.0, max_gradient = 0.0;
  for (Index c = 0; c < Z.cols(); ++c) {
    const double tolerance = 64 * FLT_EPSILON * magnitude(c);
    EXPECT_NEAR(forward(c), native(c), tolerance) << "column " << c;
    EXPECT_NEAR(method(c), native(c), tolerance) << "column " << c;
    max_value = std::max({max_value, std::abs(forward(c) - native(c)), std::abs(method(c) - native(c))});
    const double gradient_scale = 1.0 + g_native.col(c).cwiseAbs().maxCoeff();
    for (Index j = 0; j < 2; ++j) {
      EXPECT_NEAR(g_forward(j, c), g_native(j, c), 64 * FLT_EPSILON * 784 * gradient_scale) << "column " << c;
      EXPECT_NEAR(g_method(j, c), g_native(j, c), 64 * FLT_EPSILON * 784 * gradient_scale) << "column " << c;
      max_gradient = std::max({max_gradient, std::abs(g_forward(j, c) - g_native(j, c)),
                               std::abs(g_method(j, c) - g_native(j, c))});
    }
  }
  std::printf("max |Δ log p(x|z)| = %.3g (largest magnitude %.4g), max |Δ∇_z| = %.3g\n", max_value,
              magnitude.maxCoeff(), max_gradient);
  // All pairs (quadrature's product) agrees too, and with the per-column values.
  const MatrixD Zg = standard_normal_matrix(2, 70, rng);
  const MatrixD native_pairs = m.native.model->log_likelihood_all_pairs(X, Zg);
  const MatrixD forward_pairs = m.forward.model->log_likelihood_all_pairs(X, Zg);
  const MatrixD method_pairs = m.method.model->log_likelihood_all_pairs(X, Zg);
  const double pairs_tolerance = 64 * FLT_EPSILON * 2.0 * native_pairs.cwiseAbs().maxCoeff();
  EXPECT_LT((forward_pairs - native_pairs).cwiseAbs().maxCoeff(), pairs_tolerance);
  EXPECT_LT((method_pairs - native_pairs).cwiseAbs().maxCoeff(), pairs_tolerance);
}

TEST_F(TorchScriptModelTest, AutogradGradientsMatchFiniteDifferences) {
  Rng rng(12);
  const MatrixF X = binary_data(784, 1, rng);
  for (const LoadedModel* loaded : {&models().forward, &models().method}) {
    VectorD z = standard_normal_matrix(2, 1, rng).col(0);
    MatrixD grad;
    loaded->model->log_likelihood_with_gradient(X, z, 1, grad);
    const std::function<double(const VectorD&)> f = [&](const VectorD& v) {
      return loaded->model->log_likelihood(X, v, 1)(0);
    };
    // Float32 network: log p(x|z) ~ 10^2-10^3 nats is resolved to ~1e-4, so h = 1e-2 and a 1e-3 relative tolerance.
    testing::expect_gradient_matches_finite_differences<VectorD>(f, z, grad.col(0), 1e-2, 1e-2, 1e-3, 2,
                                                                 loaded->model->describe());
  }
}

TEST_F(TorchScriptModelTest, AColumnsResultIsTheSameBitsAtEveryPositionInEveryBatchAndAtAnyThreadCount) {
  Rng rng(13);
  const MatrixF x = binary_data(784, 1, rng);
  const MatrixD z0 = standard_normal_matrix(2, 1, rng);
  const LoadedModel conv = testing::load_torchscript(testing::conv_manifest());  // LibTorch's convolution kernels
  for (const LoadedModel* loaded : {&models().forward, &models().method, &conv}) {
    MatrixD g_alone;
    const double alone = loaded->model->log_likelihood_with_gradient(x, z0, 1, g_alone)(0);
    for (const Index width : {Index{5}, Index{32}, Index{33}, Index{64}}) {
      for (Index position = 0; position < width; position += (width > 32 ? 7 : 1)) {
        MatrixD Z = 2.0 * standard_normal_matrix(2, width, rng);
        Z.col(position) = z0.col(0);
        const MatrixF X = x.replicate(1, width);
        MatrixD g;
        const VectorD values = loaded->model->log_likelihood_with_gradient(X, Z, 1, g);
        EXPECT_EQ(values(position), alone) << loaded->model->describe() << " width " << width << " position " << position;
        EXPECT_EQ(g.col(position), g_alone.col(0)) << loaded->model->describe() << " width " << width;
        EXPECT_EQ(loaded->model->log_likelihood(X, Z, 1)(position), alone);
      }
    }
    // Threads: the same bits with 1 and 2 worker threads.
    const MatrixF X = binary_data(784, kDatapoints, rng);
    const MatrixD Z = standard_normal_matrix(2, kDatapoints * kSamples, rng);
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    MatrixD g1, g2;
    const VectorD one = loaded->model->log_likelihood_with_gradient(X, Z, kSamples, g1);
    omp_set_num_threads(2);
    const VectorD two = loaded->model->log_likelihood_with_gradient(X, Z, kSamples, g2);
    EXPECT_EQ(omp_get_max_threads(), 2) << "a module call changed the thread's OpenMP setting";
    omp_set_num_threads(saved);
    EXPECT_EQ(one, two);
    EXPECT_EQ(g1, g2);
  }
  // The encoder: a datapoint's q is the same bits wherever it sits.
  const AmortizedApproximation& q = *models().forward.amortized;
  const DiagonalGaussian alone = q.gaussian_base(x);
  for (const Index width : {Index{3}, Index{32}, Index{40}}) {
    MatrixF X = binary_data(784, width, rng);
    X.col(width - 1) = x.col(0);
    const DiagonalGaussian batch = q.gaussian_base(X);
    EXPECT_EQ(batch.mean().col(width - 1), alone.mean().col(0));
    EXPECT_EQ(batch.log_variance().col(width - 1), alone.log_variance().col(0));
  }
}

TEST_F(TorchScriptModelTest, EncodersAgreeWithTheNativeEncoderAndSampleAsTheNativeModelDoes) {
  Rng rng(14);
  const MatrixF X = binary_data(784, 7, rng);
  const DiagonalGaussian native = models().native.amortized->gaussian_base(X);
  for (const LoadedModel* loaded : {&models().forward, &models().method}) {  // tuple / split halves of log-sd
    const DiagonalGaussian q = loaded->amortized->gaussian_base(X);
    EXPECT_LT((q.mean() - native.mean()).cwiseAbs().maxCoeff(), 1e-4) << loaded->amortized->describe();
    EXPECT_LT((q.log_variance() - native.log_variance()).cwiseAbs().maxCoeff(), 1e-4);
    EXPECT_TRUE(loaded->amortized->posterior(X)->has_closed_form_kl_to_standard_normal());
    EXPECT_EQ(loaded->trainable_encoder, nullptr);
    EXPECT_EQ(loaded->trainable_decoder, nullptr);
  }
  // sample(): the same draws as the native model from the same seed (same code, same logits to rounding).
  Rng a(5), b(5);
  const ModelSample native_sample = models().native.model->sample(50, a);
  const ModelSample forward_sample = models().forward.model->sample(50, b);
  EXPECT_EQ(native_sample.latents, forward_sample.latents);
  EXPECT_GT((native_sample.data.array() == forward_sample.data.array()).cast<double>().mean(), 0.999);
  Rng c(5);
  expect_refused([&] { models().method.model->sample(1, c); },
                                                       "gives log p(x|z) but no way to draw x ~ p(x|z)");
}

TEST_F(TorchScriptModelTest, TheLoadedModelRecordsTheManifest) {
  const LoadedModel& loaded = models().forward;
  EXPECT_EQ(loaded.format, "vigap-torchscript");
  EXPECT_EQ(loaded.architecture["decoder"]["output"], "bernoulli-logits");
  EXPECT_EQ(loaded.architecture["encoder"]["output"], "tuple");
  EXPECT_EQ(loaded.metadata.at("binarization"), "dynamic");
  EXPECT_EQ(loaded.metadata.at("torchscript_version"), libtorch_version());
  EXPECT_NE(loaded.metadata.at("torchscript_manifest").find("\"sha256\""), std::string::npos);
  EXPECT_EQ(loaded.model->latent_dim(), 2);
  EXPECT_EQ(loaded.model->data_dim(), 784);
}

TEST_F(TorchScriptModelTest, BadModulesAndManifestsAreRefusedNamingTheFile) {
  const std::string dir = testing::torchscript_fixture_directory();
  // Output of the wrong shape, and NaN for some z: at import (the probe batch) and at evaluation.
  TorchScriptImportOptions wrong{.decoder_file = dir + "/wrong_shape.pt", .latent_dim = 2, .data_dim = 784};
  expect_refused([&] { make_torchscript_manifest(wrong, dir + "/x.json"); },
                                              "the output of TorchScript decoder forward(z) of " + dir +
                                                  "/wrong_shape.pt: expected a float32 tensor of shape [32, 784], "
                                                  "found Float [32, 783]");
  TorchScriptImportOptions nan{.decoder_file = dir + "/nan_for_large_z.pt", .latent_dim = 2};
  expect_refused([&] { make_torchscript_manifest(nan, dir + "/x.json"); },
                                              "TorchScript decoder " + dir + "/nan_for_large_z.pt: forward(z) returned "
                                              "NaN or ±inf at z = (");
  TorchScriptDecoderEntry entry;
  entry.path = dir + "/nan_for_large_z.pt";
  const TorchScriptModel model(entry, 2, 784);
  MatrixD Z(2, 3);
  Z << 0.5, 0.25, 1.5, 0.0, 0.0, -1.0;
  expect_refused([&] { model.log_likelihood(MatrixF::Zero(784, 3), Z, 1); },
                                              "forward(z) returned NaN or ±inf at z = (1.5, -1)");
  // A module without the declared method.
  entry.path = dir + "/decoder.pt";
  entry.output = TorchScriptDecoderOutput::log_likelihood_method;
  expect_refused([&] { TorchScriptModel(entry, 2, 784); },
                                              "TorchScript module " + dir + "/decoder.pt has no method 'log_likelihood'");
  // A wrong SHA-256, a missing module, an unknown output or scale, a newer file format.
  const std::string bad_hash = testing::bad_torchscript_manifest("bad_hash");
  expect_refused([&] { testing::load_torchscript(bad_hash); },
                                              "manifest " + bad_hash + ": module " + dir + "/decoder.pt has SHA-256 ");
  const std::string missing = testing::bad_torchscript_manifest("missing_module");
  expect_refused([&] { testing::load_torchscript(missing); },
                                              "module file " + dir + "/gone.pt cannot be opened");
  const std::string unknown = testing::bad_torchscript_manifest("unknown_output");
  expect_refused(
      [&] { testing::load_torchscript(unknown); },
      "manifest " + unknown + ", decoder 'output': expected one of bernoulli-logits, gaussian-mean, "
      "gaussian-mean-log-variance, log-likelihood-method, found 'poisson'");
  const std::string scale = testing::bad_torchscript_manifest("unknown_scale");
  expect_refused([&] { testing::load_torchscript(scale); },
                                              "encoder 'scale': expected one of log-variance, log-sd, softplus-sd, found 'sd'");
  entry.path = dir + "/newer_format.pt";
  entry.output = TorchScriptDecoderOutput::bernoulli_logits;
  expect_refused([&] { TorchScriptModel(entry, 2, 784); },
                                              "the file records format version 99. If a newer PyTorch wrote it, "
                                              "re-export it under PyTorch <= 1.13");
  entry.path = dir + "/reference.json";
  expect_refused([&] { TorchScriptModel(entry, 2, 784); },
                                              "TorchScript decoder " + dir + "/reference.json: torch::jit::load cannot read it");
}

}  // namespace
}  // namespace vigap
