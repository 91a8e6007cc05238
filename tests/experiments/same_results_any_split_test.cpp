// The same seed gives the same figures however the work is split: for vigap-evaluate (every
// estimator), vigap-gap-table and vigap-hmc-vs-vi, the JSON `results` are byte-identical with
// --threads 1 and --threads 2, and datapoints [0, 40) in one run have the same per-datapoint values
// (bits) as [0, 20) and [20, 40) in two runs, with aggregates recomputed from them agreeing.
// A tiny random-weight 2-D-latent VAE on a synthetic IDX data set of 6 x 6 images
// (tests/support/synthetic_idx_dataset.hpp, written by tests/support/mpi_run_evaluate.hpp's
// write_tiny_vae_fixture): no Fashion-MNIST needed.
//
// These need both halves of issue 10's item 1: per-datapoint random streams (core/random_streams)
// and fixed column blocks in the networks (a product's rounding must not depend on how many
// columns share it); with the streams alone the split comparisons of the MLP models can differ in
// the last bits.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "support/mpi_run_evaluate.hpp"
#include "support/run_binary.hpp"
#include "support/temporary_directory.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

using testing::read_json;
using testing::run_binary;
using testing::TemporaryDirectory;

constexpr Index kImages = 48;  // more than the 40 datapoints compared
constexpr Index kSide = 6;

/// A synthetic IDX test split (kImages images of kSide x kSide) and a VAE with random weights.
class SameResultsAnySplit : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new TemporaryDirectory();
    testing::write_tiny_vae_fixture(scratch_->path(), kImages, kSide, {"vae.safetensors"}, ::vigap::testing::test_seed(91));
  }
  static void TearDownTestSuite() {
    delete scratch_;
    scratch_ = nullptr;
  }

  /// Runs `binary` on datapoints [first, first + count) and returns its JSON `results`.
  static nlohmann::json run(const std::string& binary, const std::string& arguments, Index first, Index count,
                            int threads, const std::string& name) {
    const std::string out = scratch_->file(name + ".json");
    const auto r = run_binary(binary, "--checkpoint " + scratch_->file("vae.safetensors") + " --dataset idx --data-dir " +
                                          scratch_->path().string() + " --first-datapoint " + std::to_string(first) +
                                          " --num-datapoints " + std::to_string(count) + " --threads " +
                                          std::to_string(threads) + " --seed " +
                                          std::to_string(::vigap::testing::test_seed(7)) + " " + arguments + " --out " + out);
    EXPECT_EQ(r.exit_code, 0) << binary << " " << arguments << "\n" << r.output;
    if (r.exit_code != 0) return nlohmann::json();
    return read_json(out)["results"];
  }

  /// --threads 1 and --threads 2 on [0, 40): `results` byte-identical.
  static void expect_thread_independent(const std::string& binary, const std::string& arguments,
                                        const std::string& name) {
    const nlohmann::json one = run(binary, arguments, 0, 40, 1, name + "_t1");
    const nlohmann::json two = run(binary, arguments, 0, 40, 2, name + "_t2");
    ASSERT_FALSE(one.is_null());
    EXPECT_EQ(one.dump(), two.dump()) << binary << " " << arguments;
  }

  /// [0, 40) against [0, 20) and [20, 40): every per-datapoint array of the whole run is the
  /// concatenation of the halves' (the same bits: nlohmann writes doubles round-trip exactly),
  /// and the mean next to it agrees with the mean recomputed from the concatenation.
  static void expect_split_independent(const std::string& binary, const std::string& arguments,
                                       const std::string& name) {
    const nlohmann::json whole = run(binary, arguments, 0, 40, 1, name + "_whole");
    const nlohmann::json first = run(binary, arguments, 0, 20, 1, name + "_first");
    const nlohmann::json second = run(binary, arguments, 20, 20, 1, name + "_second");
    ASSERT_FALSE(whole.is_null() || first.is_null() || second.is_null());
    Index arrays = 0;
    compare(whole, first, second, binary + " " + arguments + ": results", arrays);
    EXPECT_GT(arrays, 0) << "no per-datapoint values to compare in " << binary << " " << arguments;
  }

  static void compare(const nlohmann::json& whole, const nlohmann::json& first, const nlohmann::json& second,
                      const std::string& where, Index& arrays) {
    if (whole.is_object()) {
      for (const auto& [key, value] : whole.items()) {
        if (!first.contains(key) || !second.contains(key)) continue;  // e.g. a budget row present in one only
        const std::string path = where + "." + key;
        if ((key == "per_datapoint" || key == "per_datapoint_standard_error") && value.is_array()) {
          ++arrays;
          nlohmann::json joined = first[key];
          for (const auto& v : second[key]) joined.push_back(v);
          EXPECT_EQ(value.dump(), joined.dump()) << path;
          if (key == "per_datapoint") expect_mean_agrees(whole, joined, path);
        } else {
          compare(value, first[key], second[key], path, arrays);
        }
      }
    } else if (whole.is_array() && first.is_array() && second.is_array() && whole.size() == first.size() &&
               whole.size() == second.size()) {
      for (size_t i = 0; i < whole.size(); ++i)
        compare(whole[i], first[i], second[i], where + "[" + std::to_string(i) + "]", arrays);
    }
  }

  /// The aggregate ("value" of an estimate, "mean" of a summary) of the whole run against the
  /// mean of the joined per-datapoint values.
  static void expect_mean_agrees(const nlohmann::json& object, const nlohmann::json& joined, const std::string& path) {
    const char* key = object.contains("value") ? "value" : object.contains("mean") ? "mean" : nullptr;
    if (key == nullptr || !object[key].is_number()) return;
    double sum = 0.0;
    for (const auto& v : joined) {
      if (!v.is_number()) return;
      sum += v.get<double>();
    }
    const double mean = sum / static_cast<double>(joined.size());
    const double reported = object[key].get<double>();
    EXPECT_NEAR(reported, mean, 1e-12 * (1.0 + std::abs(mean))) << path << " (" << key << ")";
  }

  static TemporaryDirectory* scratch_;
};

