// vigap-aggregate-posterior end to end on tiny VAEs trained on a slice of Fashion-MNIST: with 2-D
// latents the identity holds to 1e-6 nats by quadrature and Monte Carlo agrees within its standard
// error, the picture is a complete SVG; with 5-D latents Monte Carlo alone; the same seed gives
// the same results; bad input fails cleanly and leaves no files.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "support/run_binary.hpp"
#include "support/temporary_directory.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::run_binary;
using testing::TemporaryDirectory;

// Its --seed is test_seed(...) (tests/support/test_seed.hpp).
std::string tiny_model() {
  return std::string("--train-size 600 --validation-size 100 --test-size 100 --epochs 2 --encoder-hidden 32 --decoder-hidden 32 "
    "--batch-size 50 --threads 1 --seed " + testing::test_seed_argument(4));
}

// Its --seed is test_seed(...) (tests/support/test_seed.hpp).
std::string small_run() {
  return std::string(" --num-datapoints 300 --mc-samples 4 --picture-grid-nodes 41 --threads 1 --seed " + testing::test_seed_argument(2));
}

bool fashion_mnist_installed() { return std::filesystem::exists("/usr/share/datasets/fashion-mnist"); }

// Tiny models shared by every test of the file: latent dimension 2, 5, and 2 with a flow.
class AggregatePosteriorBinary : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fashion_mnist_installed()) return;
    scratch_ = new TemporaryDirectory();
    for (const auto& [name, extra] : {std::pair<std::string, std::string>{"z2", "--latent-dim 2"},
                                      {"z5", "--latent-dim 5"},
                                      {"flow", "--latent-dim 2 --flow-layers 2"}}) {
      const auto run = run_binary("vigap-train", tiny_model() + " " + extra + " --out " + scratch_->file(name + ".json") +
                                                     " --checkpoint " + scratch_->file(name + ".safetensors"));
      ASSERT_EQ(run.exit_code, 0) << run.output;
    }
  }
  static void TearDownTestSuite() {
    delete scratch_;
    scratch_ = nullptr;
  }
  void SetUp() override {
    if (!fashion_mnist_installed()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  static std::string model(const std::string& name) { return scratch_->file(name + ".safetensors"); }

  static TemporaryDirectory* scratch_;
  TemporaryDirectory out;
};

TemporaryDirectory* AggregatePosteriorBinary::scratch_ = nullptr;

TEST_F(AggregatePosteriorBinary, TwoDimensionalLatentsQuadratureIdentityAndMonteCarloAgree) {
  const auto run = run_binary("vigap-aggregate-posterior", "--checkpoint " + model("z2") + " --splits test,train --out " +
                                                               out.file("a.json") + " --picture " + out.file("a.svg") +
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
    const auto run = run_binary("vigap-aggregate-posterior", "--checkpoint " + model("z5") + " --splits test --out " +
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

struct BadCase {
  std::string name;
  std::string arguments;  // {z2}, {z5}, {flow} and {dir} are substituted
  std::string expected_message;
  int exit_code;
};

TEST_F(AggregatePosteriorBinary, BadInputFailsClearlyAndLeavesNoFiles) {
  const BadCase cases[] = {
      {"quadrature_in_5d", "--checkpoint {z5} --method quadrature", "--method quadrature needs latent dimension <= 2", 2},
      {"unknown_split", "--checkpoint {z2} --splits test,validation", "--splits expects", 2},
      {"unknown_method", "--checkpoint {z2} --method exact", "--method expects", 2},
      {"one_datapoint", "--checkpoint {z2} --num-datapoints 1", "--num-datapoints must be 0 (all) or >= 2", 2},
      {"even_grid", "--checkpoint {z2} --max-grid-nodes 100", "--max-grid-nodes must be odd", 2},
      {"flow", "--checkpoint {flow}", "has a flow after the encoder", 2},
      {"unwritable_picture", "--checkpoint {z2} --picture /nonexistent-dir/a.svg", "/nonexistent-dir", 2},
      {"missing_checkpoint", "--checkpoint {dir}/nothing.safetensors", "nothing.safetensors", 1}};  // I/O: exit 1
  for (const BadCase& c : cases) {
    TemporaryDirectory scratch;
    std::string arguments = c.arguments + " --out " + scratch.file("a.json");
    if (c.name != "unwritable_picture") arguments += " --picture " + scratch.file("a.svg");
    arguments = testing::substitute_placeholders(arguments, {{"{z2}", model("z2")},
                                                             {"{z5}", model("z5")},
                                                             {"{flow}", model("flow")},
                                                             {"{dir}", scratch.path().string()}});
    if (arguments.find("--num-datapoints") == std::string::npos) arguments += " --num-datapoints 50";
    const auto run = run_binary("vigap-aggregate-posterior", arguments + " --threads 1");
    EXPECT_EQ(run.exit_code, c.exit_code) << c.name << ": " << run.output;
    EXPECT_NE(run.output.find(c.expected_message), std::string::npos)
        << c.name << ": expected '" << c.expected_message << "' in: " << run.output;
    EXPECT_TRUE(scratch.entries().empty()) << c.name << ": left " << scratch.entries().front();
  }
}

}  // namespace
}  // namespace vigap
