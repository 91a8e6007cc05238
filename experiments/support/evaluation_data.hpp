#pragma once
// The binarized evaluation set every binary uses, so models are compared on the same data.
#include <cstdint>
#include <map>
#include <string>

#include "core/data/binarization.hpp"
#include "core/data/dataset.hpp"
#include "core/training/vae_trainer.hpp"

namespace vigap {

// kEvaluationBinarizationSeed and binarize_evaluation_set(images, binarization, threshold):
// core/data/binarization.hpp.

/// The binarization a checkpoint's model was trained with, as its metadata records it.
struct EvaluationBinarization {
  std::string name = "dynamic";  ///< "dynamic", "threshold" or "none"
  Binarization binarization = Binarization::dynamic;
  float threshold = 0.5f;
};

/// Reads "binarization" and "binarization_threshold" from checkpoint metadata (dynamic and 0.5
/// when absent); a non-empty override_name (a --binarization option) replaces the name. Throws
/// std::invalid_argument naming `source` when a recorded value cannot be read.
EvaluationBinarization evaluation_binarization(const std::map<std::string, std::string>& metadata,
                                               const std::string& override_name, const std::string& source);

/// The whole split binarized once as evaluation_binarization says, so that datapoint i is the
/// same binary image in every binary and every slice.
MatrixF binarize_evaluation_set(const MatrixF& images, const EvaluationBinarization& binarization);

/// Datapoints first_datapoint, ..., first_datapoint + count - 1 of `dataset`, taken after
/// binarizing the whole split once (binarize_evaluation_set), so datapoint i is the same binary
/// image in every binary and slice; count = num_datapoints, and num_datapoints = 0 means all the
/// rest. Throws std::invalid_argument when the dataset's dimension is not data_dim,
/// --first-datapoint is beyond the dataset, or --num-datapoints is negative or larger than the
/// size - first_datapoint datapoints that exist from there (the message names the option, what
/// was asked and how many exist).
MatrixF evaluation_slice(const Dataset& dataset, Index data_dim, const EvaluationBinarization& binarization,
                         Index first_datapoint, Index num_datapoints);

}  // namespace vigap
