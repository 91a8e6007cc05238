#pragma once
// --seeds: one mechanism by which every experiment binary runs its study once per seed and
// summarizes the replicates.
//
// `vigap-<study> ... --seeds 5` runs the binary's own single-seed command once per seed
// (--seed s, its output files renamed <stem>.seed-<s><extension>), so each replicate is exactly
// the run `--seed s` would give (and carries its own tables, picture and per-datapoint values),
// then writes to --out one document whose results are every figure summarized across seeds
// (analyses/across_seeds.hpp): mean, standard error across seeds, 95 % t interval, per-seed
// values. A difference the study computes within a replicate (e.g. a model's log p(x) minus the
// first objective's, on the same points) becomes, summarized, the paired difference across seeds.
// Replicates run one after another; each spreads its own work over the MPI ranks as the binary
// does for one seed. A replicate's JSON is written as it finishes, and the seeds journal
// (<out>.seeds-journal.json: the command, and each finished replicate's file with its SHA-256)
// after it. Rerunning the same command with --resume keeps the replicates the journal records
// whose files are unchanged and runs the rest (a binary with its own --resume continues the
// interrupted replicate from that replicate's journal). The seeds journal stays beside the
// summary: it names the files the summary was made from. Under mpirun every rank runs the same
// replicates; rank 0 writes the files and tells the others which replicates to skip. An option
// value containing "{seed}" gets the replicate's seed (substitute_seed), for inputs made per seed
// such as one checkpoint per training seed; only then may the replicates' configurations differ,
// and the summary's configuration lists the differing values per seed.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vigap {

/// An option naming an output of the binary, renamed per replicate.
struct ReplicatedOutput {
  std::string option;         ///< e.g. "--out", "--picture"
  std::string default_value;  ///< its default when not given (empty: no output unless given)
  bool directory = false;     ///< a directory gets "/seed-<s>" appended; a file ".seed-<s>" before its extension
};

/// What the replicate driver knows about a binary.
struct ReplicatedBinary {
  std::string program;                    ///< e.g. "vigap-objective-comparison"
  std::vector<ReplicatedOutput> outputs;  ///< must include --out
  bool accepts_resume = false;  ///< the binary has its own --resume (journal <out>.journal), forwarded to the replicate interrupted
  bool validation_only = false;  ///< command-line fuzzing: check --seeds, run the first replicate (which stops after validating), touch no file
};

/// "<stem>.seed-<s><extension>" for a file, "<path>/seed-<s>" for a directory.
std::string replicate_output_path(const std::string& path, std::uint64_t seed, bool directory);

/// `token` with every "{seed}" replaced by the decimal seed: an option value that names a
/// per-seed input, e.g. `--checkpoint vae.seed-{seed}.safetensors` (one trained model per seed),
/// so the replicates vary the training too, not only the binary's own draws.
std::string substitute_seed(const std::string& token, std::uint64_t seed);

/// The replicates' configurations as one: a node equal in all of them is kept, objects with the
/// same keys are merged key by key, any other difference becomes {"per_seed": [the replicates'
/// nodes]} (e.g. the checkpoint a {seed} option named, with its SHA-256). Throws
/// std::invalid_argument when `configurations` is empty.
nlohmann::ordered_json merge_replicate_configurations(const std::vector<nlohmann::ordered_json>& configurations);

/// The options of the binaries that take no value (every other option's value is the next
/// token when not written --name=value); a test checks each binary's --help against it.
const std::vector<std::string>& replicate_switch_options();

/// Runs `run_once(argc, argv)` as is when argv has no --seeds; otherwise once per seed (see the
/// header comment) and writes the summary document to --out. Returns the first non-zero exit code
/// of a replicate (its error already printed), else 0. Throws std::invalid_argument for a bad
/// --seeds value, for --seeds together with an option that has no meaning over seeds, and for
/// an output path shared by two options.
int run_over_seeds(const ReplicatedBinary& binary, int argc, char** argv,
                   const std::function<int(int, char**)>& run_once);

}  // namespace vigap
