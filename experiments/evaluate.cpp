// vigap-evaluate: loads a VAE checkpoint and estimates log p(x), the ELBO and KL(q‖p(z|x)) of the
// amortized encoder on a dataset with the chosen estimators; writes JSON, prints a table.
// Under `mpirun -np N` the datapoints (and BDMC's simulated pairs) are handed out in blocks
// (--block-size) to every rank and rank 0 writes the one JSON, with the same `results`; each
// finished block is journaled in <out>.journal, and --resume after a crash computes only the
// blocks missing there.
#include <cstdio>
#include <memory>

#include "analyses/evaluation.hpp"
#include "analyses/evaluation_block.hpp"
#include "analyses/run_cost_forecast.hpp"
#include "core/data/dataset.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"
#include "core/io/model_loader.hpp"
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

/// The estimators' settings on the command line, bound to `o` (and --iwae-k, --ais-schedule,
/// --ais-adaptation, --ais-from to the strings).
void add_estimator_options(po::options_description& d, EvaluationOptions& o, std::string& iwae_k_list,
                           std::string& ais_schedule, std::string& ais_adaptation, std::string& ais_from) {
  d.add_options()
      ("elbo-samples", po::value(&o.elbo.samples)->default_value(o.elbo.samples), "S of the ELBO (analytic KL)")
      ("iwae-k", po::value(&iwae_k_list)->default_value(iwae_k_list), "K of the IWAE bound; a list gives one row each")
      ("iwae-replicates", po::value(&o.iwae.replicates)->default_value(o.iwae.replicates), "independent IWAE replicates")
      ("is-samples", po::value(&o.importance.samples)->default_value(o.importance.samples),
       "K of importance sampling with the encoder as proposal")
      ("ais-steps", po::value(&o.ais.num_annealing_steps)->default_value(o.ais.num_annealing_steps),
       "T, intermediate distributions of AIS (>= 1)")
      ("ais-chains", po::value(&o.ais.chains)->default_value(o.ais.chains), "chains per datapoint")
      ("ais-leapfrog-steps", po::value(&o.ais.leapfrog_steps)->default_value(o.ais.leapfrog_steps), "L per HMC transition")
      ("ais-step-size", po::value(&o.ais.initial_step_size)->default_value(o.ais.initial_step_size), "initial HMC step size")
      ("ais-schedule", po::value(&ais_schedule)->default_value(ais_schedule), "linear or sigmoid")
      ("ais-adaptation", po::value(&ais_adaptation)->default_value(ais_adaptation), "none, online or pilot")
      ("ais-from", po::value(&ais_from)->default_value(ais_from), "initial distribution: prior or encoder")
      ("quadrature-tolerance", po::value(&o.quadrature.tolerance)->default_value(o.quadrature.tolerance),
       "quadrature error tolerance in nats")
      ("quadrature-max-refined-nodes",
       po::value(&o.quadrature.max_refined_nodes_per_dimension)->default_value(o.quadrature.max_refined_nodes_per_dimension),
       "refinement budget: nodes per dimension of the finest per-datapoint grid (0: 4097, 257, 57 for d = 1, 2, 3); "
       "datapoints still above the tolerance are listed on stderr and in the JSON")
      ("bdmc-datapoints", po::value(&o.bdmc_datapoints)->default_value(o.bdmc_datapoints),
       "datapoints simulated from the model for BDMC (0: as many as --num-datapoints)");
}

