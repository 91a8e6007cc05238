// Single-thread GFLOP/s of the decoder's products (50-200-200-784: forward W·X per layer and the
// backward Wᵀ·G per layer) on blocks of a given column count: the measurement behind
// kColumnBlockWidth (core/nn/column_blocks.hpp). Prints one JSON object: per width, the best of
// --repeats timings of about 2,048 columns in blocks of that width.
#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "experiments/support/command_line.hpp"

int main(int argc, char** argv) {
  return vigap::run_binary("bench-column-block-width", [&]() -> int {
    namespace po = boost::program_options;
    vigap::CommonOptions common;
    int repeats = 5;
    std::string widths_text = "8,16,24,32,48,64,96,128,256";
    po::options_description description("Options");
    vigap::add_common_options(description, common, "");
    description.add_options()("repeats", po::value(&repeats)->default_value(repeats), "timed runs per width (best kept)")(
        "widths", po::value(&widths_text)->default_value(widths_text), "block widths (columns)");
    if (!vigap::parse_command_line(argc, argv, "bench-column-block-width",
                                   "Decoder product throughput by column block width.", description, common))
      return 0;
    using M = Eigen::MatrixXf;
    const int sizes[] = {50, 200, 200, 784};
    M W[3];
    double multiply_adds = 0;
    for (int l = 0; l < 3; ++l) {
      W[l] = M::Random(sizes[l + 1], sizes[l]);
      multiply_adds += static_cast<double>(sizes[l]) * sizes[l + 1];
    }
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const vigap::Index K : vigap::parse_size_list(widths_text, "--widths")) {
      const vigap::Index blocks = std::max<vigap::Index>(1, 2048 / K);
      M X[4], G[4];
      X[0] = M::Random(50, K);
      double best = 1e300;
      for (int r = 0; r < repeats; ++r) {
        const auto start = std::chrono::steady_clock::now();
        for (vigap::Index b = 0; b < blocks; ++b) {
          for (int l = 0; l < 3; ++l) X[l + 1].noalias() = W[l] * X[l];
          G[3] = X[3];
          for (int l = 2; l >= 0; --l) G[l].noalias() = W[l].transpose() * G[l + 1];
        }
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
                                  static_cast<double>(blocks * K));
      }
      rows.push_back({{"width", K}, {"gflops_per_second", 4.0 * multiply_adds / best / 1e9}});
    }
    std::cout << nlohmann::ordered_json{{"benchmark", "column_block_width"}, {"rows", rows}}.dump(2) << "\n";
    return 0;
  });
}
