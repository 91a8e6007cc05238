// Summaries across seeds (analyses/across_seeds.hpp) against hand-computed values: the mean, the
// standard error s/√n, Student's t interval, paired differences, the leaf-wise summary of
// replicate documents, and the --seeds parser's errors.
#include "analyses/across_seeds.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "support/expect_throw_message.hpp"

namespace vigap {
namespace {

TEST(AcrossSeeds, MeanStandardErrorAndStudentTIntervalAreTheTextbookOnes) {
  const AcrossSeeds s = summarize_across_seeds({1.0, 2.0, 3.0, 4.0, 5.0});
  EXPECT_DOUBLE_EQ(s.mean, 3.0);
  EXPECT_NEAR(s.standard_error, std::sqrt(2.5 / 5.0), 1e-12);  // s² = 10 / 4
  // t_{0.975, 4} = 2.776445105 (tables).
  EXPECT_NEAR(s.interval_high - s.mean, 2.776445105 * std::sqrt(0.5), 1e-8);
  EXPECT_NEAR(s.mean - s.interval_low, 2.776445105 * std::sqrt(0.5), 1e-8);
  ASSERT_EQ(s.per_seed.size(), 5u);
  // Two seeds: t_{0.975, 1} = 12.7062047.
  const AcrossSeeds two = summarize_across_seeds({0.0, 2.0});
  EXPECT_NEAR(two.standard_error, 1.0, 1e-12);
  EXPECT_NEAR(two.interval_high, 1.0 + 12.7062047, 1e-6);
  // One replicate: the point, no spread.
  const AcrossSeeds one = summarize_across_seeds({7.5});
  EXPECT_EQ(one.standard_error, 0.0);
  EXPECT_EQ(one.interval_low, 7.5);
  EXPECT_EQ(one.interval_high, 7.5);
  EXPECT_THROW(summarize_across_seeds({}), std::invalid_argument);
}

TEST(AcrossSeeds, PairedDifferenceRemovesWhatTheSeedsShare) {
  // a and b move together with the seed; their difference is constant: no spread at all.
  const AcrossSeeds d = paired_difference_across_seeds({10.0, 20.0, 30.0}, {9.0, 19.0, 29.0});
  EXPECT_NEAR(d.mean, 1.0, 1e-12);
  EXPECT_NEAR(d.standard_error, 0.0, 1e-12);
  EXPECT_GT(summarize_across_seeds({10.0, 20.0, 30.0}).standard_error, 5.0);
  EXPECT_THROW(paired_difference_across_seeds({1.0}, {1.0, 2.0}), std::invalid_argument);
  EXPECT_THROW(paired_difference_across_seeds({}, {}), std::invalid_argument);
}

TEST(AcrossSeeds, ResultDocumentsAreSummarizedLeafByLeaf) {
  const auto replicate = [](double v, int epochs, const char* note) {
    nlohmann::ordered_json r;
    r["models"] = nlohmann::ordered_json::array();
    r["models"].push_back({{"objective", "elbo"},
                           {"test_log_px", {{"value", v}, {"per_datapoint", {v, v}}}},
                           {"history", std::vector<double>(epochs, v)},
                           {"note", note},
                           {"error", nullptr}});
    return r;
  };
  const nlohmann::ordered_json s =
      summarize_results_across_seeds({replicate(-100.0, 3, "same"), replicate(-102.0, 3, "same"), replicate(-101.0, 4, "same")});
  const nlohmann::ordered_json& m = s["models"][0];
  EXPECT_EQ(m["objective"], "elbo");
  EXPECT_NEAR(m["test_log_px"]["value"]["mean"].get<double>(), -101.0, 1e-12);
  EXPECT_NEAR(m["test_log_px"]["value"]["standard_error_across_seeds"].get<double>(), std::sqrt(1.0 / 3.0), 1e-12);
  EXPECT_EQ(m["test_log_px"]["value"]["per_seed"].size(), 3u);
  EXPECT_FALSE(m["test_log_px"].contains("per_datapoint"));  // the replicates keep them
  // Histories of different lengths (early stopping) are listed per seed, not summarized.
  ASSERT_TRUE(m["history"].contains("per_seed"));
  EXPECT_EQ(m["history"]["per_seed"][2].size(), 4u);
  EXPECT_EQ(m["note"], "same");
  EXPECT_TRUE(m["error"].is_null());
  // A standard error null in one replicate and a number in another: listed, never a crash.
  nlohmann::ordered_json a = {{"se", nullptr}}, b = {{"se", 0.5}};
  EXPECT_EQ(summarize_results_across_seeds({a, b})["se"]["per_seed"].size(), 2u);
  EXPECT_THROW(summarize_results_across_seeds({}), std::invalid_argument);

  const std::string table = across_seeds_markdown(s, 3);
  EXPECT_NE(table.find("| models/elbo/test_log_px | -101.0000 | 0.5774 |"), std::string::npos) << table;
  EXPECT_NE(table.find("mean over 3 seeds"), std::string::npos) << table;
}

TEST(AcrossSeeds, SeedListsAreCountsOrDistinctLists) {
  EXPECT_EQ(parse_seed_list("3", 10, "--seeds"), (std::vector<std::uint64_t>{10, 11, 12}));
  EXPECT_EQ(parse_seed_list("7,3,11", 10, "--seeds"), (std::vector<std::uint64_t>{7, 3, 11}));
  testing::expect_throw_message<std::invalid_argument>([] { parse_seed_list("1", 0, "--seeds"); },
                                                       {"--seeds", "'1'", "at least 2"});
  testing::expect_throw_message<std::invalid_argument>([] { parse_seed_list("3,3", 0, "--seeds"); },
                                                       {"--seeds", "repeated"});
  testing::expect_throw_message<std::invalid_argument>([] { parse_seed_list("2,x", 0, "--seeds"); },
                                                       {"--seeds", "'x' is not a seed"});
  testing::expect_throw_message<std::invalid_argument>([] { parse_seed_list("", 0, "--seeds"); }, {"--seeds", "empty"});
  testing::expect_throw_message<std::invalid_argument>([] { parse_seed_list("5,", 0, "--seeds"); }, {"--seeds"});
  testing::expect_throw_message<std::invalid_argument>([] { parse_seed_list("-2", 0, "--seeds"); }, {"--seeds"});
  testing::expect_throw_message<std::invalid_argument>(
      [] { parse_seed_list("99999999999999999999999", 0, "--seeds"); }, {"--seeds", "out of range"});
}

}  // namespace
}  // namespace vigap
