#pragma once
// The PyTorch fixtures of the import and TorchScript tests (test support): a script of
// tests/support/ (make_torch_vae_fixtures.py, make_torchscript_fixtures.py) run once per test
// process with Debian's python3-torch (/usr/bin/python3; the PATH's python may lack torch), into
// a temporary directory. A failure to build them fails the test (never a skip).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <zlib.h>
#include <vector>

#include "support/run_binary.hpp"
#include "support/temporary_directory.hpp"

namespace vigap::testing {

/// The directory holding the fixtures tests/support/<script> writes (run once per test process
/// and script); "" (after a test failure saying why) if they could not be built.
inline std::string python_fixture_directory(const std::string& script) {
  struct Built {
    std::unique_ptr<TemporaryDirectory> directory;
    std::string status;
  };
  static std::map<std::string, Built> built;
  Built& b = built[script];
  if (!b.directory) {
    b.directory = std::make_unique<TemporaryDirectory>();
    const std::string command = "/usr/bin/python3 " + std::string(VIGAP_SOURCE_DIR) + "/tests/support/" + script + " " +
                                b.directory->path().string() + " 2>&1";
    b.status = std::system(command.c_str()) == 0 ? "ok" : "failed: " + command;
  }
  if (b.status != "ok") {
    ADD_FAILURE() << "the PyTorch fixtures could not be built (scripts/install_dependencies.sh installs python3-torch): "
                  << b.status;
    return "";
  }
  return b.directory->path().string();
}

/// The directory of the import tests' fixtures (make_torch_vae_fixtures.py).
inline std::string torch_fixture_directory() { return python_fixture_directory("make_torch_vae_fixtures.py"); }

/// reference.json of the fixtures.
inline const nlohmann::json& torch_fixture_reference() {
  static nlohmann::json reference;
  if (reference.is_null()) {
    const std::string dir = torch_fixture_directory();
    if (!dir.empty()) reference = read_json(dir + "/reference.json");
  }
  return reference;
}

/// A zip archive of stored entries (name, contents), with CRC-32s, as PyTorch writes them but
/// without ZIP64 records: for tests that need archives torch.save would not write.
inline std::string stored_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  auto le = [](std::string& out, std::uint64_t v, int width) {
    for (int b = 0; b < width; ++b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
  };
  std::string body, directory;
  for (const auto& [name, data] : entries) {
    const auto crc = crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
    const std::uint64_t offset = body.size();
    le(body, 0x04034b50, 4); le(body, 20, 2); le(body, 0, 2); le(body, 0, 2); le(body, 0, 4);
    le(body, crc, 4); le(body, data.size(), 4); le(body, data.size(), 4); le(body, name.size(), 2); le(body, 0, 2);
    body += name + data;
    le(directory, 0x02014b50, 4); le(directory, 20, 2); le(directory, 20, 2); le(directory, 0, 2); le(directory, 0, 2);
    le(directory, 0, 4); le(directory, crc, 4); le(directory, data.size(), 4); le(directory, data.size(), 4);
    le(directory, name.size(), 2); le(directory, 0, 2); le(directory, 0, 2); le(directory, 0, 2); le(directory, 0, 2);
    le(directory, 0, 4); le(directory, offset, 4);
    directory += name;
  }
  std::string out = body + directory;
  le(out, 0x06054b50, 4); le(out, 0, 2); le(out, 0, 2); le(out, entries.size(), 2); le(out, entries.size(), 2);
  le(out, directory.size(), 4); le(out, body.size(), 4); le(out, 0, 2);
  return out;
}

}  // namespace vigap::testing
