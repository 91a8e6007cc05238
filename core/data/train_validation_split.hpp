#pragma once
// A seeded random split of a dataset into training and validation parts.
#include "core/data/dataset.hpp"
#include "core/random.hpp"

namespace vigap {

/// The two disjoint parts of a dataset.
struct TrainValidationSplit {
  Dataset train;
  Dataset validation;
};

/// Shuffles the example indices of `dataset` (Fisher-Yates driven by rng, identical on every
/// platform), puts the first `validation_size` in `validation` and the rest, in shuffled
/// order, in `train`. Throws std::invalid_argument unless 0 <= validation_size < size.
TrainValidationSplit split_train_validation(const Dataset& dataset, Index validation_size, Rng& rng);

}  // namespace vigap
