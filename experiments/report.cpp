// vigap-report: the findings report from the JSON that scripts/run_report.sh's studies wrote.
//
// Reads, from --dir, the across-seeds results of the four studies (objective-comparison.json,
// estimator-variance.json, aggregate-posterior-z2.json, aggregate-posterior-z20.json,
// hmc-vs-vi.json; a missing one gets a "not run" section), their seeds journals (the commands
// that reproduce them), the replicates they list and stages.tsv (run times), and writes there
// index.md (questions, answers, tables, pictures), the SVG pictures (and PNG copies when
// rsvg-convert is on the PATH) and citations.json (where every printed figure comes from). Before
// writing it checks that every figure in index.md is cited and reproduces from the JSON.
#include <spawn.h>
#include <sys/wait.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/io/atomic_file.hpp"
#include "core/io/state_dict_file.hpp"
#include "core/version.hpp"
#include "experiments/support/command_line.hpp"
#include "experiments/support/findings_report.hpp"

extern char** environ;

namespace po = boost::program_options;
using namespace vigap;

namespace {

/// Runs `arguments` (program first, looked up on the PATH) and waits; true when it exits 0.
bool run_program(std::vector<std::string> arguments) {
  std::vector<char*> argv;
  for (std::string& a : arguments) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return false;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

const char* kStudyFiles[] = {"objective-comparison.json", "estimator-variance.json", "aggregate-posterior-z2.json",
                             "aggregate-posterior-z20.json", "hmc-vs-vi.json"};

nlohmann::ordered_json read_json(const std::filesystem::path& path) {
  try {
    return nlohmann::ordered_json::parse(read_binary_file(path.string()));
  } catch (const nlohmann::ordered_json::exception& e) {
    throw std::invalid_argument(path.string() + ": expected a JSON document: " + e.what());
  }
}

/// stages.tsv ("stage<TAB>seconds" lines after a header): seconds per stage, a stage run twice
/// (a resumed run) summed, in the order of first appearance.
std::vector<std::pair<std::string, double>> read_stages(const std::filesystem::path& path) {
  std::vector<std::pair<std::string, double>> stages;
  if (!std::filesystem::exists(path)) return stages;
  std::istringstream in(read_binary_file(path.string()));
  std::string line;
  std::getline(in, line);  // header
  for (int number = 2; std::getline(in, line); ++number) {
    const std::size_t tab = line.find('\t');
    char* end = nullptr;
    const double seconds = tab == std::string::npos ? 0.0 : std::strtod(line.c_str() + tab + 1, &end);
    if (tab == std::string::npos || end == line.c_str() + tab + 1 || *end != '\0')
      throw std::invalid_argument(path.string() + ":" + std::to_string(number) + ": expected 'stage<TAB>seconds', found '" +
                                  line + "'");
    const std::string stage = line.substr(0, tab);
    bool found = false;
    for (auto& [name, total] : stages)
      if (name == stage) total += seconds, found = true;
    if (!found) stages.emplace_back(stage, seconds);
  }
  return stages;
}

int report_main(int argc, char** argv) {
  std::string dir, size = "full";
  po::options_description d("Options");
  d.add_options()("help,h", "print this help and exit")("version", "print the version and exit")(
      "dir", po::value(&dir), "the report's directory: the studies' JSON are read from it, index.md is written to it")(
      "size", po::value(&size)->default_value(size), "full or tiny: the size scripts/run_report.sh ran at");
  refuse_option_parser_placeholders(argc, argv, "vigap-report");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(d).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw std::invalid_argument(e.what());
  }
  if (vm.count("help")) {
    std::cout << "vigap-report: writes the findings report (index.md) from the JSON of scripts/run_report.sh's "
                 "studies.\n\n"
              << d;
    return 0;
  }
  if (vm.count("version")) {
    std::cout << "vigap-report " << kVersion << " (" << kGitCommit << ")\n";
    return 0;
  }
  if (dir.empty()) throw std::invalid_argument("--dir: the report's directory is required");
  if (size != "full" && size != "tiny") throw std::invalid_argument("--size must be full or tiny, found '" + size + "'");
  VIGAP_FUZZ_STOP_AFTER_VALIDATION();
  const std::filesystem::path root(dir);
  if (!std::filesystem::is_directory(root)) throw std::invalid_argument("--dir: '" + dir + "' is not a directory");

  FindingsReportInputs inputs;
  inputs.size = size;
  for (const char* file : kStudyFiles) {
    const std::filesystem::path path = root / file;
    if (!std::filesystem::exists(path)) continue;
    nlohmann::ordered_json document = read_json(path);
    if (!document.contains("across_seeds"))
      throw std::invalid_argument(path.string() + ": expected the result of a run over --seeds (no \"across_seeds\")");
    for (const nlohmann::ordered_json& r : document.at("across_seeds").at("replicate_results")) {
      const std::filesystem::path replicate = root / std::filesystem::path(r.at("out").get<std::string>()).filename();
      if (std::filesystem::exists(replicate)) inputs.documents[replicate.filename().string()] = read_json(replicate);
    }
    const std::filesystem::path journal = root / (std::string(file) + ".seeds-journal.json");
    if (std::filesystem::exists(journal)) inputs.documents[journal.filename().string()] = read_json(journal);
    inputs.documents[file] = std::move(document);
  }
  if (inputs.documents.empty())
    throw std::invalid_argument("--dir: '" + dir + "' holds none of the studies' results (objective-comparison.json, ...)");
  inputs.stage_seconds = read_stages(root / "stages.tsv");
  inputs.png = std::system("command -v rsvg-convert >/dev/null 2>&1") == 0;

  const FindingsReport report = build_findings_report(inputs);
  const std::vector<std::string> problems = check_report_citations(report.markdown, report.citations, inputs.documents);
  if (!problems.empty()) {
    std::string message = "the report's figures do not all come from the JSON:";
    for (const std::string& p : problems) message += "\n  " + p;
    throw std::runtime_error(message);
  }
  for (const auto& [name, svg] : report.pictures) {
    const std::filesystem::path path = root / name;
    write_file_atomically(path.string(), svg);
    if (inputs.png) {
      const std::filesystem::path png = std::filesystem::path(path).replace_extension(".png");
      const std::string temporary = png.string() + ".tmp";
      if (!run_program({"rsvg-convert", "-o", temporary, path.string()}) ||
          std::rename(temporary.c_str(), png.c_str()) != 0)
        throw std::runtime_error("rsvg-convert failed on " + path.string());
    }
  }
  write_file_atomically((root / "citations.json").string(), report.citations_json().dump(1) + "\n");
  write_file_atomically((root / "index.md").string(), report.markdown);
  std::fprintf(stderr, "vigap-report: %s (%zu cited figures, %zu pictures)\n", (root / "index.md").c_str(),
               report.citations.size(), report.pictures.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_binary("vigap-report", [&] { return report_main(argc, argv); });
}
