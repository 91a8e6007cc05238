// VaeTrainerOptions::freeze_decoder: only the encoder learns, the decoder stays bit for bit.
#include <gtest/gtest.h>

#include "core/models/mlp_decoder_model.hpp"
#include "core/variational/gaussian_encoder.hpp"
#include "core/training/vae_trainer.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

TEST(VaeTrainerFreezeDecoder, OnlyTheEncoderChangesAndItsElboRises) {
  Rng rng(testing::test_seed(21));
  GaussianEncoder encoder(10, {8}, 2, Activation::tanh);
  MlpDecoderModel decoder(2, {8}, 10, Activation::tanh, Likelihood::bernoulli);
  encoder.network().initialize(rng);
  decoder.network().initialize(rng);
  decoder.network().parameters() *= 3.0f;
  const MatrixF X = decoder.sample(200, rng).data;
  const VectorF decoder_before = decoder.network().parameters();
  const VectorF encoder_before = encoder.network().parameters();
  VaeObjectiveOptions elbo;
  elbo.samples = 20;
  Rng eval_rng(testing::test_seed(1));
  const double elbo_before = evaluate_vae_objective(encoder, decoder, X, elbo, 200, eval_rng).mean;
  VaeTrainerOptions options;
  options.epochs = 20;
  options.batch_size = 20;
  options.learning_rate.initial = 1e-2;
  options.binarization = Binarization::none;
  options.freeze_decoder = true;
  train_vae(encoder, decoder, X, MatrixF(10, 0), options, rng);
  EXPECT_EQ(decoder.network().parameters(), decoder_before);
  EXPECT_NE(encoder.network().parameters(), encoder_before);
  Rng eval_rng_after(testing::test_seed(1));
  const double elbo_after = evaluate_vae_objective(encoder, decoder, X, elbo, 200, eval_rng_after).mean;
  EXPECT_GT(elbo_after, elbo_before + 0.5) << "before " << elbo_before << ", after " << elbo_after;
}

}  // namespace
}  // namespace vigap
