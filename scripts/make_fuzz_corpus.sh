#!/usr/bin/env bash
# Generates the seed corpora of the libFuzzer harnesses (fuzz/) into <corpus dir>/<harness>/, and
# the command-line fuzzer's dictionary, from a fuzz build (scripts/run_fuzz.sh builds it and calls
# this). Nothing is committed: the reader seeds are written by vigap's own writers
# (fuzz/make_fuzz_corpus.cpp); the command-line seeds are every binary's options with their
# defaults, read from its --help (run through the harness itself), one seed per binary.
# Usage: scripts/make_fuzz_corpus.sh <fuzz build dir> <corpus dir>
set -euo pipefail
if [ $# -ne 2 ]; then echo "usage: scripts/make_fuzz_corpus.sh <fuzz build dir> <corpus dir>" >&2; exit 2; fi
bin="$1/bin"
corpus="$2"
mkdir -p "$corpus"
"$bin/make_fuzz_corpus" "$corpus"

# The state_dict readers' seeds: small torch.save archives and safetensors files written by PyTorch
# (tests/support/make_torch_vae_fixtures.py, run with Debian's python3-torch), and their pickles.
torch_scratch="$(mktemp -d)"
/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/../tests/support/make_torch_vae_fixtures.py" "$torch_scratch"
mkdir -p "$corpus/torch_state_dict_fuzzer" "$corpus/state_dict_pickle_fuzzer"
find "$torch_scratch" \( -name '*.pt' -o -name '*.safetensors' \) -size -64k -exec cp {} "$corpus/torch_state_dict_fuzzer/" \;
/usr/bin/python3 - "$torch_scratch" "$corpus/state_dict_pickle_fuzzer" <<'PYTHON'
import glob, os, sys, zipfile
for path in glob.glob(os.path.join(sys.argv[1], "*.pt")):
    if not zipfile.is_zipfile(path):
        continue
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith("/data.pkl"):
                with open(os.path.join(sys.argv[2], os.path.basename(path) + ".pkl"), "wb") as out:
                    out.write(archive.read(name))
PYTHON
rm -rf "$torch_scratch"

seeds="$corpus/command_line_fuzzer"
mkdir -p "$seeds"
dictionary="$corpus/command_line_fuzzer.dict"
: > "$dictionary"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
binaries=$(grep -c '^VIGAP_FUZZ_BINARY' "$1/generated/fuzz/fuzzed_binaries.inc")
for ((i = 0; i < binaries; ++i)); do
  printf "\\x$(printf %02x "$i")--help" > "$scratch/help-input"
  "$bin/command_line_fuzzer" "$scratch/help-input" > "$scratch/help" 2>/dev/null
  # Option lines of Boost's usage: "  --name arg (=default)  text", "  --flag  text", "  -h [ --help ]".
  tokens=()
  declare -A seen=()
  while IFS=$'\t' read -r name has_arg default; do
    case "$name" in help|version) continue ;; esac
    if [ -n "${seen[$name]:-}" ]; then continue; fi   # an option listed twice in the usage
    seen[$name]=1
    echo "\"--$name\"" >> "$dictionary"
    tokens+=("--$name")
    if [ "$has_arg" = arg ]; then
      if [ -n "$default" ]; then tokens+=("$default"); else tokens+=("$name.file"); fi
    fi
  done < <(sed -nE 's/^  (-[a-z] \[ )?--([a-z0-9-]+)( \])?( arg)?( \(=([^)]*)\))?( .*)?$/\2\t\4\t\6/p' "$scratch/help" |
           sed -E 's/\t /\t/')
  { printf "\\x$(printf %02x "$i")"; printf '%s\0' "${tokens[@]}"; } > "$seeds/all-options-$i"
  unset seen
  { printf "\\x$(printf %02x "$i")"; printf '%s\0' --help; } > "$seeds/help-$i"
done
sort -u -o "$dictionary" "$dictionary"
echo "make_fuzz_corpus: seeds in $corpus ($(find "$corpus" -type f | wc -l) files)"
