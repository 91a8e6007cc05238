#pragma once
// Running a per-datapoint binary over Open MPI ranks from a test, killing it mid-run and reading
// its resume journal (test support): what tests/distributed/evaluate_over_ranks_test.cpp needs,
// with the fixture it runs on (a tiny random-weight 2-D-latent VAE and a synthetic IDX data set).
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/io/vae_checkpoint.hpp"
#include "core/random.hpp"
#include "support/synthetic_idx_dataset.hpp"

namespace vigap::testing {

/// "mpirun ... -np <ranks> ": as root (--allow-run-as-root), 3 ranks on 2 cores (--oversubscribe),
/// unbound. In the sanitized build, LeakSanitizer in the ranks skips Open MPI's own never-freed
/// allocations (tests/support/lsan_openmpi.supp says why); other builds ignore the variable.
inline std::string mpirun_prefix(int ranks) {
  return "env LSAN_OPTIONS=fast_unwind_on_malloc=0:print_suppressions=0:suppressions=" + std::string(VIGAP_SOURCE_DIR) +
         "/tests/support/lsan_openmpi.supp mpirun --allow-run-as-root --oversubscribe --bind-to none -np " +
         std::to_string(ranks) + " ";
}

/// SIGKILL to every process of session `session` (mpirun and its ranks: Open MPI gives each rank
/// a process group of its own, so a signal to mpirun's group would miss them). Two rounds, so that
/// a process started during the first is caught by the second.
inline void kill_session(pid_t session) {
  for (int round = 0; round < 2; ++round) {
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream in(entry.path() / "stat");
      std::string stat;
      std::getline(in, stat);
      const std::size_t close = stat.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream fields(stat.substr(close + 2));
      std::string state;
      long parent = 0, group = 0, sid = 0;
      fields >> state >> parent >> group >> sid;
      if (sid == session) ::kill(static_cast<pid_t>(std::stol(name)), SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

/// The complete lines of a journal after its header ('\n'-terminated: a torn last line is not one).
inline long complete_journal_records(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  long lines = 0;
  for (char c; in.get(c);) lines += c == '\n';
  return lines > 0 ? lines - 1 : 0;
}

/// A synthetic IDX data set (10 train and `test_images` test images of side x side pixels) in
/// `directory`, and for each name a random-weight VAE checkpoint there (2-D latent, one hidden
/// layer of 12 each side), weights drawn from seed + its position in `checkpoints`.
inline void write_tiny_vae_fixture(const std::filesystem::path& directory, Index test_images, Index side,
                                   const std::vector<std::string>& checkpoints, std::uint64_t seed) {
  SyntheticIdxOptions data;
  data.train_images = 10;
  data.test_images = test_images;
  data.side = side;
  data.gzip = false;
  write_synthetic_idx_dataset(directory, data);
  for (std::size_t i = 0; i < checkpoints.size(); ++i) {
    Rng rng(seed + i);
    VaeArchitecture architecture;
    architecture.data_dim = side * side;
    architecture.latent_dim = 2;
    architecture.encoder_hidden = {12};
    architecture.decoder_hidden = {12};
    Vae vae(architecture);
    vae.encoder->network().initialize(rng);
    vae.decoder.network().initialize(rng);
    save_vae_checkpoint((directory / checkpoints[i]).string(), vae);
  }
}

}  // namespace vigap::testing
