// vigap-aggregate-posterior end to end on tiny VAEs trained on synthetic images: with 2-D
// latents the identity holds to 1e-6 nats by quadrature and Monte Carlo agrees within its standard
// error, the picture is a complete SVG; with 5-D latents Monte Carlo alone; the same seed gives
// the same results. Its bad input: tests/experiments/bad_input_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "support/experiment_binary_test.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::run_experiment;
using testing::TemporaryDirectory;

// Its --seed is test_seed(...) (tests/support/test_seed.hpp).
std::string small_run() {
  return std::string(" --num-datapoints 300 --mc-samples 4 --picture-grid-nodes 41 --threads 1 --seed " + testing::test_seed_argument(2));
}

// The tiny models are shared with the other binaries' tests (tests/support/experiment_binary_test.hpp).
class AggregatePosteriorBinary : public testing::ExperimentBinaryTest {};

TEST_F(AggregatePosteriorBinary, TwoDimensionalLatentsQuadratureIdentityAndMonteCarloAgree) {
  const auto run = run_experiment("vigap-aggregate-posterior", "--checkpoint " + testing::tiny_checkpoint("--latent-dim 2") +
                                                                   " --splits test,train --out " + out.file("a.json") + " --picture " + out.file("a.svg") +
                                                               small_run());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("| test  |    300 | quadrature"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("| train |    300 | monte carlo"), std::string::npos) << run.output;

  const std::string svg = testing::read_text(out.file("a.svg"));
  ASSERT_GT(svg.size(), 1000u);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_NE(svg.find("q(z), test (N = 300)"), std::string::npos);
  EXPECT_NE(svg.find("q(z), train (N = 300)"), std::string::npos);
  EXPECT_NE(svg.find("p(z) = N(0, I)"), std::string::npos);

  const nlohmann::json document = testing::read_json(out.file("a.json"));
  EXPECT_EQ(document["experiment"], "aggregate_posterior");
  const nlohmann::json& results = document["results"];
  ASSERT_EQ(results["picture_grid"]["z1"].size(), 41u);
  for (const std::string split : {"test", "train"}) {
    const nlohmann::json& r = results["splits"][split];
    ASSERT_TRUE(r.contains("quadrature")) << split;
    ASSERT_TRUE(r.contains("monte_carlo")) << split;
    EXPECT_EQ(r["num_datapoints"], 300);
    const nlohmann::json& q = r["quadrature"];
    const nlohmann::json& m = r["monte_carlo"];
    EXPECT_EQ(q["bias_direction"], "exact");
    // The identity by quadrature, each term computed on its own.
    EXPECT_LT(std::abs(q["identity_residual"]["value"].get<double>()), 1e-6) << split;
    EXPECT_LT(q["mutual_information"]["error"].get<double>(), 1e-6) << split;
    EXPECT_NEAR(q["settings"]["grid_mass"].get<double>(), 1.0, 1e-8) << split;
    const double mean_kl = q["mean_kl_to_prior"], info = q["mutual_information"]["value"];
    const double kl = q["aggregate_kl_to_prior"]["value"];
    EXPECT_GT(info, 0.0);
    EXPECT_LE(info, std::log(300.0));
    EXPECT_GE(kl, 0.0);
    EXPECT_NEAR(info + kl, mean_kl, 1e-6);
    // Monte Carlo against quadrature within 4 of its standard errors.
    for (const std::string term : {"mutual_information", "aggregate_kl_to_prior", "aggregate_entropy"}) {
      const double se = m[term]["error"];
      EXPECT_GT(se, 0.0) << split << " " << term;
      EXPECT_NEAR(m[term]["value"].get<double>(), q[term]["value"].get<double>(), 4.0 * se) << split << " " << term;
    }
    EXPECT_LE(r["active_units"]["count"].get<int>(), 2);
    EXPECT_EQ(r["active_units"]["activity"].size(), 2u);
    ASSERT_EQ(r["picture_log_density"].size(), 41u);
    // The picture grid's density integrates to at most 1 (the box may cut tails) and to most of it.
    const double h1 = results["picture_grid"]["z1"][1].get<double>() - results["picture_grid"]["z1"][0].get<double>();
    const double h2 = results["picture_grid"]["z2"][1].get<double>() - results["picture_grid"]["z2"][0].get<double>();
    double mass = 0.0;
    for (const auto& row : r["picture_log_density"])
      for (const auto& v : row) mass += std::exp(v.get<double>()) * h1 * h2;
    EXPECT_GT(mass, 0.9) << split;
    EXPECT_LT(mass, 1.05) << split;
  }
}

TEST_F(AggregatePosteriorBinary, HigherDimensionalLatentsUseMonteCarloAndAreReproducible) {
  std::string first_results;
  for (int repeat = 0; repeat < 2; ++repeat) {
    TemporaryDirectory scratch;
    const auto run = run_experiment("vigap-aggregate-posterior", "--checkpoint " + testing::tiny_checkpoint("--latent-dim 5") + " --splits test --out " +
                                                                 scratch.file("a.json") + " --picture " +
                                                                 scratch.file("a.svg") + small_run());
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const nlohmann::json document = testing::read_json(scratch.file("a.json"));
    const nlohmann::json& r = document["results"]["splits"]["test"];
    EXPECT_FALSE(r.contains("quadrature"));
    const nlohmann::json& m = r["monte_carlo"];
    EXPECT_EQ(m["bias_direction"], "unbiased");
    const double residual = m["identity_residual"]["value"], se = m["identity_residual"]["error"];
    EXPECT_GT(se, 0.0);
    EXPECT_LT(std::abs(residual), 4.0 * se);
    EXPECT_LE(m["mutual_information"]["value"].get<double>(), std::log(300.0) + 4.0 * m["mutual_information"]["error"].get<double>());
    EXPECT_EQ(r["active_units"]["activity"].size(), 5u);
    const std::string svg = testing::read_text(scratch.file("a.svg"));
    EXPECT_NE(svg.find("activity"), std::string::npos);
    EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
    if (repeat == 0)
      first_results = document["results"].dump();
    else
      EXPECT_EQ(document["results"].dump(), first_results) << "same seed, different results";
  }
}

}  // namespace
}  // namespace vigap
