#pragma once
// The wall time a run will take, forecast before it starts: each stage's decoder evaluations
// (run_cost.hpp) at this machine's throughput measured at that stage's own call width, on the
// ranks it runs on and on others.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analyses/run_cost.hpp"
#include "core/models/generative_model.hpp"
#include "core/random.hpp"
#include "core/types.hpp"

namespace vigap {

/// Decoder evaluations per second of this process, measured.
struct DecoderThroughput {
  double columns_per_second = 0.0;
  Index columns_per_call = 0;  ///< B · S latent columns of each timed call
  Index calls = 0;
  double seconds = 0.0;        ///< time spent measuring
  nlohmann::ordered_json to_json() const;
};

/// Times model.log_likelihood_with_gradient on X (D x B) with S latent columns per datapoint drawn
/// from N(0, I) by `rng` (the calibration's own generator: the run's draws are untouched),
/// repeating the call until min_seconds have passed (at least twice; the first call, which warms
/// caches and allocations, is not timed). Uses the threads the process is configured with.
/// columns_per_second = timed calls · B · S / their seconds. Throws std::invalid_argument for an
/// empty X, S < 1 or min_seconds <= 0.
DecoderThroughput measure_decoder_throughput(const GenerativeModel& model, const MatrixF& X, Index samples_per_datapoint,
                                             double min_seconds, Rng& rng);

/// A run's cost with the time it should take.
struct RunCostForecast {
  RunCost cost;
  /// One measurement per distinct call width of the counted stages, narrowest first: the decoder's
  /// columns per second grow with the columns of a call (a GEMM of 200 columns runs ~1.8x the rate
  /// of one of 100 for a 50-200-200-784 MLP here), so each stage is timed at its own width.
  std::vector<DecoderThroughput> throughputs;
  /// Per stage of `cost` (same order): the columns per second its evaluations are forecast at
  /// (0 for a stage not counted, or nothing measured).
  std::vector<double> stage_columns_per_second;
  int ranks = 1;    ///< the ranks this run has (the MPI world size under mpirun)
  Index blocks = 1; ///< blocks of datapoints the run hands out: more ranks than blocks do not help

  /// Σ_stages decoder_evaluations_s / columns_per_second_s / min(ranks, blocks): linear scaling
  /// over ranks up to the number of blocks (ranks share no work inside a block).
  double seconds(int ranks) const;
  /// As seconds() for cost.minimum_total() (= seconds() when no stage is an upper bound).
  double minimum_seconds(int ranks) const;
  /// Whether to print the forecast before a run: a protocol was given, or this run's forecast is
  /// over 10 seconds.
  bool worth_printing(bool protocol_given) const;
  /// {"decoder_evaluations", "upper_bound", "stages" (each with its "columns_per_call" and
  ///  "columns_per_second"), "throughput": [{...} per width], "ranks", "blocks",
  ///  "forecast_seconds" (this run; "forecast_minimum_seconds" too when it is an upper bound), "forecast_hours_by_ranks": {"1": h, "2": h, ...}}: for the
  /// JSON's "execution" (machine-dependent, never in `results`).
  nlohmann::ordered_json to_json() const;
  /// Lines for stderr: "<program>: cost: 1.10e+10 decoder evaluations (log p(x) by AIS 1.0e+10, ...)",
  /// "<program>: at 4.9e+04 to 8.7e+04 evaluations/s measured here (100 to 200 columns a call): 13.3 h on 1 rank, ...".
  std::string summary(const std::string& program) const;
};

/// The call width of a stage of S samples per datapoint in a run in blocks of block_size over B
/// datapoints: min(block_size, B, 10000 / S') · S' with S' = min(S, 10000) (at most ~10,000 columns:
/// an IWAE-5000 stage would otherwise allocate gigabytes to be timed).
Index forecast_call_width(Index samples_per_datapoint, Index block_size, Index num_datapoints);

/// The forecast of `cost` for a run over X (D x B) on `ranks` ranks in `blocks` blocks of
/// block_size datapoints: the throughput is measured at each distinct forecast_call_width of the
/// counted stages (the first datapoints of X; ~0.3 s in all, at least 0.1 s per width), with a
/// generator of its own (fixed seed: the run's draws are untouched). Nothing is measured when the
/// cost counts no evaluation (quadrature only): the forecast is then 0 s.
RunCostForecast forecast_run_cost(const GenerativeModel& model, const MatrixF& X, RunCost cost, int ranks, Index blocks,
                                  Index block_size);

}  // namespace vigap
