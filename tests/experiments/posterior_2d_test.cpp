// vigap-posterior-2d end to end on a tiny 2-D VAE trained on synthetic images: the SVG
// is a complete document, the JSON holds the grid densities, the exact density integrates to 1
// on the grid, q* is no worse than the encoder in KL. Its bad input: tests/experiments/bad_input_test.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "support/experiment_binary_test.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::run_experiment;

// Small settings: 41 x 41 grid, short HMC, short local optimization.
// Its --seed is test_seed(...) (tests/support/test_seed.hpp).
std::string small_run() {
  return std::string(" --grid-nodes 41 --hmc-chains 2 --hmc-warmup 150 --hmc-draws 150 --local-max-steps 600 --mmd-samples 300"
    " --threads 1 --seed " + testing::test_seed_argument(2));
}

// The tiny models are shared with the other binaries' tests (tests/support/experiment_binary_test.hpp).
class Posterior2dBinary : public testing::ExperimentBinaryTest {};

TEST_F(Posterior2dBinary, WritesPictureAndDensitiesThatIntegrateToOne) {
  const auto run = run_experiment("vigap-posterior-2d", "--checkpoint " + testing::tiny_checkpoint("--latent-dim 2") + " --datapoints 3,0 --out " +
                                                        out.file("p.json") + " --picture " + out.file("p.svg") + small_run());
  ASSERT_EQ(run.exit_code, 0) << run.output;

  const std::string svg = testing::read_text(out.file("p.svg"));
  ASSERT_GT(svg.size(), 1000u);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u) << svg.substr(0, 100);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_NE(svg.find("test datapoint 3"), std::string::npos);
  EXPECT_NE(svg.find("test datapoint 0"), std::string::npos);

  const nlohmann::json document = testing::read_json(out.file("p.json"));
  EXPECT_EQ(document["experiment"], "posterior_2d");
  const nlohmann::json& points = document["results"]["datapoints"];
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0]["datapoint"], 3);
  EXPECT_EQ(points[1]["datapoint"], 0);
  for (const nlohmann::json& p : points) {
    const nlohmann::json& grid = p["grid"];
    ASSERT_EQ(grid["z1"].size(), 41u);
    ASSERT_EQ(grid["z2"].size(), 41u);
    const double z1_step = grid["z1"][1].get<double>() - grid["z1"][0].get<double>();
    const double z2_step = grid["z2"][1].get<double>() - grid["z2"][0].get<double>();
    EXPECT_NEAR(grid["cell_area"].get<double>(), z1_step * z2_step, 1e-12);
    // Centered on the exact posterior mean.
    EXPECT_NEAR(grid["z1"][20].get<double>(), p["posterior_mean"][0].get<double>(), 1e-9);
    EXPECT_NEAR(grid["z2"][20].get<double>(), p["posterior_mean"][1].get<double>(), 1e-9);
    for (const std::string name : {"exact", "q", "q_star"}) {
      const nlohmann::json& rows = p["log_density"][name];
      ASSERT_EQ(rows.size(), 41u) << name;
      double mass = 0.0;
      for (const auto& row : rows) {
        ASSERT_EQ(row.size(), 41u) << name;
        for (const auto& v : row) mass += std::exp(v.get<double>());
      }
      mass *= z1_step * z2_step;
      // Exact: the ±4 sd box holds all but ~1e-4 of the mass; q and q* may be cut by the box.
      if (name == "exact")
        EXPECT_NEAR(mass, 1.0, 1e-2);
      else
        EXPECT_LT(mass, 1.0 + 1e-2) << name;
    }
    const double kl_q = p["kl_q_to_posterior"], kl_q_star = p["kl_q_star_to_posterior"];
    EXPECT_GE(kl_q, -1e-3);
    EXPECT_GE(kl_q_star, -1e-3);
    // q* starts at q and keeps its best check ELBO (±~0.02 nats of check noise at 100 samples).
    EXPECT_LE(kl_q_star, kl_q + 0.05);
    const nlohmann::json& hmc = p["hmc"];
    EXPECT_EQ(hmc["draws"]["z1"].size(), 300u);
    EXPECT_GT(hmc["gradient_evaluations"].get<double>(), 0.0);
    // The discrepancies are in [0, 1] and the HMC mean is within a posterior sd of the exact one.
    EXPECT_GE(hmc["total_variation"].get<double>(), 0.0);
    EXPECT_LE(hmc["total_variation"].get<double>(), 1.0);
    EXPECT_LT(hmc["mean_error_in_posterior_sd"].get<double>(), 1.0);
  }
}

}  // namespace
}  // namespace vigap
