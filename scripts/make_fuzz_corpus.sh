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
