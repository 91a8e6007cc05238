#include "analyses/evaluation_protocol.hpp"

#include <cmath>
#include <cstdlib>
#include <optional>
#include <stdexcept>

namespace vigap {

namespace {

// Sources. Cremer, Li & Duvenaud's evaluation code is github.com/lxuechen/inference-suboptimality
// (Xuechen Li is the second author), abbreviated "lxuechen/"; the first author's experiment code
// is github.com/chriscremer/Inference-Suboptimality, "chriscremer/". Wu et al.'s code is
// github.com/tonywu95/eval_gen, "eval_gen/". Files were read at the commits stored in the
// reference index (lxuechen fa7d1b1/b852f03, chriscremer 9b73cd0, eval_gen 93bfb05/0549969).
constexpr const char* kLxRun = "lxuechen/run.py";
constexpr const char* kLxAis = "lxuechen/utils/ais.py";
constexpr const char* kLxHmc = "lxuechen/utils/hmc.py, accept_reject";
constexpr const char* kCcLocal = "chriscremer/models/optimize_local_q.py, optimize_local_q_dist";

EvaluationProtocol none_protocol() {
  EvaluationProtocol p;
  p.name = "none";
  p.reference = "no protocol: each binary's own defaults";
  return p;
}

/// Cremer, Li & Duvenaud (2018), "Inference suboptimality in variational autoencoders", ICML.
/// Every setting below comes from their published code (files named in each source); the paper
/// itself states AIS with 10,000 intermediate distributions and 100 chains (section 6).
EvaluationProtocol cremer2018_protocol() {
  EvaluationProtocol p;
  p.name = "cremer2018";
  p.reference =
      "Cremer, Li & Duvenaud (2018), Inference suboptimality in variational autoencoders, ICML; code: "
      "github.com/lxuechen/inference-suboptimality and github.com/chriscremer/Inference-Suboptimality";
  p.settings = {
      // log p(x): AIS from the prior.
      {"log-px", "ais", std::string(kLxRun) + ": --eval-ais runs utils/ais.py ais_trajectory for log p(x)"},
      {"ais-from", "prior", std::string(kLxAis) + ": forward mode starts current_z = randn (the prior)"},
      {"ais-steps", "10000", std::string(kLxRun) + ": --n-ais-dist default 10000 (number of distributions)"},
      {"ais-chains", "100", std::string(kLxRun) + ": --n-ais-iwae default 100 (importance samples = chains)"},
      {"ais-schedule", "linear", std::string(kLxRun) + ": --ais-schedule default 'linear'"},
      {"ais-leapfrog-steps", "10", "lxuechen/utils/hmc.py: hmc_trajectory(..., L=10)"},
      {"ais-step-size", "0.01", std::string(kLxAis) + ": epsilon = ones(B) * 0.01, one per chain"},
      {"ais-adaptation", "online", std::string(kLxHmc) + ": each chain's step adapted during the run"},
      {"ais-target-acceptance", "0.65", std::string(kLxHmc) + ": criteria = accept_hist / hist_len > 0.65"},
      {"ais-step-increase", "1.02", std::string(kLxHmc) + ": adapt = 1.02 * criteria + 0.98 * (1 - criteria)"},
      {"ais-step-decrease", "0.98", kLxHmc},
      {"ais-min-step-size", "1e-4", std::string(kLxHmc) + ": epsilon.clamp(1e-4, .5)"},
      {"ais-max-step-size", "0.5", kLxHmc},
      // The data: the first 1000 points.
      {"num-datapoints", "1000", "lxuechen/utils/helper.py: get_loaders(..., partial=evaluate, num=1000)"},
      {"first-datapoint", "0", "lxuechen/utils/helper.py: the first num=1000 points"},
      // The ELBO side (vigap-evaluate).
      {"estimators", "elbo,iwae,ais", std::string(kLxRun) + ": --eval-iwae (VAE ELBO and IWAE) and --eval-ais"},
      {"elbo-samples", "100", std::string(kLxRun) + ": 'VAE bounds computed w/ 100 MC samples'"},
      {"iwae-k", "5000", std::string(kLxRun) + ": --n-iwae default 5000"},
      // q* (vigap-gap-table).
      {"families", "ffg,flow", "the paper's gap table: q*_FFG and q*_Flow rows (section 5); no full-covariance q*"},
      {"init", "prior", std::string(kCcLocal) + ": mean = zeros, logvar = zeros (N(0, I))"},
      {"qstar-samples", "50", std::string(kCcLocal) + ": P = 50 (lxuechen/local_ffg.py uses k=100; see not_reproduced)"},
      {"qstar-learning-rate", "0.001", std::string(kCcLocal) + ": optim.Adam(params, lr=.001)"},
      {"qstar-learning-rate-half-life", "0", std::string(kCcLocal) + ": constant learning rate"},
      {"qstar-check-interval", "100", std::string(kCcLocal) + ": if epoch % 100 == 0"},
      {"qstar-patience", "11", std::string(kCcLocal) + ": break when consecutive_worse > 10 (the 11th check)"},
      {"qstar-max-steps", "999998", std::string(kCcLocal) + ": for epoch in range(1, 999999)"},
      {"eval-samples", "5000",
       std::string(kCcLocal) + ": q.sample(mean, logvar, 5000); chriscremer/test_set_inference_exp/compute_gaps.py: "
                               "amortized bounds with k=5000"},
  };
  p.not_reproduced = {
      "AIS step adaptation statistic: theirs is each chain's cumulative fraction of accepted proposals since the "
      "start (accept_hist / hist_len, lxuechen/utils/hmc.py); vigap's online rule uses an exponentially smoothed "
      "acceptance probability (--ais-acceptance-smoothing, kept at vigap's default)",
      "AIS schedule length: their linear schedule has 10000 values of beta (9999 weight increments and 9999 HMC "
      "transitions, the last at beta = 1); vigap's T = 10000 has 10001 values (10000 increments, 9999 transitions)",
      "AIS gradient clamp: their grad_U clamps every gradient coordinate to [-10000, 10000]; vigap does not clamp",
      "q* stopping statistic: theirs is the mean training loss of the last 100 steps, and the last parameters are "
      "kept; vigap checks an ELBO on --qstar-check-interval fresh draws (check_samples) and keeps the best check's "
      "parameters (and compares the start with them)",
      "q* samples: chriscremer/models/optimize_local_q.py uses 50 samples a step, lxuechen/local_ffg.py 100 (with "
      "one q per sample, stopped per batch of 100); the preset follows the first author's 50",
      "q*_Flow: vigap's flow q* (coupling layers, --flow-*) is not their flow family; its settings are not set",
      "data: their 1000 points are the first 1000 of their loader (Larochelle's binarized MNIST, or Fashion-MNIST); "
      "vigap-gap-table evaluates the test split of the data set given, binarized as the checkpoint says",
      "training (3280 epochs, batch 100, Adam with the IWAE schedule, KL warm-up over 400 epochs) is vigap-train's, "
      "not part of this evaluation preset",
  };
  return p;
}

/// Wu, Burda, Salakhutdinov & Grosse (2017), "On the quantitative analysis of decoder-based
/// generative models", ICLR: AIS with HMC transitions; their code's defaults.
EvaluationProtocol wu2017_protocol() {
  EvaluationProtocol p;
  p.name = "wu2017";
  p.reference =
      "Wu, Burda, Salakhutdinov & Grosse (2017), On the quantitative analysis of decoder-based generative models, "
      "ICLR; code: github.com/tonywu95/eval_gen";
  constexpr const char* kBuild = "eval_gen/sampling/samplers.py, AISPath.build defaults";
  p.settings = {
      {"log-px", "ais", "eval_gen/experiments/run.py: log p(x) by samplers.run_ais"},
      {"ais-from", "prior", "eval_gen/experiments/run.py: --prior default 'normal'"},
      {"ais-steps", "10000", "eval_gen/experiments/run.py: --num_steps default 10000 (intermediate distributions)"},
      {"ais-chains", "16", "eval_gen/experiments/run.py: --num_samples default 16 (AIS chains)"},
      {"ais-schedule", "sigmoid", "eval_gen/sampling/samplers.py: run_ais uses ais.sigmoid_schedule (section 6.2)"},
      {"ais-sigmoid-radius", "4", "eval_gen/algorithms/ais.py: sigmoid_schedule(num, rad=4)"},
      {"ais-leapfrog-steps", "10", "eval_gen/experiments/run.py: --L default 10"},
      {"ais-step-size", "0.01", "eval_gen/experiments/run.py: --eps default 0.01"},
      {"ais-adaptation", "online", "eval_gen/algorithms/hmc.py: hmc_updates adapts the step after every transition"},
      {"ais-target-acceptance", "0.65", std::string(kBuild) + ": target_acceptance_rate=.65"},
      {"ais-step-increase", "1.02", std::string(kBuild) + ": stepsize_inc=1.02"},
      {"ais-step-decrease", "0.98", std::string(kBuild) + ": stepsize_dec=0.98"},
      {"ais-min-step-size", "1e-4", std::string(kBuild) + ": stepsize_min=0.0001"},
      {"ais-max-step-size", "0.5", std::string(kBuild) + ": stepsize_max=0.5"},
      {"ais-acceptance-smoothing", "0.9", std::string(kBuild) + ": avg_acceptance_slowness=0.9"},
  };
  p.not_reproduced = {
      "AIS step size: theirs is one step size shared by every chain and datapoint, adapted on the batch mean of "
      "0/1 accept decisions (eval_gen/algorithms/hmc.py hmc_updates); vigap's online rule adapts each chain's own "
      "step on its acceptance probability",
      "AIS schedule length: their sigmoid schedule has --num_steps values of beta (9999 increments); vigap's "
      "T = 10000 has 10001 (10000 increments, 9999 HMC transitions in both)",
      "data: they evaluate a random permutation (seed 2919) of MNIST's test images, --num_test of them (default 36); "
      "no datapoint count is set here",
      "BDMC and the Gaussian-observation models (--sigma) of the paper are not part of this preset",
  };
  return p;
}

std::optional<double> as_number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace

const std::vector<EvaluationProtocol>& evaluation_protocols() {
  static const std::vector<EvaluationProtocol> protocols{none_protocol(), cremer2018_protocol(), wu2017_protocol()};
  return protocols;
}

std::string describe_evaluation_protocols() {
  std::string names;
  for (const EvaluationProtocol& p : evaluation_protocols()) names += (names.empty() ? "" : ", ") + p.name;
  return names;
}

const EvaluationProtocol& find_evaluation_protocol(const std::string& name, const std::string& option) {
  for (const EvaluationProtocol& p : evaluation_protocols())
    if (p.name == name) return p;
  throw std::invalid_argument(option + " must be one of " + describe_evaluation_protocols() + ", found '" + name + "'");
}

nlohmann::ordered_json protocol_setting_value(const std::string& text) {
  const std::optional<double> number = as_number(text);
  if (!number) return text;
  if (text.find_first_not_of("-0123456789") == std::string::npos) {
    try {
      return std::stoll(text);
    } catch (const std::out_of_range&) {
      // beyond a 64-bit integer: kept as the double
    }
  }
  return *number;
}

bool same_protocol_setting_value(const std::string& a, const std::string& b) {
  const std::optional<double> x = as_number(a), y = as_number(b);
  if (x && y) return *x == *y;
  return a == b;
}

}  // namespace vigap
