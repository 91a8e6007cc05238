#pragma once
// Running a vigap binary from a test and capturing what it printed (test support).
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace vigap::testing {

struct BinaryRun {
  int exit_code = -1;
  std::string output;  ///< stdout and stderr together
};

/// Runs `shell_command` (through /bin/sh, stderr merged into stdout) and captures its output.
inline BinaryRun run_command(const std::string& shell_command) {
  const std::string command = shell_command + " 2>&1";
  BinaryRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

/// Runs build/bin/<binary> with `arguments` (a shell-quoted string) and captures its output.
inline BinaryRun run_binary(const std::string& binary, const std::string& arguments) {
  return run_command(std::string(VIGAP_BINARY_DIR) + "/" + binary + " " + arguments);
}

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// `text` with every occurrence of each placeholder (e.g. "{dir}") replaced by its value.
inline std::string substitute_placeholders(std::string text,
                                           const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [key, value] : values)
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
      text.replace(at, key.size(), value);
  return text;
}

}  // namespace vigap::testing
