// vigap-gap-table: the ELBO-gap table of Cremer, Li & Duvenaud (2018), "Inference suboptimality
// in variational autoencoders". For a trained VAE and N test datapoints it estimates
//   log p(x)                     (quadrature when the latent dimension is <= 3, else AIS),
//   L[q_amortized]               (the encoder's q, pushed through the checkpoint's flow if it has one),
//   L[q*_F] for each family F    (q* fitted to each datapoint alone: ffg, full, flow),
// and, per datapoint, then averaged over the datapoints:
//   approximation gap_F = log p(x) - L[q*_F]
//   amortization gap_F  = L[q*_F] - L[q_amortized]
//   inference gap       = log p(x) - L[q_amortized] = approximation gap_F + amortization gap_F.
// Standard errors combine the per-datapoint errors of the two terms in quadrature (each term is
// computed from its own random streams: per datapoint, keyed by --seed, the datapoint's index in
// the test set, the purpose and the row's substream). Markdown table on stdout, JSON result, progress on stderr.
// Under `mpirun -np N` the datapoints are handed out in blocks (--block-size) to every rank and
// rank 0 writes the one JSON, with the same `results`; each finished block is journaled in
// <out>.journal, and --resume after a crash computes only the blocks missing there.
#include <cstdio>
#include <memory>
#include <string>

#include "analyses/gap_table.hpp"
#include "analyses/gap_table_block.hpp"
#include "analyses/run_cost_forecast.hpp"
#include "core/data/dataset.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"
#include "core/io/model_loader.hpp"
#include "core/variational/diagonal_gaussian.hpp"
#include "distributed/datapoint_block_run.hpp"
#include "distributed/mpi_session.hpp"
#include "experiments/support/ais_adaptation_options.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/dataset_options.hpp"
#include "experiments/support/evaluation_data.hpp"
#include "experiments/support/protocol_options.hpp"
#include "distributed/seed_replicates.hpp"

namespace po = boost::program_options;
using namespace vigap;

