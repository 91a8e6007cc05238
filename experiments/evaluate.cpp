// vigap-evaluate: loads a VAE checkpoint and estimates log p(x), the ELBO and KL(q‖p(z|x)) of the
// amortized encoder on a dataset with the chosen estimators; writes JSON, prints a table.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include "core/data/dataset.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"
#include "core/io/model_loader.hpp"
#include "core/progress_reporter.hpp"
#include "estimators/annealed_importance_sampling.hpp"
#include "estimators/bidirectional_monte_carlo.hpp"
#include "estimators/kl_divergence_quadrature.hpp"
#include "estimators/elbo_estimator.hpp"
#include "estimators/exact_marginal_likelihood.hpp"
#include "estimators/importance_sampling.hpp"
#include "estimators/iwae_bound.hpp"
#include "estimators/kl_divergence.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/dataset_options.hpp"
#include "experiments/support/evaluation_data.hpp"

namespace po = boost::program_options;
using namespace vigap;

namespace {

const std::set<std::string> kEstimators{"elbo", "iwae", "is", "ais", "quadrature", "bdmc"};

std::vector<std::string> parse_name_list(const std::string& text) {
  std::vector<std::string> names;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (!kEstimators.count(item))
      throw std::invalid_argument("--estimators: unknown estimator '" + item +
                                  "': expected a comma-separated list of elbo, iwae, is, ais, quadrature, bdmc");
    names.push_back(item);
  }
  if (names.empty()) throw std::invalid_argument("--estimators: expected at least one estimator");
  return names;
}

std::string format_error(double standard_error) {
  if (!std::isfinite(standard_error)) return "n/a";  // one sample cannot give an error
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4f", standard_error);
  return buffer;
}

void print_row(const std::string& name, const Estimate& e, double seconds) {
  std::printf("| %-28s | %12.4f | %10s | %10s | %8.1f |\n", name.c_str(), e.value,
              format_error(e.monte_carlo_standard_error).c_str(), format_error(e.dataset_standard_error).c_str(),
              seconds);
}

