#include "core/data/train_validation_split.hpp"

#include <gtest/gtest.h>

#include <set>

namespace vigap {
namespace {

/// A dataset of n one-pixel images whose pixel and label are the example's index.
Dataset numbered_dataset(Index n) {
  Dataset dataset;
  dataset.name = "numbered";
  dataset.images.resize(1, n);
  for (Index i = 0; i < n; ++i) {
    dataset.images(0, i) = static_cast<float>(i);
    dataset.labels.push_back(static_cast<int>(i));
  }
  dataset.image_rows = dataset.image_cols = 1;
  return dataset;
}

TEST(TrainValidationSplit, SizesAreDisjointAndCoverTheDataset) {
  const Dataset dataset = numbered_dataset(100);
  Rng rng(3);
  const TrainValidationSplit split = split_train_validation(dataset, 30, rng);
  EXPECT_EQ(split.validation.size(), 30);
  EXPECT_EQ(split.train.size(), 70);
  std::set<int> seen;
  for (const Dataset* part : {&split.train, &split.validation})
    for (Index i = 0; i < part->size(); ++i) {
      EXPECT_EQ(part->images(0, i), static_cast<float>(part->labels[i]));  // image and label stay together
      EXPECT_TRUE(seen.insert(part->labels[i]).second) << "example " << part->labels[i] << " appears twice";
    }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(TrainValidationSplit, IsDeterministicGivenSeedAndShuffles) {
  const Dataset dataset = numbered_dataset(50);
  Rng a(11), b(11), c(12);
  const TrainValidationSplit first = split_train_validation(dataset, 10, a);
  const TrainValidationSplit second = split_train_validation(dataset, 10, b);
  const TrainValidationSplit other = split_train_validation(dataset, 10, c);
  EXPECT_EQ(first.validation.labels, second.validation.labels);
  EXPECT_EQ(first.train.labels, second.train.labels);
  EXPECT_NE(first.validation.labels, other.validation.labels);
  EXPECT_NE(first.validation.labels, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(TrainValidationSplit, RejectsValidationSizeOutOfRange) {
  const Dataset dataset = numbered_dataset(5);
  Rng rng(1);
  EXPECT_THROW(split_train_validation(dataset, 5, rng), std::invalid_argument);
  EXPECT_THROW(split_train_validation(dataset, -1, rng), std::invalid_argument);
  EXPECT_EQ(split_train_validation(dataset, 0, rng).train.size(), 5);
}

}  // namespace
}  // namespace vigap
