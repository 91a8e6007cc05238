#include "core/random_streams.hpp"

namespace vigap {

BatchRng BatchRng::seeded_from(Rng& rng, Index num_datapoints) {
  if (num_datapoints < 0)
    throw std::invalid_argument("BatchRng::seeded_from: the number of datapoints must be >= 0, found " +
                                std::to_string(num_datapoints));
  std::vector<Rng> generators;
  generators.reserve(static_cast<size_t>(num_datapoints));
  for (Index b = 0; b < num_datapoints; ++b) generators.emplace_back(rng());
  return BatchRng(std::move(generators));
}

Index BatchRng::columns_per_datapoint(Index columns, const char* caller) const {
  if (size() < 1 || columns % size() != 0)
    throw std::invalid_argument(std::string(caller) + ": " + std::to_string(columns) +
                                " columns cannot be split evenly among " + std::to_string(size()) +
                                " per-datapoint generators");
  return columns / size();
}

RandomStreams::RandomStreams(std::uint64_t run_seed, std::vector<std::uint64_t> dataset_indices,
                             std::uint64_t substream)
    : run_seed_(run_seed), dataset_indices_(std::move(dataset_indices)), substream_(substream) {}

RandomStreams RandomStreams::consecutive(std::uint64_t run_seed, std::uint64_t first_index, Index count) {
  if (count < 0)
    throw std::invalid_argument("RandomStreams::consecutive: count must be >= 0, found " + std::to_string(count));
  std::vector<std::uint64_t> indices(static_cast<size_t>(count));
  for (size_t b = 0; b < indices.size(); ++b) indices[b] = first_index + b;
  return RandomStreams(run_seed, std::move(indices));
}

RandomStreams RandomStreams::from_rng(Rng& rng, Index count) { return consecutive(rng(), 0, count); }

BatchRng RandomStreams::generators(StreamPurpose purpose, std::uint64_t substream) const {
  std::vector<Rng> generators;
  generators.reserve(dataset_indices_.size());
  for (const std::uint64_t index : dataset_indices_)
    generators.emplace_back(stream_seed(run_seed_, purpose, index, substream));
  return BatchRng(std::move(generators));
}

RandomStreams RandomStreams::slice(Index first, Index count) const {
  if (first < 0 || count < 0 || first + count > size())
    throw std::invalid_argument("RandomStreams::slice: datapoints [" + std::to_string(first) + ", " +
                                std::to_string(first + count) + ") are not inside the batch of " +
                                std::to_string(size()));
  return RandomStreams(run_seed_,
                       std::vector<std::uint64_t>(dataset_indices_.begin() + first,
                                                  dataset_indices_.begin() + first + count),
                       substream_);
}

RandomStreams RandomStreams::with_substream(std::uint64_t substream) const {
  return RandomStreams(run_seed_, dataset_indices_, substream);
}

void RandomStreams::check_size(Index num_datapoints, const char* caller) const {
  if (size() != num_datapoints)
    throw std::invalid_argument(std::string(caller) + ": the random streams cover " + std::to_string(size()) +
                                " datapoints, the batch has " + std::to_string(num_datapoints));
}

}  // namespace vigap