TemporaryDirectory* SameResultsAnySplit::scratch_ = nullptr;

const std::vector<std::pair<std::string, std::string>> kEvaluateCases = {
    {"elbo", "--estimators elbo --elbo-samples 20"},
    {"iwae", "--estimators iwae --iwae-k 5,17"},
    {"is", "--estimators is --is-samples 30"},
    {"ais", "--estimators ais --ais-steps 12 --ais-chains 3 --ais-leapfrog-steps 3"},
    {"ais_from_encoder", "--estimators ais --ais-from encoder --ais-steps 12 --ais-chains 3 --ais-leapfrog-steps 3"},
    {"quadrature", "--estimators quadrature,elbo --elbo-samples 10"},
    {"bdmc", "--estimators bdmc --ais-steps 12 --ais-chains 3 --ais-leapfrog-steps 3"},
};

const std::string kGapTable =
    "--families ffg,full,flow --qstar-samples 5 --qstar-max-steps 60 --qstar-check-interval 20 --qstar-patience 2 "
    "--flow-max-steps 40 --per-datapoint";

const std::string kHmcVsVi =
    "--budgets 300 --grid-nodes 21 --grid-half-width 4 --tv-cells-per-bin 4 --vi-draws 200 --picture ";

TEST_F(SameResultsAnySplit, EvaluateResultsDoNotDependOnThreads) {
  for (const auto& [name, arguments] : kEvaluateCases)
    expect_thread_independent("vigap-evaluate", arguments + " --per-datapoint", "evaluate_" + name);
}

TEST_F(SameResultsAnySplit, EvaluatePerDatapointValuesDoNotDependOnTheSplit) {
  for (const auto& [name, arguments] : kEvaluateCases)
    expect_split_independent("vigap-evaluate", arguments + " --per-datapoint", "evaluate_" + name);
}

TEST_F(SameResultsAnySplit, GapTableResultsDoNotDependOnThreads) {
  expect_thread_independent("vigap-gap-table", kGapTable, "gap_table");
}

TEST_F(SameResultsAnySplit, GapTablePerDatapointValuesDoNotDependOnTheSplit) {
  expect_split_independent("vigap-gap-table", kGapTable, "gap_table");
}

TEST_F(SameResultsAnySplit, HmcVsViResultsDoNotDependOnThreads) {
  expect_thread_independent("vigap-hmc-vs-vi", kHmcVsVi + scratch_->file("hmc_t.svg"), "hmc_vs_vi");
}

TEST_F(SameResultsAnySplit, HmcVsViPerDatapointValuesDoNotDependOnTheSplit) {
  expect_split_independent("vigap-hmc-vs-vi", kHmcVsVi + scratch_->file("hmc_s.svg"), "hmc_vs_vi");
}

TEST_F(SameResultsAnySplit, NumDatapointsBeyondTheDataIsAClearError) {
  const std::string out = scratch_->file("too_many.json");
  for (const std::string binary : {"vigap-evaluate", "vigap-gap-table", "vigap-hmc-vs-vi", "vigap-estimator-variance"}) {
    const auto r = run_binary(binary, "--checkpoint " + scratch_->file("vae.safetensors") +
                                          " --dataset idx --data-dir " + scratch_->path().string() +
                                          " --first-datapoint 40 --num-datapoints 9 --out " + out);
    EXPECT_EQ(r.exit_code, 2) << binary << "\n" << r.output;
    for (const std::string fragment : {"--num-datapoints 9", "--first-datapoint 40", "8 exist"})
      EXPECT_NE(r.output.find(fragment), std::string::npos) << binary << " lacks \"" << fragment << "\":\n" << r.output;
    EXPECT_FALSE(std::filesystem::exists(out)) << binary;
  }
  // vigap-aggregate-posterior takes the first N of each split (no --first-datapoint).
  const auto r = run_binary("vigap-aggregate-posterior", "--checkpoint " + scratch_->file("vae.safetensors") +
                                                             " --dataset idx --data-dir " + scratch_->path().string() +
                                                             " --splits test --num-datapoints 49 --out " + out);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  for (const std::string fragment : {"--num-datapoints 49", "test split", "48 exist"})
    EXPECT_NE(r.output.find(fragment), std::string::npos) << "lacks \"" << fragment << "\":\n" << r.output;
  EXPECT_FALSE(std::filesystem::exists(out));
  // 0 still means all the rest.
  const nlohmann::json rest = run("vigap-evaluate", "--estimators elbo --elbo-samples 2", 40, 0, 1, "rest");
  ASSERT_FALSE(rest.is_null());
  EXPECT_EQ(rest["elbo"]["num_datapoints"], 8);
}

}  // namespace
}  // namespace vigap