namespace {

int gap_table_main(int argc, char** argv) {
  CommonOptions common;
  DatasetOptions data;
  GapTableOptions table;
  AisOptions& ais = table.ais;
  QuadratureOptions& quadrature = table.quadrature;
  LocalOptimizationOptions& gaussian = table.gaussian;
  LocalFlowOptions& flow = table.flow;
  std::string checkpoint, families_text = "ffg,full,flow", log_px_method = "auto", init = "encoder";
  std::string ais_schedule = to_string(ais.schedule), ais_adaptation = to_string(ais.step_size_adaptation);
  AppliedProtocol protocol;
  Index num_datapoints = 100, first_datapoint = 0;
  Index& eval_samples = table.eval_samples;
  bool per_datapoint = false;
  Index qstar_samples = gaussian.samples_per_step;
  Index check_interval = gaussian.check_interval, patience = gaussian.patience;
  BlockRunSettings blocks;

  po::options_description d("Options");
  add_common_options(d, common, "gap_table.json", true);
  add_dataset_options(d, data);
  add_block_run_options(d, blocks, "the flow q*'s evaluation counts");
  add_protocol_option(d, protocol);
  d.add_options()
      ("checkpoint", po::value(&checkpoint)->required(), "VAE checkpoint (safetensors) written by vigap-train")
      ("num-datapoints", po::value(&num_datapoints)->default_value(num_datapoints), "test datapoints (>= 1)")
      ("first-datapoint", po::value(&first_datapoint)->default_value(first_datapoint), "index of the first one")
      ("families", po::value(&families_text)->default_value(families_text),
       ("comma-separated q* families: " + describe_posterior_families(local_posterior_families()) +
        "; the amortized q is always a row")
           .c_str())
      ("log-px", po::value(&log_px_method)->default_value(log_px_method),
       "log p(x) by auto (quadrature when latent dim <= 3, else AIS), quadrature or ais")
      ("init", po::value(&init)->default_value(init),
       "q* starts from the encoder's q (encoder) or from N(0, I) (prior, as Cremer et al.)")
      ("eval-samples", po::value(&eval_samples)->default_value(eval_samples),
       "samples of the final ELBO of each q (latent dim > 3; exact quadrature otherwise)")
      ("per-datapoint", po::bool_switch(&per_datapoint), "write every datapoint's value to the JSON")
      ("qstar-samples", po::value(&qstar_samples)->default_value(qstar_samples),
       "reparameterized samples per datapoint per q* step (Gaussian and flow q*)")
      ("qstar-max-steps", po::value(&gaussian.max_steps)->default_value(gaussian.max_steps),
       "max steps of the Gaussian q* optimization")
      ("qstar-learning-rate", po::value(&gaussian.learning_rate)->default_value(gaussian.learning_rate),
       "Adam learning rate of the Gaussian q* at step 0")
      ("qstar-learning-rate-half-life",
       po::value(&gaussian.learning_rate_half_life)->default_value(gaussian.learning_rate_half_life),
       "steps over which the Gaussian q*'s learning rate halves (0: constant)")
      ("qstar-check-interval", po::value(&check_interval)->default_value(check_interval),
       "steps between convergence checks (Gaussian and flow q*)")
      ("qstar-patience", po::value(&patience)->default_value(patience),
       "checks without improvement before a datapoint stops (Gaussian and flow q*)")
      ("flow-max-steps", po::value(&flow.max_steps)->default_value(flow.max_steps), "max steps of the flow q*")
      ("flow-learning-rate", po::value(&flow.learning_rate)->default_value(flow.learning_rate),
       "Adam learning rate of the flow q*")
      ("flow-layers", po::value(&flow.flow.num_layers)->default_value(flow.flow.num_layers),
       "coupling layers of each datapoint's flow q*")
      ("ais-steps", po::value(&ais.num_annealing_steps)->default_value(ais.num_annealing_steps),
       "T, intermediate distributions of AIS (>= 1)")
      ("ais-chains", po::value(&ais.chains)->default_value(ais.chains), "AIS chains per datapoint")
      ("ais-leapfrog-steps", po::value(&ais.leapfrog_steps)->default_value(ais.leapfrog_steps), "L per HMC transition of AIS")
      ("ais-step-size", po::value(&ais.initial_step_size)->default_value(ais.initial_step_size), "initial HMC step size of AIS")
      ("ais-schedule", po::value(&ais_schedule)->default_value(ais_schedule), "AIS schedule: linear or sigmoid")
      ("ais-adaptation", po::value(&ais_adaptation)->default_value(ais_adaptation),
       "AIS step-size adaptation: none, online or pilot")
      ("quadrature-tolerance", po::value(&quadrature.tolerance)->default_value(quadrature.tolerance),
       "quadrature error tolerance in nats");
  add_ais_adaptation_options(d, ais);
  if (!parse_command_line(argc, argv, "vigap-gap-table",
                          "The approximation / amortization / inference gap table of Cremer, Li & Duvenaud (2018).",
                          d, common, protocol_hook(d, protocol)))
    return 0;

  table.families = parse_posterior_families(families_text, "--families", local_posterior_families(), true);
  table.log_px = parse_log_marginal_method(log_px_method, "--log-px");
  table.init = parse_qstar_start(init, "--init");
  ais.schedule = parse_annealing_schedule(ais_schedule);
  ais.step_size_adaptation = parse_ais_step_size_adaptation(ais_adaptation);
  if (num_datapoints < 1) throw std::invalid_argument("--num-datapoints must be >= 1, found " + std::to_string(num_datapoints));
  if (first_datapoint < 0) throw std::invalid_argument("--first-datapoint must be >= 0");
  gaussian.samples_per_step = flow.samples = qstar_samples;
  gaussian.check_interval = flow.check_interval = check_interval;
  gaussian.patience = flow.patience = patience;
  table.validate();
  validate(blocks);
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(common.out);

  const LoadedModel loaded = load_model(checkpoint);
  const GenerativeModel& model = loaded.generative_model();
  const AmortizedApproximation& amortized_q = loaded.require_amortized(
      "vigap-gap-table", "the amortized q(z|x) (its row, the amortization and inference gaps, and --init encoder)");
  table.validate(model.latent_dim());
  Dataset dataset = load_dataset(data, "test");
  const EvaluationBinarization binarization = evaluation_binarization(loaded.metadata, "", "checkpoint " + checkpoint);
  const MatrixF X = evaluation_slice(dataset, model.data_dim(), binarization, first_datapoint, num_datapoints);

  // The amortized q: the encoder's Gaussian, through the global flow when the checkpoint has one.
  const std::unique_ptr<PosteriorApproximation> amortized = amortized_q.posterior(X);
  const std::string amortized_name = amortized_q.describe();

  nlohmann::ordered_json configuration;
  configuration["checkpoint"] = checkpoint;
  configuration["architecture"] = loaded.architecture;
  configuration["checkpoint_metadata"] = loaded.metadata;
  configuration["amortized_approximation"] = amortized->describe();
  configuration["binarization"] = binarization.name;
  configuration["evaluation_binarization_seed"] = kEvaluationBinarizationSeed;
  configuration["split"] = "test";
  configuration["first_datapoint"] = first_datapoint;
  configuration["num_datapoints"] = X.cols();
  configuration.update(table.to_json(model.latent_dim()));
  configuration["threads"] = common.threads;
  configuration["protocol"] = protocol.to_json();
  const nlohmann::ordered_json dataset_json = dataset_identity(dataset, "test");

  // Blocks of datapoints, spread over the MPI ranks (or one after another here), journaled.
  const DatapointBlocks plan{first_datapoint, X.cols(), blocks.block_size};
  // The run's cost, before it starts: every rank times the decoder at once, as the run will load
  // the machine (a rank timed beside peers spinning in MPI would read slow); rank 0's forecast is
  // printed and goes to "execution", never `results`.
  mpi_barrier();
  const RunCostForecast forecast = forecast_run_cost(model, X, gap_table_run_cost(table, model.latent_dim(), X.cols()), mpi_place().size,
                                                     plan.num_blocks(), blocks.block_size);
  if (mpi_place().rank == 0 && forecast.worth_printing(protocol.active()))
    std::fputs(forecast.summary("vigap-gap-table").c_str(), stderr);
  const auto compute_block = [&](Index first, Index count) {
    const MatrixF Xb = X.middleCols(first - first_datapoint, count);
    const DiagonalGaussian encoder_q = amortized_q.gaussian_base(Xb);
    const std::unique_ptr<PosteriorApproximation> amortized_b = amortized_q.posterior(Xb);
    const RandomStreams streams = RandomStreams::consecutive(common.seed, static_cast<std::uint64_t>(first), count);
    // Quiet inside a block: the run shows datapoints done across ranks instead.
    return compute_gap_table_block(model, *amortized_b, amortized_name, encoder_q, Xb, table, streams, first).to_json();
  };
  const std::string journal = journal_path(common.out);
  BlockRunReport report;
  const nlohmann::ordered_json identity =
      block_run_identity("vigap-gap-table", common.seed, configuration, checkpoint, dataset_json, X, plan);
  const auto parts = run_datapoint_blocks_as<GapTableBlock>(plan, blocks, journal, identity, "gap-table",
                                                            compute_block, gap_table_block_from_json, &report);
  if (!parts) return 0;  // another rank than 0: rank 0 writes the result
  const GapTable result = assemble_gap_table(*parts);

  nlohmann::ordered_json document = make_result_document("gap_table", configuration, dataset_json, common.seed);
  document["results"] = result.results_json(per_datapoint);
  document["timings"] = result.timings_json();
  document["execution"] = report.to_json();
  document["execution"]["cost"] = forecast.to_json();

  std::printf("%s on %lld test datapoints of %s (from #%lld)\n\n%s", model.describe().c_str(),
              static_cast<long long>(X.cols()), dataset.name.c_str(), static_cast<long long>(first_datapoint),
              result.to_markdown().c_str());
  write_result_json(common.out, document);
  remove_journal(journal);
  std::printf("\nresults: %s\n", common.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // --seeds: the study once per seed, summarized across seeds (distributed/seed_replicates.hpp).
  const ReplicatedBinary binary{"vigap-gap-table",
                                {{"--out", "gap_table.json", false}},
                                /*accepts_resume=*/true, /*validation_only=*/VIGAP_FUZZ_VALIDATION_ONLY};
  return run_distributable_binary("vigap-gap-table", [&] { return run_over_seeds(binary, argc, argv, gap_table_main); });
}
