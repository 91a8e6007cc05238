#pragma once
// Readers for the IDX format of MNIST and Fashion-MNIST (raw or gzip-compressed).
//
// An IDX file is a big-endian 4-byte magic 0x000008NN (0x08 = unsigned bytes, NN = number of
// dimensions), NN big-endian uint32 dimensions, then the bytes in C order. Compression is
// detected by the gzip magic 0x1f 0x8b; concatenated gzip members are read as one stream).
//
// Errors: std::runtime_error if the file cannot be opened or read; std::invalid_argument if
// its content is malformed (wrong magic, impossible dimensions, truncated data, corrupt gzip).
// Every message names the file, what was expected and what was found.
#include <string>
#include <string_view>
#include <vector>

#include "core/types.hpp"

namespace vigap {

/// Parses `bytes`, the contents of an IDX image file (raw or gzip-compressed), as
/// read_idx_images does; `source` names the file in errors. Throws std::invalid_argument if
/// malformed. Allocates no more than a small multiple of the data actually present.
MatrixF parse_idx_images(std::string_view bytes, const std::string& source, Index* rows, Index* cols);

/// Parses `bytes`, the contents of an IDX label file (raw or gzip-compressed), as
/// read_idx_labels does; `source` names the file in errors.
std::vector<int> parse_idx_labels(std::string_view bytes, const std::string& source);

/// Reads an IDX image file (magic 0x00000803: count x rows x cols unsigned bytes) into a
/// (rows*cols) x count matrix of values byte/255 in [0, 1]; column n is image n flattened
/// row by row. Stores the image height and width in *rows and *cols when they are not null.
MatrixF read_idx_images(const std::string& path, Index* rows, Index* cols);

/// Reads an IDX label file (magic 0x00000801: count unsigned bytes) into a vector of labels.
std::vector<int> read_idx_labels(const std::string& path);

}  // namespace vigap
