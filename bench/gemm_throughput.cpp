// The machine's single-precision GEMM throughput, measured in the benchmark's own run: the
// ceiling against which bench/run_benchmark.py states each workload's achieved GFLOP/s.
// Times C = A·B (float32, column-major) for the shapes the decoder's products take (M x K by
// K x N), with Eigen's own GEMM and, with --cblas-library, with that library's cblas_sgemm loaded
// at run time (one of the BLAS builds scripts/install_bench_dependencies.sh unpacks: OpenBLAS or
// BLIS, OpenMP, pthread or serial), on the same machine and threads. Threads are set through
// omp_set_num_threads and, where the library has them, openblas_set_num_threads and
// bli_thread_set_num_threads. Prints one JSON object: per shape, GFLOP/s of Eigen and of the
// library as the best of several timed runs, and each one's throughput on the AIS decoder's six
// products taken together (forward and backward to z of 1600 columns: total FLOPs / total time).
#include <dlfcn.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <omp.h>
#include <stdexcept>
#include <string>

#include "experiments/support/command_line.hpp"

namespace {

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

// cblas_sgemm(order, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
using CblasSgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*,
                            int);
constexpr int kCblasColMajor = 102;
constexpr int kCblasNoTrans = 111;

/// Best-of-`repeats` seconds of `product`, each timing as many calls as fill ~0.2 s.
template <typename Product>
double best_seconds_per_call(Product&& product, int repeats) {
  product();  // warm up (thread pools, page faults)
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    int calls = 0;
    const auto start = Clock::now();
    double elapsed = 0.0;
    do {
      product();
      ++calls;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < 0.2);
    best = std::min(best, elapsed / calls);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  return vigap::run_binary("bench-gemm-throughput", [&]() -> int {
    vigap::CommonOptions common;
    int repeats = 5;
    std::string cblas_library;
    po::options_description description("Options");
    vigap::add_common_options(description, common, "");
    description.add_options()("repeats", po::value(&repeats)->default_value(5), "timed runs per shape (best kept)")(
        "cblas-library", po::value(&cblas_library), "also time cblas_sgemm from this shared library (a libblas.so.3)");
    if (!vigap::parse_command_line(argc, argv, "bench-gemm-throughput",
                                   "Single-precision GEMM throughput of Eigen and OpenBLAS.", description, common))
      return 0;
    if (repeats < 1) throw std::invalid_argument("--repeats: expected an integer >= 1, found " + std::to_string(repeats));
    Eigen::setNbThreads(common.threads);
    omp_set_num_threads(common.threads);

    CblasSgemm cblas_sgemm = nullptr;
    if (!cblas_library.empty()) {
      void* library = dlopen(cblas_library.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (library == nullptr)
        throw std::invalid_argument("--cblas-library: cannot load '" + cblas_library + "': " + dlerror());
      cblas_sgemm = reinterpret_cast<CblasSgemm>(dlsym(library, "cblas_sgemm"));
      if (cblas_sgemm == nullptr)
        throw std::invalid_argument("--cblas-library: '" + cblas_library + "' has no cblas_sgemm");
      using SetThreads = void (*)(int);
      for (const char* name : {"openblas_set_num_threads", "bli_thread_set_num_threads"})
        if (auto set_threads = reinterpret_cast<SetThreads>(dlsym(library, name))) set_threads(common.threads);
    }

    struct Shape {
      int m, k, n;
      const char* what;
    };
    // The first six are the AIS decoder's products (784-200-200-50, 1600 columns = 100 datapoints x
    // 16 chains): forward W·H and backward Wᵀ·Δ, the latter timed as the untransposed product of
    // the same dimensions.
    const Shape shapes[] = {{200, 50, 1600, "decoder first layer, AIS batch (100 x 16 columns)"},
                            {200, 200, 1600, "decoder hidden layer, AIS batch"},
                            {784, 200, 1600, "decoder output layer, AIS batch"},
                            {200, 784, 1600, "backward through the output layer, AIS batch"},
                            {200, 200, 1600, "backward through the hidden layer, AIS batch"},
                            {50, 200, 1600, "backward to z, AIS batch"},
                            {784, 200, 100, "decoder output layer, training batch"},
                            {1024, 1024, 1024, "square 1024"}};
    constexpr int kAisShapes = 6;
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    double best_decoder_gflops = 0.0, ais_flops = 0.0, ais_eigen_seconds = 0.0, ais_cblas_seconds = 0.0;
    int shape_index = 0;
    for (const Shape& s : shapes) {
      Eigen::MatrixXf A = Eigen::MatrixXf::Random(s.m, s.k), B = Eigen::MatrixXf::Random(s.k, s.n);
      Eigen::MatrixXf C(s.m, s.n);
      const double flops = 2.0 * s.m * s.k * s.n;
      const double eigen_seconds = best_seconds_per_call([&] { C.noalias() = A * B; }, repeats);
      nlohmann::ordered_json row = {{"m", s.m}, {"k", s.k}, {"n", s.n}, {"what", s.what},
                                    {"eigen_gflops_per_second", flops / eigen_seconds / 1e9}};
      double cblas_seconds = 0.0;
      if (cblas_sgemm != nullptr) {
        cblas_seconds = best_seconds_per_call(
            [&] {
              cblas_sgemm(kCblasColMajor, kCblasNoTrans, kCblasNoTrans, s.m, s.n, s.k, 1.0f, A.data(), s.m,
                          B.data(), s.k, 0.0f, C.data(), s.m);
            },
            repeats);
        row["cblas_gflops_per_second"] = flops / cblas_seconds / 1e9;
      } else {
        row["cblas_gflops_per_second"] = nullptr;
      }
      if (s.n == 1600 && s.m == 784) best_decoder_gflops = flops / eigen_seconds / 1e9;
      if (shape_index++ < kAisShapes) {
        ais_flops += flops;
        ais_eigen_seconds += eigen_seconds;
        ais_cblas_seconds += cblas_seconds;
      }
      rows.push_back(row);
    }
    nlohmann::ordered_json result = {
        {"implementation", "vigap"},
        {"workload", "gemm"},
        {"threads", common.threads},
        {"cblas_library", cblas_library.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(cblas_library)},
        {"shapes", rows},
        {"reference_gflops_per_second", best_decoder_gflops},
        {"ais_decoder_eigen_gflops_per_second", ais_flops / ais_eigen_seconds / 1e9},
        {"ais_decoder_cblas_gflops_per_second",
         cblas_sgemm != nullptr ? nlohmann::ordered_json(ais_flops / ais_cblas_seconds / 1e9) : nlohmann::ordered_json(nullptr)}};
    std::cout << result.dump() << std::endl;
    return 0;
  });
}
