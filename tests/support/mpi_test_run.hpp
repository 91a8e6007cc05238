#pragma once
// Running a per-datapoint binary over Open MPI ranks from a test, killing it mid-run and reading
// its resume journal (test support of tests/distributed/). The fixture the runs use is
// tests/support/random_weight_vae.hpp.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/run_binary.hpp"

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

/// Starts `command` in a session of its own (its output in <scratch_pid>.log, the session's id in
/// scratch_pid), waits until `journal` holds at least `records` complete records (at most 120 s),
/// sleeps `extra_ms` more, and SIGKILLs the whole session.
inline void start_and_kill(const std::string& command, const std::string& journal, long records, int extra_ms,
                           const std::string& scratch_pid) {
  ASSERT_EQ(std::system(("setsid " + command + " > " + scratch_pid + ".log 2>&1 & echo $! > " + scratch_pid).c_str()), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const pid_t session = static_cast<pid_t>(std::stol(read_text(scratch_pid)));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (complete_journal_records(journal) < records && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(extra_ms));
  kill_session(session);
}

}  // namespace vigap::testing
