// The machine's single-precision GEMM throughput, measured in the benchmark's own run: the
// ceiling against which bench/run_benchmark.py states each workload's achieved GFLOP/s.
// Times C = A·B (float32, column-major) for the shapes the decoder's products take (M x K by
// K x N), with Eigen's own GEMM and, when libopenblas.so.0 can be loaded at run time (Debian's
// libopenblas0-pthread, which the PyTorch reference needs anyway), with OpenBLAS's cblas_sgemm,
// so that the two can be compared on the same machine and threads.
// Prints one JSON object: per shape and library, GFLOP/s as the best of several timed runs.
#include <dlfcn.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <omp.h>

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
    po::options_description description("Options");
    vigap::add_common_options(description, common, "");
    description.add_options()("repeats", po::value(&repeats)->default_value(5), "timed runs per shape (best kept)");
    if (!vigap::parse_command_line(argc, argv, "bench-gemm-throughput",
                                   "Single-precision GEMM throughput of Eigen and OpenBLAS.", description, common))
      return 0;
    Eigen::setNbThreads(common.threads);

    CblasSgemm openblas_sgemm = nullptr;
    void* openblas = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (openblas != nullptr) {
      openblas_sgemm = reinterpret_cast<CblasSgemm>(dlsym(openblas, "cblas_sgemm"));
      using SetThreads = void (*)(int);
      if (auto set_threads = reinterpret_cast<SetThreads>(dlsym(openblas, "openblas_set_num_threads")))
        set_threads(common.threads);
    }

    struct Shape {
      int m, k, n;
      const char* what;
    };
    const Shape shapes[] = {{784, 200, 1600, "decoder output layer, AIS batch (100 x 16 columns)"},
                            {200, 200, 1600, "decoder hidden layer, AIS batch"},
                            {784, 200, 100, "decoder output layer, training batch"},
                            {1024, 1024, 1024, "square 1024"}};
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    double best_decoder_gflops = 0.0;
    for (const Shape& s : shapes) {
      Eigen::MatrixXf A = Eigen::MatrixXf::Random(s.m, s.k), B = Eigen::MatrixXf::Random(s.k, s.n);
      Eigen::MatrixXf C(s.m, s.n);
      const double flops = 2.0 * s.m * s.k * s.n;
      const double eigen_seconds = best_seconds_per_call([&] { C.noalias() = A * B; }, repeats);
      nlohmann::ordered_json row = {{"m", s.m}, {"k", s.k}, {"n", s.n}, {"what", s.what},
                                    {"eigen_gflops_per_second", flops / eigen_seconds / 1e9}};
      if (openblas_sgemm != nullptr) {
        const double openblas_seconds = best_seconds_per_call(
            [&] {
              openblas_sgemm(kCblasColMajor, kCblasNoTrans, kCblasNoTrans, s.m, s.n, s.k, 1.0f, A.data(), s.m,
                             B.data(), s.k, 0.0f, C.data(), s.m);
            },
            repeats);
        row["openblas_gflops_per_second"] = flops / openblas_seconds / 1e9;
      } else {
        row["openblas_gflops_per_second"] = nullptr;
      }
      if (s.n == 1600 && s.m == 784) best_decoder_gflops = flops / eigen_seconds / 1e9;
      rows.push_back(row);
    }
    nlohmann::ordered_json result = {{"implementation", "vigap"},
                                     {"workload", "gemm"},
                                     {"threads", common.threads},
                                     {"openblas_loaded", openblas_sgemm != nullptr},
                                     {"shapes", rows},
                                     {"reference_gflops_per_second", best_decoder_gflops}};
    std::cout << result.dump() << std::endl;
    return 0;
  });
}
