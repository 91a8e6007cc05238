#pragma once
// Findings over seeds: a study run once per seed (a replicate: its own training, initialization
// and Monte Carlo draws) and each of its figures summarized across the replicates, so that an
// answer rests on the spread between independent runs rather than on one run's standard errors.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vigap {

/// The seeds of a replicated run, from --seeds: "N" (a count: the N seeds first, first + 1, ...,
/// first + N - 1, where first is the run's --seed) or a comma-separated list of two or more
/// distinct seeds ("3,7,11"; the list's order is the replicates' order). Throws
/// std::invalid_argument naming `option` for an empty text, a count below 2, a malformed or
/// repeated seed.
std::vector<std::uint64_t> parse_seed_list(const std::string& text, std::uint64_t first, const std::string& option);

/// One figure across n >= 1 replicates x_1 ... x_n:
///   mean x̄ = Σ x_s / n; standard error s / √n with s² = Σ (x_s - x̄)² / (n - 1);
///   the 95 % interval x̄ ± t_{0.975, n-1} · s / √n (Student's t: exact when the replicates are
///   normal, approximate otherwise; for n = 1 the interval is the point and the error 0).
/// The mean is unbiased for the figure's expectation over seeds; the interval covers it with
/// probability 0.95 under normality.
struct AcrossSeeds {
  std::vector<double> per_seed;
  double mean = 0.0;
  double standard_error = 0.0;  ///< across seeds: s / √n
  double interval_low = 0.0, interval_high = 0.0;

  /// {"mean", "standard_error_across_seeds", "interval_95": [low, high], "per_seed": [...]}.
  nlohmann::ordered_json to_json() const;
};

/// Summarizes `values` (one per replicate, n >= 1; throws std::invalid_argument when empty).
AcrossSeeds summarize_across_seeds(const std::vector<double>& values);

/// The paired difference a_s - b_s of two figures measured in the same replicates (same seed),
/// summarized across seeds: its interval excludes 0 when the seeds agree on the sign beyond
/// their spread. Throws std::invalid_argument when the sizes differ or are 0.
AcrossSeeds paired_difference_across_seeds(const std::vector<double>& a, const std::vector<double>& b);

/// The replicates' `results` documents (the same study at different seeds) summarized leaf by
/// leaf: each number becomes summarize_across_seeds(...).to_json() of its values; objects with
/// the same keys and arrays of the same length are walked in order; a string, boolean or null
/// equal in all replicates is kept. Where the replicates differ in shape (an array of another
/// length, e.g. a training history stopped early at another epoch; a standard error null in one
/// replicate; other keys; another string) the node becomes {"per_seed": [the replicates' nodes]}.
/// Keys beginning "per_datapoint" are left out (the replicates keep them). Throws
/// std::invalid_argument when `results` is empty.
nlohmann::ordered_json summarize_results_across_seeds(const std::vector<nlohmann::ordered_json>& results);

/// A Markdown table of every summarized Estimate in `summary` (a summarize_results_across_seeds
/// document): one row per "value" leaf, named by its path (array elements by their "objective",
/// "method", "family" or "name" string, else their index), with the mean over `seeds` replicates,
/// the standard error across seeds and the 95 % t interval.
std::string across_seeds_markdown(const nlohmann::ordered_json& summary, std::size_t seeds);

}  // namespace vigap
