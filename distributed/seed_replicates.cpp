#include "distributed/seed_replicates.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>

#include "analyses/across_seeds.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/json_result_writer.hpp"
#include "core/io/sha256.hpp"
#include "core/io/state_dict_file.hpp"
#include "core/version.hpp"
#include "distributed/mpi_session.hpp"

namespace vigap {

std::string replicate_output_path(const std::string& path, std::uint64_t seed, bool directory) {
  const std::string tag = "seed-" + std::to_string(seed);
  if (directory) return path + (path.empty() || path.back() == '/' ? "" : "/") + tag;
  const std::filesystem::path p(path);
  const std::string extension = p.extension().string();
  const std::string stem = path.substr(0, path.size() - extension.size());
  return stem + "." + tag + extension;
}

std::string substitute_seed(const std::string& token, std::uint64_t seed) {
  std::string result = token;
  const std::string placeholder = "{seed}", value = std::to_string(seed);
  for (std::size_t at = result.find(placeholder); at != std::string::npos; at = result.find(placeholder, at + value.size()))
    result.replace(at, placeholder.size(), value);
  return result;
}

nlohmann::ordered_json merge_replicate_configurations(const std::vector<nlohmann::ordered_json>& configurations) {
  if (configurations.empty()) throw std::invalid_argument("merge_replicate_configurations: no configuration");
  const nlohmann::ordered_json& head = configurations.front();
  const bool all_equal = std::all_of(configurations.begin(), configurations.end(),
                                     [&](const nlohmann::ordered_json& c) { return c == head; });
  if (all_equal) return head;
  const auto same_keys = [&](const nlohmann::ordered_json& c) {
    if (!c.is_object() || c.size() != head.size()) return false;
    auto a = c.begin();
    for (auto b = head.begin(); b != head.end(); ++a, ++b)
      if (a.key() != b.key()) return false;
    return true;
  };
  if (head.is_object() && std::all_of(configurations.begin(), configurations.end(), same_keys)) {
    nlohmann::ordered_json merged = nlohmann::ordered_json::object();
    for (auto it = head.begin(); it != head.end(); ++it) {
      std::vector<nlohmann::ordered_json> children;
      for (const nlohmann::ordered_json& c : configurations) children.push_back(c.at(it.key()));
      merged[it.key()] = merge_replicate_configurations(children);
    }
    return merged;
  }
  nlohmann::ordered_json per_seed = nlohmann::ordered_json::array();
  for (const nlohmann::ordered_json& c : configurations) per_seed.push_back(c);
  return {{"per_seed", per_seed}};
}

const std::vector<std::string>& replicate_switch_options() {
  static const std::vector<std::string> switches = {"--help", "-h", "--version", "--per-datapoint", "--resume"};
  return switches;
}

namespace {

/// One command-line argument: `--name value`, `--name=value`, or a lone token.
struct Argument {
  std::string name;   ///< "--seeds"; empty for a token that is not an option
  std::string value;  ///< the value, if any
  bool has_value = false;
  std::vector<std::string> tokens;  ///< as written
};

bool is_switch(const std::string& name) {
  for (const std::string& s : replicate_switch_options())
    if (s == name) return true;
  return false;
}

std::vector<Argument> split_arguments(int argc, char** argv) {
  std::vector<Argument> arguments;
  for (int i = 1; i < argc; ++i) {
    Argument a;
    const std::string token = argv[i];
    a.tokens.push_back(token);
    if (token.rfind("--", 0) == 0) {
      const std::size_t equals = token.find('=');
      if (equals != std::string::npos) {
        a.name = token.substr(0, equals);
        a.value = token.substr(equals + 1);
        a.has_value = true;
      } else {
        a.name = token;
        if (!is_switch(token) && i + 1 < argc) {
          a.value = argv[++i];
          a.has_value = true;
          a.tokens.push_back(a.value);
        }
      }
    } else if (token == "-h") {
      a.name = token;
    }
    arguments.push_back(a);
  }
  return arguments;
}

const Argument* find(const std::vector<Argument>& arguments, const std::string& name) {
  const Argument* found = nullptr;
  for (const Argument& a : arguments)
    if (a.name == name) found = &a;  // the last one wins, as in the option parser
  return found;
}

/// Runs the binary's single-seed command on `tokens` (argv[0] first).
int run_tokens(std::vector<std::string> tokens, const std::function<int(int, char**)>& run_once) {
  std::vector<char*> argv;
  for (std::string& t : tokens) argv.push_back(t.data());
  argv.push_back(nullptr);
  return run_once(static_cast<int>(tokens.size()), argv.data());
}

std::string journal_of(const std::string& out) { return out + ".seeds-journal.json"; }

/// The finished replicates a resumed run keeps: seed -> file hash, from the journal of the same
/// command (refused, naming the difference, when the command or the build differ).
std::map<std::uint64_t, std::string> finished_replicates(const std::string& journal, const nlohmann::ordered_json& command) {
  std::map<std::uint64_t, std::string> finished;
  if (!std::filesystem::exists(journal)) {
    std::cerr << "--resume: no seeds journal " << journal << " yet: every replicate is run\n";
    return finished;
  }
  nlohmann::ordered_json recorded;
  try {
    recorded = nlohmann::ordered_json::parse(read_binary_file(journal));
    const nlohmann::ordered_json& was = recorded.at("command");
    if (was != command) {
      std::string what;
      for (const char* key : {"binary", "git_commit", "arguments"})
        if (was.value(key, nlohmann::ordered_json()) != command.at(key))
          what += std::string(what.empty() ? "" : "; ") + key + " recorded " + was.value(key, nlohmann::ordered_json()).dump() +
                  ", now " + command.at(key).dump();
      throw std::invalid_argument("--resume: the seeds journal " + journal + " is of another run (" + what +
                                  "); run without --resume to start this one");
    }
    for (const nlohmann::ordered_json& r : recorded.at("finished"))
      finished[r.at("seed").get<std::uint64_t>()] = r.at("sha256").get<std::string>();
  } catch (const nlohmann::ordered_json::exception& e) {
    std::cerr << "--resume: the seeds journal " << journal << " is damaged (" << e.what()
              << "): every replicate is run\n";
    finished.clear();
  }
  return finished;
}

}  // namespace

int run_over_seeds(const ReplicatedBinary& binary, int argc, char** argv, const std::function<int(int, char**)>& run_once) {
  const std::vector<Argument> arguments = split_arguments(argc, argv);
  const Argument* seeds_argument = find(arguments, "--seeds");
  if (seeds_argument == nullptr || find(arguments, "--help") || find(arguments, "-h") || find(arguments, "--version"))
    return run_once(argc, argv);
  if (!seeds_argument->has_value) throw std::invalid_argument("--seeds: expected a count or a list of seeds, found nothing");

  std::uint64_t first = 0;
  if (const Argument* seed = find(arguments, "--seed")) {
    if (!seed->has_value || seed->value.empty() || seed->value.find_first_not_of("0123456789") != std::string::npos)
      throw std::invalid_argument("--seed: expected a non-negative integer, found '" + seed->value + "'");
    try {
      first = std::stoull(seed->value);
    } catch (const std::out_of_range&) {
      throw std::invalid_argument("--seed: '" + seed->value + "' is out of range");
    }
  }
  const std::vector<std::uint64_t> seeds = parse_seed_list(seeds_argument->value, first, "--seeds");
  const bool resume = find(arguments, "--resume") != nullptr;

  // Every output's path in this run (given or default), and per replicate.
  std::map<std::string, std::string> output_path;
  std::set<std::string> paths;
  for (const ReplicatedOutput& o : binary.outputs) {
    const Argument* given = find(arguments, o.option);
    const std::string path = given ? given->value : o.default_value;
    output_path[o.option] = path;
    if (!path.empty() && !paths.insert(path).second)
      throw std::invalid_argument(o.option + ": '" + path + "' is also the path of another output");
  }
  const std::string out = output_path.at("--out");
  if (out.empty()) throw std::invalid_argument("--out: a run over --seeds needs a result path, found none");

  // The replicate's command: the arguments without --seeds, --seed, --resume and the outputs.
  std::vector<std::string> common_tokens;
  nlohmann::ordered_json recorded_arguments = nlohmann::ordered_json::array();
  for (const Argument& a : arguments) {
    const bool dropped = a.name == "--seeds" || a.name == "--seed" || a.name == "--resume" || output_path.count(a.name);
    if (dropped) continue;
    for (const std::string& t : a.tokens) common_tokens.push_back(t);
    if (a.name != "--threads")  // the thread count does not change the results
      for (const std::string& t : a.tokens) recorded_arguments.push_back(t);
  }
  nlohmann::ordered_json seeds_json = nlohmann::ordered_json::array();
  for (std::uint64_t s : seeds) seeds_json.push_back(s);
  nlohmann::ordered_json outputs_json = nlohmann::ordered_json::object();
  for (const auto& [option, path] : output_path) outputs_json[option] = path;
  const nlohmann::ordered_json command = {{"binary", binary.program},
                                          {"git_commit", kGitCommit},
                                          {"arguments", recorded_arguments},
                                          {"seeds", seeds_json},
                                          {"outputs", outputs_json}};

  const bool seed_placeholder = std::any_of(common_tokens.begin(), common_tokens.end(), [](const std::string& t) {
    return t.find("{seed}") != std::string::npos;
  });
  if (binary.validation_only) {
    std::vector<std::string> tokens = {binary.program};
    for (const std::string& t : common_tokens) tokens.push_back(substitute_seed(t, seeds.front()));
    return run_tokens(std::move(tokens), run_once);
  }
  const bool writer = mpi_place().rank == 0;
  const std::string journal = journal_of(out);
  std::map<std::uint64_t, std::string> finished;
  if (writer) {
    check_writable_output_path(out);
    if (resume) finished = finished_replicates(journal, command);
  }
  // Every rank runs the same replicates: rank 0's view of which are finished.
  {
    nlohmann::ordered_json shared = nlohmann::ordered_json::object();
    for (const auto& [s, hash] : finished) shared[std::to_string(s)] = hash;
    const nlohmann::ordered_json received = nlohmann::ordered_json::parse(broadcast_from_rank0(shared.dump()));
    finished.clear();
    for (auto it = received.begin(); it != received.end(); ++it) finished[std::stoull(it.key())] = it.value().get<std::string>();
  }

  nlohmann::ordered_json journal_document = {{"command", command}, {"finished", nlohmann::ordered_json::array()}};
  std::vector<nlohmann::ordered_json> documents;
  bool continued_interrupted = false;
  const bool terminal = isatty(STDERR_FILENO) != 0;
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    const std::uint64_t s = seeds[i];
    const std::string replicate_out = replicate_output_path(out, s, false);
    bool reuse = false;
    if (writer && finished.count(s)) {
      reuse = std::filesystem::exists(replicate_out) && sha256_hex(read_binary_file(replicate_out)) == finished.at(s);
      if (!reuse) std::cerr << "--resume: " << replicate_out << " is missing or changed since it was recorded: seed " << s
                            << " is run again\n";
    }
    reuse = broadcast_from_rank0(reuse ? "1" : "0") == "1";
    if (!reuse) {
      std::vector<std::string> tokens = {binary.program};
      for (const std::string& t : common_tokens) tokens.push_back(substitute_seed(t, s));
      tokens.push_back("--seed");
      tokens.push_back(std::to_string(s));
      for (const ReplicatedOutput& o : binary.outputs) {
        const std::string& path = output_path.at(o.option);
        if (path.empty()) continue;
        tokens.push_back(o.option);
        tokens.push_back(replicate_output_path(path, s, o.directory));
      }
      // The first replicate a resumed run computes is the one that was interrupted: a binary with
      // its own journal continues it.
      if (resume && binary.accepts_resume && !continued_interrupted) {
        continued_interrupted = true;
        if (std::filesystem::exists(replicate_out + ".journal")) tokens.push_back("--resume");
      }
      if (terminal && writer)
        std::cerr << binary.program << ": replicate " << i + 1 << " of " << seeds.size() << " (seed " << s << ")\n";
      const int code = run_tokens(std::move(tokens), run_once);
      if (code != 0) return code;
    }
    if (!writer) continue;
    if (!std::filesystem::exists(replicate_out))
      throw std::runtime_error("the replicate of seed " + std::to_string(s) + " wrote no result " + replicate_out);
    const std::string text = read_binary_file(replicate_out);
    documents.push_back(nlohmann::ordered_json::parse(text));
    journal_document["finished"].push_back({{"seed", s}, {"out", replicate_out}, {"sha256", sha256_hex(text)}});
    write_file_atomically(journal, journal_document.dump(2) + "\n");
  }
  if (!writer) return 0;