int evaluate_main(int argc, char** argv) {
  CommonOptions common;
  DatasetOptions data;
  std::string checkpoint, estimators = "elbo,iwae", split = "test", binarization_override, iwae_k_list = "5000";
  Index num_datapoints = 1000, first_datapoint = 0;
  bool per_datapoint = false;
  ElboOptions elbo;
  elbo.samples = 100;
  IwaeBoundOptions iwae;
  ImportanceSamplingOptions importance;
  AisOptions ais;
  std::string ais_schedule = "sigmoid", ais_adaptation = "pilot", ais_from = "prior";
  QuadratureOptions quadrature;
  Index bdmc_datapoints = 0;

  po::options_description d("Options");
  add_common_options(d, common, "evaluate.json");
  add_dataset_options(d, data);
  d.add_options()
      ("checkpoint", po::value(&checkpoint)->required(), "VAE checkpoint (safetensors) written by vigap-train")
      ("estimators", po::value(&estimators)->default_value(estimators),
       "comma-separated: elbo, iwae, is, ais, quadrature (latent dim <= 3), bdmc")
      ("split", po::value(&split)->default_value(split), "train or test")
      ("num-datapoints", po::value(&num_datapoints)->default_value(num_datapoints), "datapoints to evaluate (0: all)")
      ("first-datapoint", po::value(&first_datapoint)->default_value(first_datapoint), "index of the first one")
      ("binarization", po::value(&binarization_override)->default_value(""),
       "dynamic, threshold or none (default: as the checkpoint was trained)")
      ("per-datapoint", po::bool_switch(&per_datapoint), "write every datapoint's value to the JSON")
      ("elbo-samples", po::value(&elbo.samples)->default_value(elbo.samples), "S of the ELBO (analytic KL)")
      ("iwae-k", po::value(&iwae_k_list)->default_value(iwae_k_list), "K of the IWAE bound; a list gives one row each")
      ("iwae-replicates", po::value(&iwae.replicates)->default_value(iwae.replicates), "independent IWAE replicates")
      ("is-samples", po::value(&importance.samples)->default_value(importance.samples),
       "K of importance sampling with the encoder as proposal")
      ("ais-steps", po::value(&ais.num_annealing_steps)->default_value(ais.num_annealing_steps),
       "T, intermediate distributions of AIS (>= 1)")
      ("ais-chains", po::value(&ais.chains)->default_value(ais.chains), "chains per datapoint")
      ("ais-leapfrog-steps", po::value(&ais.leapfrog_steps)->default_value(ais.leapfrog_steps), "L per HMC transition")
      ("ais-step-size", po::value(&ais.initial_step_size)->default_value(ais.initial_step_size), "initial HMC step size")
      ("ais-schedule", po::value(&ais_schedule)->default_value(ais_schedule), "linear or sigmoid")
      ("ais-adaptation", po::value(&ais_adaptation)->default_value(ais_adaptation), "none, online or pilot")
      ("ais-from", po::value(&ais_from)->default_value(ais_from), "initial distribution: prior or encoder")
      ("quadrature-tolerance", po::value(&quadrature.tolerance)->default_value(quadrature.tolerance),
       "quadrature error tolerance in nats")
      ("quadrature-max-refined-nodes",
       po::value(&quadrature.max_refined_nodes_per_dimension)->default_value(quadrature.max_refined_nodes_per_dimension),
       "refinement budget: nodes per dimension of the finest per-datapoint grid (0: 4097, 257, 57 for d = 1, 2, 3); "
       "datapoints still above the tolerance are listed on stderr and in the JSON")
      ("bdmc-datapoints", po::value(&bdmc_datapoints)->default_value(bdmc_datapoints),
       "datapoints simulated from the model for BDMC (0: as many as --num-datapoints)");
  if (!parse_command_line(argc, argv, "vigap-evaluate",
                          "Estimates log p(x), the ELBO and KL(q||p(z|x)) of a trained VAE.", d, common))
    return 0;

  const std::vector<std::string> names = parse_name_list(estimators);
  std::vector<Index> iwae_ks = parse_size_list(iwae_k_list, "--iwae-k");
  if (iwae_ks.empty()) throw std::invalid_argument("--iwae-k expects at least one K >= 1");
  if (num_datapoints < 0) throw std::invalid_argument("--num-datapoints must be >= 0, found " + std::to_string(num_datapoints));
  if (first_datapoint < 0) throw std::invalid_argument("--first-datapoint must be >= 0");
  if (bdmc_datapoints < 0) throw std::invalid_argument("--bdmc-datapoints must be >= 0");
  ais.schedule = parse_annealing_schedule(ais_schedule);
  ais.step_size_adaptation = parse_ais_step_size_adaptation(ais_adaptation);
  if (ais_from != "prior" && ais_from != "encoder")
    throw std::invalid_argument("--ais-from must be prior or encoder, found '" + ais_from + "'");
  elbo.kl_form = ElboKlForm::automatic;
  elbo.validate();
  iwae.validate();
  importance.validate();
  ais.validate();
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();  // command-line fuzzer: stop before any I/O
  check_writable_output_path(common.out);

  const LoadedModel loaded = load_model(checkpoint);
  const GenerativeModel& model = loaded.generative_model();
  const auto uses = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  if (uses("quadrature")) quadrature.validate(model.latent_dim());
  const bool needs_encoder = uses("elbo") || uses("iwae") || uses("is") || (uses("ais") && ais_from == "encoder");
  if (needs_encoder) loaded.require_amortized("vigap-evaluate", "elbo, iwae, is and --ais-from encoder use q(z|x)");

  Dataset dataset = load_dataset(data, split);
  const EvaluationBinarization binarization =
      evaluation_binarization(loaded.metadata, binarization_override, "checkpoint " + checkpoint);
  const MatrixF X = evaluation_slice(dataset, model.data_dim(), binarization, first_datapoint, num_datapoints);
  const Index count = X.cols();

  // Every draw for datapoint i is keyed by (--seed, i = first_datapoint + b, purpose, substream):
  // its figures do not depend on the other datapoints evaluated with it or on --threads.
  const RandomStreams streams = RandomStreams::consecutive(common.seed, static_cast<std::uint64_t>(first_datapoint), count);
  nlohmann::ordered_json configuration;
  configuration["checkpoint"] = checkpoint;
  configuration["architecture"] = loaded.architecture;
  configuration["checkpoint_metadata"] = loaded.metadata;
  configuration["estimators"] = names;
  configuration["binarization"] = binarization.name;
  configuration["evaluation_binarization_seed"] = kEvaluationBinarizationSeed;
  configuration["first_datapoint"] = first_datapoint;
  configuration["num_datapoints"] = count;
  configuration["threads"] = common.threads;
  nlohmann::ordered_json document =
      make_result_document("evaluate", configuration, dataset_identity(dataset, split), common.seed);
  nlohmann::ordered_json& results = document["results"];
  nlohmann::ordered_json& timings = document["timings"];

  // The amortized approximation: the encoder's Gaussian, pushed through the flow when the
  // checkpoint has one.
  const std::unique_ptr<PosteriorApproximation> q = loaded.amortized ? loaded.amortized->posterior(X) : nullptr;
  if (q) document["configuration"]["amortized_approximation"] = q->describe();

  std::printf("%s on %lld %s datapoints of %s\n\n", model.describe().c_str(), static_cast<long long>(count),
              split.c_str(), dataset.name.c_str());
  std::printf("| %-28s | %12s | %10s | %10s | %8s |\n", "estimate (nats)", "mean", "MC s.e.", "data s.e.", "seconds");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(30, '-').c_str(), std::string(14, '-').c_str(),
              std::string(12, '-').c_str(), std::string(12, '-').c_str(), std::string(10, '-').c_str());

  std::optional<Estimate> elbo_estimate, best_log_marginal;
  int best_rank = -1;  // quadrature 3 > ais 2 > is 1 > iwae 0
  const auto offer_log_marginal = [&](const Estimate& e, int rank) {
    if (rank > best_rank) {
      best_rank = rank;
      best_log_marginal = e;
    }
  };
  const auto record = [&](const std::string& key, const std::string& label, Estimate e, double seconds) {
    e.seconds = seconds;
    results[key] = to_json(e, per_datapoint);
    timings[key + "_seconds"] = seconds;
    print_row(label, e, seconds);
  };

  const ProgressReporter progress;
  for (const std::string& name : names) {
    // Each estimator has its own purpose, so its noise is independent of the others' (KL combines
    // their errors in quadrature).
    const auto start = std::chrono::steady_clock::now();
    if (name == "elbo") {
      Estimate e = estimate_elbo(model, *q, X, elbo, streams, progress);
      elbo_estimate = e;
      record("elbo", "ELBO (S=" + std::to_string(elbo.samples) + ")", e, seconds_since(start));
    } else if (name == "iwae") {
      for (Index K : iwae_ks) {
        IwaeBoundOptions o = iwae;
        o.samples = K;
        const auto k_start = std::chrono::steady_clock::now();
        // Substream K: each row has its own noise, unchanged by the other K of the list.
        Estimate e = estimate_iwae_bound(model, *q, X, o, streams.with_substream(static_cast<std::uint64_t>(K)), progress);
        offer_log_marginal(e, 0);
        record("iwae_" + std::to_string(K), "IWAE (K=" + std::to_string(K) + ")", e, seconds_since(k_start));
      }
    } else if (name == "is") {
      ImportanceSamplingResult r = estimate_log_marginal_likelihood_by_importance_sampling(model, *q, X, importance, streams, progress);
      offer_log_marginal(r.log_marginal_likelihood, 1);
      record("importance_sampling", "IS, encoder (K=" + std::to_string(importance.samples) + ")",
             r.log_marginal_likelihood, seconds_since(start));
      results["importance_sampling"]["mean_effective_sample_size"] = r.effective_sample_size.mean();
    } else if (name == "ais") {
      AnnealedImportanceSamplingResult r = ais_from == "prior"
                                               ? annealed_importance_sampling(model, X, ais, streams, progress)
                                               : annealed_importance_sampling(model, *q, X, ais, streams, progress);
      offer_log_marginal(r.estimate, 2);
      record("ais", "AIS from " + ais_from + " (T=" + std::to_string(ais.num_annealing_steps) + ")", r.estimate,
             seconds_since(start));
      results["ais"]["mean_effective_sample_size"] = r.effective_sample_size.mean();
      results["ais"]["mean_acceptance_rate"] = r.acceptance_rate.mean();
      results["ais"]["gradient_evaluations"] = r.gradient_evaluations;
    } else if (name == "quadrature") {
      ExactMarginalLikelihood r = exact_marginal_likelihood(model, X, quadrature);
      // Dataset indices, not batch columns, in the JSON list and the warning.
      r.log_marginal_likelihood.settings["datapoints_over_tolerance"] = to_json(r.over_tolerance, first_datapoint);
      std::fputs(over_tolerance_warning(r.over_tolerance, quadrature.tolerance, "log p(x)", first_datapoint).c_str(),
                 stderr);
      offer_log_marginal(r.log_marginal_likelihood, 3);
      record("quadrature", "log p(x), quadrature (exact)", r.log_marginal_likelihood, seconds_since(start));
      results["quadrature"]["unconverged_datapoints"] = r.unconverged;
      if (q) {
        const auto kl_start = std::chrono::steady_clock::now();
        KlQuadratureOptions kl_options;
        kl_options.quadrature = quadrature;
        const QuadratureKlDivergence exact =
            kl_divergence_by_quadrature(model, *q, X, r.log_marginal_likelihood, kl_options, streams);
        const double kl_seconds = seconds_since(kl_start);
        record("elbo_quadrature", "ELBO, quadrature (exact)", exact.elbo, kl_seconds);
        record("kl_encoder_to_posterior_quadrature", "KL(q||p(z|x)), quadrature", exact.kl_divergence, kl_seconds);
      }
    } else if (name == "bdmc") {
      const Index n = bdmc_datapoints > 0 ? bdmc_datapoints : count;
      // Simulated pair j is keyed like datapoint first_datapoint + j, so splitting a run into
      // ranges of --first-datapoint reproduces the pairs of the whole run.
      const BidirectionalMonteCarloResult r = bidirectional_monte_carlo(
          model, ais, RandomStreams::consecutive(common.seed, static_cast<std::uint64_t>(first_datapoint), n), progress);
      record("bdmc_lower", "BDMC lower (simulated data)", r.forward.estimate, r.seconds);
      record("bdmc_upper", "BDMC upper (simulated data)", r.reverse.estimate, r.seconds);
      results["bdmc_sandwich_width"] = {{"mean", r.mean_gap}, {"max", r.gap.maxCoeff()}, {"num_datapoints", n}};
    }
  }
  if (elbo_estimate && best_log_marginal) {
    Estimate kl = kl_to_posterior_from_estimates(*best_log_marginal, *elbo_estimate);
    kl.settings = {{"log_marginal_likelihood_from", best_log_marginal->estimator}};
    results["kl_encoder_to_posterior"] = to_json(kl, per_datapoint);
    print_row("KL(q||p(z|x)) = log p - ELBO", kl, 0.0);
  }
  write_result_json(common.out, document);
  std::printf("\nresults: %s\n", common.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_binary("vigap-evaluate", [&] { return evaluate_main(argc, argv); });
}
