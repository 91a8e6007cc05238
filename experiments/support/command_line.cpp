#include "experiments/support/command_line.hpp"

#include <malloc.h>
#include <omp.h>

#include <Eigen/Core>
#include <chrono>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "core/version.hpp"
#include "backends/torchscript/torchscript_format.hpp"

namespace po = boost::program_options;

namespace vigap {

void add_common_options(po::options_description& d, CommonOptions& common, const std::string& default_out,
                        bool replicates) {
  common.out = default_out;
  d.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("seed", po::value<std::uint64_t>(&common.seed)->default_value(common.seed), "seed of the run's random number generator")
      ("out", po::value<std::string>(&common.out)->default_value(default_out), "path of the JSON result file")
      ("threads", po::value<int>(&common.threads)->default_value(common.threads), "threads for matrix products (>= 1)");
  if (replicates)
    d.add_options()
        ("seeds", po::value<std::string>(&common.seeds),
         "run the study once per seed and summarize across seeds: a count N (seeds --seed, --seed + 1, ...) or a "
         "list '3,7,11'; each replicate's outputs are <stem>.seed-<s>.<ext>, --out gets every figure's mean, "
         "standard error across seeds and 95 % t interval (--resume keeps finished replicates)");
}

void refuse_option_parser_placeholders(int argc, char** argv, const std::string& program) {
  // Boost's error messages substitute the offending token for placeholders such as
  // %original_token%; a token that itself holds the placeholder makes that substitution loop for
  // ever (found by fuzz/command_line_fuzzer.cpp). No option value needs these, so refuse them.
  for (int i = 1; i < argc; ++i)
    for (const char* placeholder : {"%canonical_option%", "%original_token%", "%option%", "%value%", "%prefix%"})
      if (std::string_view(argv[i]).find(placeholder) != std::string_view::npos)
        throw std::invalid_argument("command-line argument " + std::to_string(i) + " ('" + argv[i] + "') contains '" +
                                    placeholder + "', which " + program +
                                    " does not accept (it is a placeholder of the option parser's messages)");
}

bool parse_command_line(int argc, char** argv, const std::string& program, const std::string& summary,
                        const po::options_description& description, const CommonOptions& common,
                        const std::function<void(po::variables_map&)>& before_notify) {
  refuse_option_parser_placeholders(argc, argv, program);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(description).run(), vm);
    if (vm.count("help")) {
      std::cout << "Usage: " << program << " [options]\n" << summary << "\n\n" << description << "\n";
      return false;
    }
    if (vm.count("version")) {
      std::cout << program << " " << kVersion << " (git " << kGitCommit << ")\n";
      return false;
    }
    if (before_notify) before_notify(vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw std::invalid_argument(std::string(e.what()) + " (see " + program + " --help)");
  }
  if (!common.seeds.empty())  // the replicate driver removes --seeds before the replicates parse
    throw std::invalid_argument("--seeds: " + program + " was not started through the replicate driver");
  if (common.threads < 1)
    throw std::invalid_argument("--threads must be >= 1, found " + std::to_string(common.threads));
  // Eigen's own threaded GEMM stays off: its blocking depends on the thread count, and its
  // workers spin at barriers. Parallel work is split into fixed column blocks instead
  // (core/parallel/worker_pool.hpp, core/nn/column_blocks.hpp).
  Eigen::setNbThreads(1);
  omp_set_num_threads(common.threads);
  return true;
}

std::vector<Index> parse_size_list(const std::string& text, const std::string& option) {
  std::vector<Index> sizes;
  if (text.empty() || text == "none") return sizes;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || item.empty() || value < 1)
      throw std::invalid_argument(option + " expects a comma-separated list of positive sizes (e.g. 200,200), found '" +
                                  text + "'");
    sizes.push_back(static_cast<Index>(value));
  }
  return sizes;
}

namespace {

/// "<program>: error: <what>" on stderr in one write, so that a line from one MPI rank is never
/// interleaved with mpirun's own messages (stderr is unbuffered: each << would be a write).
void print_error(const std::string& program, const char* what) {
  const std::string line = program + ": error: " + what + "\n";
  std::cerr << line << std::flush;
}

}  // namespace

int run_binary(const std::string& program, const std::function<int()>& body) {
  // Keep freed memory in the process: samplers and optimizers free and reallocate the same
  // large matrices thousands of times, and returning them to the kernel costs page faults.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  try {
    // load_model reads vigap-torchscript manifests in every binary; LibTorch starts only for one.
    register_torchscript_model_format();
    return body();
  } catch (const std::invalid_argument& e) {
    print_error(program, e.what());
    return 2;
  } catch (const std::exception& e) {
    print_error(program, e.what());
    return 1;
  }
}


}  // namespace vigap
