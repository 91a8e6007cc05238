#pragma once
// A labelled image dataset held in memory: one column per example, pixels in [0, 1].
#include <stdexcept>
#include <string>
#include <vector>

#include "core/types.hpp"

namespace vigap {

/// Images (D x N, one flattened image per column, values in [0, 1]) with one label each.
struct Dataset {
  std::string name;    ///< e.g. "fashion-mnist-test"; recorded in result files.
  std::string source;  ///< the path(s) the data came from, ';'-separated.
  MatrixF images;      ///< D x N, values in [0, 1]; column n is image n, flattened row by row.
  std::vector<int> labels;  ///< N class labels.
  Index image_rows = 0;     ///< image height in pixels (D = image_rows * image_cols).
  Index image_cols = 0;     ///< image width in pixels.

  /// Number of examples N.
  Index size() const { return images.cols(); }
  /// Pixels per example D.
  Index dimension() const { return images.rows(); }
};

/// Returns the examples of `dataset` at `indices`, in that order (repeats allowed).
/// Throws std::invalid_argument naming the dataset if an index is outside [0, size).
inline Dataset subset(const Dataset& dataset, const std::vector<Index>& indices) {
  Dataset result;
  result.name = dataset.name;
  result.source = dataset.source;
  result.image_rows = dataset.image_rows;
  result.image_cols = dataset.image_cols;
  result.images.resize(dataset.dimension(), static_cast<Index>(indices.size()));
  result.labels.resize(indices.size());
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const Index i = indices[k];
    if (i < 0 || i >= dataset.size())
      throw std::invalid_argument("subset of dataset '" + dataset.name + "': expected indices in [0, " +
                                  std::to_string(dataset.size()) + "), found " + std::to_string(i) +
                                  " at position " + std::to_string(k));
    result.images.col(static_cast<Index>(k)) = dataset.images.col(i);
    result.labels[k] = dataset.labels[static_cast<std::size_t>(i)];
  }
  return result;
}

/// Returns the first n examples of `dataset`.
/// Throws std::invalid_argument naming the dataset if n is outside [0, size].
inline Dataset head(const Dataset& dataset, Index n) {
  if (n < 0 || n > dataset.size())
    throw std::invalid_argument("head of dataset '" + dataset.name + "': expected a count in [0, " +
                                std::to_string(dataset.size()) + "], found " + std::to_string(n));
  std::vector<Index> indices(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) indices[static_cast<std::size_t>(i)] = i;
  return subset(dataset, indices);
}

}  // namespace vigap