int evaluate_main(int argc, char** argv) {
  CommonOptions common;
  DatasetOptions data;
  EvaluationOptions evaluation;
  std::string checkpoint, estimators = "elbo,iwae", split = "test", binarization_override, iwae_k_list = "5000";
  std::string ais_schedule = "sigmoid", ais_adaptation = "pilot", ais_from = "prior";
  Index num_datapoints = 1000, first_datapoint = 0;
  bool per_datapoint = false;
  // Blocks of 100: the quadrature decodes its coarse grid once per block (about a second for a
  // 2-D latent space and a 784-pixel decoder), so blocks of 10 would make it 3 times as slow.
  BlockRunSettings blocks;
  blocks.block_size = 100;
  AppliedProtocol protocol;

  po::options_description d("Options");
  add_common_options(d, common, "evaluate.json", true);
  add_dataset_options(d, data);
  add_block_run_options(d, blocks);
  d.add_options()
      ("checkpoint", po::value(&checkpoint)->required(), "VAE checkpoint (safetensors) written by vigap-train")
      ("estimators", po::value(&estimators)->default_value(estimators),
       "comma-separated: elbo, iwae, is, ais, quadrature (latent dim <= 3), bdmc")
      ("split", po::value(&split)->default_value(split), "train or test")
      ("num-datapoints", po::value(&num_datapoints)->default_value(num_datapoints), "datapoints to evaluate (0: all)")
      ("first-datapoint", po::value(&first_datapoint)->default_value(first_datapoint), "index of the first one")
      ("binarization", po::value(&binarization_override)->default_value(""),
       "dynamic, threshold or none (default: as the checkpoint was trained)")
      ("per-datapoint", po::bool_switch(&per_datapoint), "write every datapoint's value to the JSON");
  add_estimator_options(d, evaluation, iwae_k_list, ais_schedule, ais_adaptation, ais_from);
  add_ais_adaptation_options(d, evaluation.ais);
  add_protocol_option(d, protocol);
  if (!parse_command_line(argc, argv, "vigap-evaluate",
                          "Estimates log p(x), the ELBO and KL(q||p(z|x)) of a trained VAE.", d, common,
                          protocol_hook(d, protocol)))
    return 0;

  evaluation.estimators = parse_evaluation_estimators(estimators, "--estimators");
  evaluation.iwae_ks = parse_size_list(iwae_k_list, "--iwae-k");
  if (num_datapoints < 0) throw std::invalid_argument("--num-datapoints must be >= 0, found " + std::to_string(num_datapoints));
  if (first_datapoint < 0) throw std::invalid_argument("--first-datapoint must be >= 0");
  evaluation.ais.schedule = parse_annealing_schedule(ais_schedule);
  evaluation.ais.step_size_adaptation = parse_ais_step_size_adaptation(ais_adaptation);
  evaluation.ais_from = parse_ais_start(ais_from, "--ais-from");
  evaluation.validate();
  validate(blocks);
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(common.out);

  const LoadedModel loaded = load_model(checkpoint);
  const GenerativeModel& model = loaded.generative_model();
  evaluation.validate(model.latent_dim());
  if (evaluation.needs_amortized())
    loaded.require_amortized("vigap-evaluate", "elbo, iwae, is and --ais-from encoder use q(z|x)");
  Dataset dataset = load_dataset(data, split);
  const EvaluationBinarization binarization =
      evaluation_binarization(loaded.metadata, binarization_override, "checkpoint " + checkpoint);
  const MatrixF X = evaluation_slice(dataset, model.data_dim(), binarization, first_datapoint, num_datapoints);

  // The amortized approximation (the encoder's Gaussian, pushed through the flow when the
  // checkpoint has one), named: each block makes its datapoints' own.
  const std::unique_ptr<PosteriorApproximation> q =
      loaded.amortized ? loaded.amortized->posterior(X.leftCols(1)) : nullptr;
  nlohmann::ordered_json configuration;
  configuration["checkpoint"] = checkpoint;
  configuration["architecture"] = loaded.architecture;
  configuration["checkpoint_metadata"] = loaded.metadata;
  configuration.update(evaluation.to_json());
  configuration["binarization"] = binarization.name;
  configuration["evaluation_binarization_seed"] = kEvaluationBinarizationSeed;
  configuration["first_datapoint"] = first_datapoint;
  configuration["num_datapoints"] = X.cols();
  configuration["threads"] = common.threads;
  configuration["protocol"] = protocol.to_json();
  if (q) configuration["amortized_approximation"] = q->describe();
  const nlohmann::ordered_json dataset_json = dataset_identity(dataset, split);
  // A resumed run must also share every estimator setting (the results' `settings` hold them).
  nlohmann::ordered_json run_settings = configuration;
  run_settings["estimator_settings"] = evaluation.settings_json(model.latent_dim());

  if (mpi_place().rank == 0) {
    std::printf("%s on %lld %s datapoints of %s\n\n", model.describe().c_str(), static_cast<long long>(X.cols()),
                split.c_str(), dataset.name.c_str());
    std::fflush(stdout);
  }
  // Blocks of datapoints (and of BDMC's simulated pairs, indexed alike), spread over the MPI ranks
  // (or one after another here), journaled. Every draw for datapoint i is keyed by (--seed, i,
  // purpose, substream): its figures do not depend on its block, the ranks or --threads.
  const DatapointBlocks plan{first_datapoint, evaluation_span(evaluation, X.cols()), blocks.block_size};
  // The run's cost, before it starts: every rank times the decoder at once, as the run will load
  // the machine (a rank timed beside peers spinning in MPI would read slow); rank 0's forecast is
  // printed and goes to "execution", never `results`.
  mpi_barrier();
  const RunCostForecast forecast = forecast_run_cost(model, X, evaluation_run_cost(evaluation, model.latent_dim(), X.cols()), mpi_place().size,
                                                     plan.num_blocks(), blocks.block_size);
  if (mpi_place().rank == 0 && forecast.worth_printing(protocol.active()))
    std::fputs(forecast.summary("vigap-evaluate").c_str(), stderr);
  const auto compute_block = [&](Index first, Index count) {
    // Quiet inside a block: the run shows datapoints done across ranks instead.
    return compute_evaluation_block(model, loaded.amortized.get(), X, first_datapoint, evaluation, common.seed, first,
                                    count)
        .to_json();
  };
  const std::string journal = journal_path(common.out);
  BlockRunReport report;
  const nlohmann::ordered_json identity =
      block_run_identity("vigap-evaluate", common.seed, run_settings, checkpoint, dataset_json, X, plan);
  const auto parts = run_datapoint_blocks_as<EvaluationBlock>(plan, blocks, journal, identity, "evaluate",
                                                              compute_block, evaluation_block_from_json, &report);
  if (!parts) return 0;  // another rank than 0: rank 0 writes the result
  const Evaluation result = assemble_evaluation(*parts);

  nlohmann::ordered_json document = make_result_document("evaluate", configuration, dataset_json, common.seed);
  document["results"] = result.results_json(per_datapoint);
  document["timings"] = result.timings_json();
  document["execution"] = report.to_json();
  document["execution"]["cost"] = forecast.to_json();
  std::printf("%s", result.to_markdown().c_str());
  write_result_json(common.out, document);
  remove_journal(journal);
  std::printf("\nresults: %s\n", common.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // --seeds: the study once per seed, summarized across seeds (distributed/seed_replicates.hpp).
  const ReplicatedBinary binary{"vigap-evaluate",
                                {{"--out", "evaluate.json", false}},
                                /*accepts_resume=*/true, /*validation_only=*/VIGAP_FUZZ_VALIDATION_ONLY};
  return run_distributable_binary("vigap-evaluate", [&] { return run_over_seeds(binary, argc, argv, evaluate_main); });
}
