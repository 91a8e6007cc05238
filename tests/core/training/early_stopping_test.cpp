// Early stopping (core/training/early_stopping.hpp, VaeTrainerOptions::early_stopping_patience):
// the counter's rule on fixed sequences, and in train_vae that training ends `patience` epochs
// after the best one and leaves exactly the parameters training had after that epoch.
#include "core/training/early_stopping.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/models/mlp_decoder_model.hpp"
#include "core/training/vae_trainer.hpp"
#include "core/variational/gaussian_encoder.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

TEST(EarlyStopping, StopsAfterPatienceEpochsWithoutANewBest) {
  EarlyStopping s(2);
  EXPECT_TRUE(s.record(1, -10.0));
  EXPECT_TRUE(s.record(2, -9.0));
  EXPECT_FALSE(s.record(3, -9.0));  // equal is no improvement
  EXPECT_FALSE(s.should_stop());
  EXPECT_TRUE(s.record(4, -8.5));  // a new best resets the count
  EXPECT_FALSE(s.record(5, -8.6));
  EXPECT_FALSE(s.should_stop());
  EXPECT_FALSE(s.record(6, -8.7));
  EXPECT_TRUE(s.should_stop());
  EXPECT_EQ(s.best_epoch(), 4);
  EXPECT_EQ(s.best(), -8.5);
  EarlyStopping off(0);
  for (int e = 1; e < 50; ++e) off.record(e, -static_cast<double>(e));
  EXPECT_FALSE(off.should_stop());
  EXPECT_EQ(off.best_epoch(), 1);
  EXPECT_THROW(EarlyStopping(-1), std::invalid_argument);
}

struct TinyVae {
  GaussianEncoder encoder{10, {16}, 2, Activation::tanh};
  MlpDecoderModel decoder{2, {16}, 10, Activation::tanh, Likelihood::bernoulli};
};

TEST(EarlyStopping, TrainVaeStopsAfterTheBestEpochAndKeepsItsParameters) {
  Rng data_rng(testing::test_seed(31));
  TinyVae truth;
  truth.decoder.network().initialize(data_rng);
  truth.decoder.network().parameters() *= 3.0f;
  const MatrixF train = truth.decoder.sample(20, data_rng).data;  // few points: the fit overfits
  const MatrixF validation = truth.decoder.sample(50, data_rng).data;
  VaeTrainerOptions options;
  options.epochs = 200;
  options.batch_size = 10;
  options.learning_rate.initial = 1e-2;
  options.binarization = Binarization::none;
  options.early_stopping_patience = 3;

  const auto fresh = [&] {
    TinyVae v;
    Rng init(testing::test_seed(32));
    v.encoder.network().initialize(init);
    v.decoder.network().initialize(init);
    return v;
  };
  TinyVae stopped = fresh();
  Rng rng(testing::test_seed(33));
  const VaeTrainingSummary s = train_vae(stopped.encoder, stopped.decoder, train, validation, options, rng);
  // A noisy validation objective (fresh draws each epoch) on an overfitting fit: 3 epochs in a row
  // without a record within 200 epochs is all but certain.
  ASSERT_TRUE(s.stopped_early) << s.epochs.size() << " epochs";
  ASSERT_GE(s.best_epoch, 1);
  EXPECT_EQ(static_cast<int>(s.epochs.size()), s.best_epoch + 3);
  const auto best = std::max_element(s.epochs.begin(), s.epochs.end(), [](const EpochRecord& a, const EpochRecord& b) {
    return a.validation_objective < b.validation_objective;
  });
  EXPECT_EQ(best->epoch, s.best_epoch);

  // The same training run for exactly best_epoch epochs, without early stopping: the same stream,
  // so its final parameters are the ones early stopping must have restored, bit for bit.
  TinyVae reference = fresh();
  Rng reference_rng(testing::test_seed(33));
  VaeTrainerOptions plain = options;
  plain.early_stopping_patience = 0;
  plain.epochs = s.best_epoch;
  const VaeTrainingSummary r = train_vae(reference.encoder, reference.decoder, train, validation, plain, reference_rng);
  EXPECT_FALSE(r.stopped_early);
  EXPECT_EQ(stopped.encoder.network().parameters(), reference.encoder.network().parameters());
  EXPECT_EQ(stopped.decoder.network().parameters(), reference.decoder.network().parameters());
  // ... and not the last epoch's (the restore happened).
  TinyVae last = fresh();
  Rng last_rng(testing::test_seed(33));
  plain.epochs = static_cast<int>(s.epochs.size());
  train_vae(last.encoder, last.decoder, train, validation, plain, last_rng);
  EXPECT_NE(stopped.decoder.network().parameters(), last.decoder.network().parameters());

  // Without validation data there is nothing to stop on: refused.
  TinyVae none = fresh();
  EXPECT_THROW(train_vae(none.encoder, none.decoder, train, MatrixF(10, 0), options, rng), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
