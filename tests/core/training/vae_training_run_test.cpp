// run_vae_training: the sizes it applies, the networks and metadata it returns, the JSON it
// reports, its determinism in the seed, and its bad options.
#include "core/training/vae_training_run.hpp"

#include <gtest/gtest.h>

#include "core/models/mlp_decoder_model.hpp"
#include "support/expect_throw_message.hpp"

namespace vigap {
namespace {

/// `n` binary images of 10 pixels drawn from a random 2-D decoder, all labelled 0.
Dataset gray_images(const std::string& name, Index n, std::uint64_t seed) {
  Rng rng(seed);
  MlpDecoderModel decoder(2, {8}, 10, Activation::tanh, Likelihood::bernoulli);
  decoder.network().initialize(rng);
  Dataset d;
  d.name = name;
  d.source = "test";
  d.images = decoder.sample(n, rng).data;
  d.labels.assign(static_cast<std::size_t>(n), 0);
  return d;
}

VaeTrainingRunOptions small_options() {
  VaeTrainingRunOptions o;
  o.architecture.latent_dim = 2;
  o.architecture.encoder_hidden = {8};
  o.architecture.decoder_hidden = {8};
  o.trainer.epochs = 2;
  o.trainer.batch_size = 20;
  o.validation_size = 30;
  o.train_size = 100;
  o.test_size = 40;
  return o;
}

TEST(VaeTrainingRun, AppliesTheSizesAndRecordsWhatItDid) {
  const VaeTrainingRun run = run_vae_training(small_options(), gray_images("synthetic-train", 200, 1),
                                              gray_images("synthetic-test", 60, 2), 7, ProgressReporter(false));
  EXPECT_EQ(run.validation.size(), 30);
  EXPECT_EQ(run.train.size(), 100);
  EXPECT_EQ(run.test.size(), 40);
  EXPECT_EQ(run.test_datapoints, 40);
  EXPECT_EQ(run.options.architecture.data_dim, 10);
  EXPECT_EQ(run.vae.architecture.data_dim, 10);
  ASSERT_EQ(run.summary.epochs.size(), 2u);
  EXPECT_TRUE(std::isfinite(run.test_elbo.mean));
  EXPECT_LT(run.test_elbo.mean, 0.0);  // log-likelihoods of binary pixels

  EXPECT_EQ(run.vae.metadata.at("dataset"), "synthetic-train");
  EXPECT_EQ(run.vae.metadata.at("seed"), "7");
  EXPECT_EQ(run.vae.metadata.at("binarization"), "dynamic");
  EXPECT_EQ(run.vae.metadata.count("flow_layers"), 0u);

  const nlohmann::ordered_json configuration = run.configuration_json();
  EXPECT_EQ(configuration["train_size"], 100);
  EXPECT_EQ(configuration["validation_size"], 30);
  EXPECT_EQ(configuration["architecture"]["data_dim"], 10);
  EXPECT_EQ(configuration["lr_schedule"]["kind"], "constant");
  const nlohmann::ordered_json results = run.results_json();
  EXPECT_EQ(results["epochs"].size(), 2u);
  EXPECT_EQ(results["test_elbo"]["num_datapoints"], 40);
  EXPECT_EQ(results["test_elbo"]["estimator"], "ELBO, analytic KL, 1 sample per point");
  EXPECT_EQ(run.timings_json()["epochs"].size(), 2u);
  EXPECT_NE(run.summary_text().find("trained Gaussian encoder 10-8-4"), std::string::npos) << run.summary_text();
}

TEST(VaeTrainingRun, TheSameSeedGivesTheSameNetworksAndAFlowIsTrainedWithThem) {
  VaeTrainingRunOptions options = small_options();
  options.architecture.flow_layers = 1;
  options.architecture.flow_hidden = {4};
  options.trainer.objective.kl_estimator = KlEstimator::monte_carlo;
  const auto train = [&](std::uint64_t seed) {
    return run_vae_training(options, gray_images("a", 200, 1), gray_images("b", 60, 2), seed, ProgressReporter(false));
  };
  const VaeTrainingRun a = train(3), b = train(3), c = train(4);
  EXPECT_EQ(a.vae.decoder.network().parameters(), b.vae.decoder.network().parameters());
  ASSERT_TRUE(a.vae.flow && b.vae.flow);
  EXPECT_EQ(a.test_elbo.mean, b.test_elbo.mean);
  EXPECT_NE(a.vae.decoder.network().parameters(), c.vae.decoder.network().parameters());
  EXPECT_EQ(a.vae.metadata.at("flow_layers"), "1");
  EXPECT_EQ(a.results_json()["test_elbo"]["estimator"], "ELBO, Monte Carlo KL (flow posterior), 1 sample per point");
  EXPECT_NE(a.summary_text().find("posterior flow: "), std::string::npos);
}

TEST(VaeTrainingRun, BadOptionsAreRejectedWithTheirNames) {
  VaeTrainingRunOptions o = small_options();
  o.architecture.flow_layers = 1;  // the ELBO with the analytic KL (the default) has no closed form with a flow
  testing::expect_throw_message<std::invalid_argument>([&] { o.validate(); }, {"--kl analytic", "--flow-layers"});
  o = small_options();
  o.validation_size = -1;
  testing::expect_throw_message<std::invalid_argument>([&] { o.validate(); }, {"--validation-size", "-1"});
  o = small_options();
  o.test_size = -2;
  testing::expect_throw_message<std::invalid_argument>(
      [&] { run_vae_training(o, gray_images("a", 50, 1), gray_images("b", 10, 2), 1, ProgressReporter(false)); },
      {"--test-size", "-2"});
}

}  // namespace
}  // namespace vigap