  // The summary document: the first replicate's description, every figure across seeds.
  const nlohmann::ordered_json& head = documents.front();
  std::vector<nlohmann::ordered_json> results, configurations;
  nlohmann::ordered_json replicates = nlohmann::ordered_json::array(), timings = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < documents.size(); ++i) {
    // Replicates differ in configuration only where the command asked for it with {seed}.
    if ((!seed_placeholder && documents[i].at("configuration") != head.at("configuration")) ||
        documents[i].at("dataset") != head.at("dataset"))
      throw std::runtime_error("the replicates of seeds " + std::to_string(seeds.front()) + " and " +
                               std::to_string(seeds[i]) + " differ in configuration or data (" +
                               replicate_output_path(out, seeds[i], false) + ")");
    configurations.push_back(documents[i].at("configuration"));
    results.push_back(documents[i].at("results"));
    replicates.push_back({{"seed", seeds[i]}, {"out", replicate_output_path(out, seeds[i], false)}});
    timings.push_back({{"seed", seeds[i]}, {"timings", documents[i].value("timings", nlohmann::ordered_json::object())}});
  }
  nlohmann::ordered_json document = make_result_document(head.at("experiment").get<std::string>(),
                                                          merge_replicate_configurations(configurations),
                                                          head.at("dataset"), seeds.front());
  document.erase("seed");
  document["seeds"] = seeds_json;
  document["across_seeds"] = {
      {"replicates", seeds.size()},
      {"summary", "every number of the replicates' results: mean over seeds, standard error across seeds s/sqrt(n), "
                  "95 % Student-t interval, per-seed values (analyses/across_seeds.hpp)"},
      {"replicate_results", replicates}};
  document["results"] = summarize_results_across_seeds(results);
  document["timings"] = {{"per_seed", timings}};
  write_result_json(out, document);
  std::printf("\n## Across %zu seeds (%s)\n\n%s\nresults over seeds: %s\n", seeds.size(),
              seeds_argument->value.c_str(), across_seeds_markdown(document["results"], seeds.size()).c_str(), out.c_str());
  return 0;
}

}  // namespace vigap
