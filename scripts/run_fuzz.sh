#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/, clang, ASan + UBSan; build-fuzz/), generates their seed
# corpora (scripts/make_fuzz_corpus.sh) and fuzzes each for N seconds, one after the other.
# Reports per harness the executions and any crash, hang (> 10 s on one input), leak or
# out-of-memory (> 2 GB resident, or one allocation > 512 MB); exits 1 if there was any finding
# (the inputs are kept in build-fuzz/findings/<harness>/). The corpora grow in
# build-fuzz/corpus/, so a later run starts where the last one stopped.
# Usage: scripts/run_fuzz.sh [--seconds N] [--only <harness>]   (default: 30 seconds each, all)
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
seconds=30
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    --only) only="${2:?--only needs a harness name, e.g. safetensors_fuzzer}"; shift 2 ;;
    *) echo "usage: scripts/run_fuzz.sh [--seconds N] [--only <harness>]" >&2; exit 2 ;;
  esac
done
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then echo "run_fuzz: --seconds expects a positive integer, found '$seconds'" >&2; exit 2; fi

scripts/install_dependencies.sh --fuzz
build=build-fuzz
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DVIGAP_FUZZ=ON -DBUILD_TESTING=OFF \
  -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
harnesses=()
for src in fuzz/*_fuzzer.cpp; do
  name="$(basename "$src" .cpp)"
  if [ -z "$only" ] || [ "$only" = "$name" ]; then harnesses+=("$name"); fi
done
if [ ${#harnesses[@]} -eq 0 ]; then echo "run_fuzz: no harness named '$only' in fuzz/" >&2; exit 2; fi
cmake --build "$build" -j"$(nproc)" --target make_fuzz_corpus command_line_fuzzer "${harnesses[@]}"
scripts/make_fuzz_corpus.sh "$build" "$build/corpus"

export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=()
summary=()
for name in "${harnesses[@]}"; do
  findings="$build/findings/$name"
  mkdir -p "$findings"
  extra=()
  if [ "$name" = command_line_fuzzer ]; then
    # The binaries print usage and errors: close the harness's stdout and stderr (libFuzzer and
    # the sanitizers still report on their own copy of stderr), and give it the option names.
    extra=(-close_fd_mask=3 -dict="$build/corpus/command_line_fuzzer.dict")
  fi
  log="$build/findings/$name.log"
  echo "run_fuzz: $name for ${seconds} s (log: $log)"
  set +e
  "$build/bin/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
    -print_final_stats=1 -artifact_prefix="$findings/" "${extra[@]}" "$build/corpus/$name" > "$log" 2>&1
  status=$?
  set -e
  executions="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)"
  if [ "$status" -ne 0 ]; then
    failed+=("$name")
    summary+=("$(printf '%-24s %10s executions  FINDING (exit %d), see %s' "$name" "${executions:-?}" "$status" "$log")")
    grep -E '^==[0-9]+==ERROR|^SUMMARY|runtime error|Test unit written' "$log" | head -5 >&2 || true
  else
    summary+=("$(printf '%-24s %10s executions  no finding' "$name" "${executions:-?}")")
  fi
done
echo
echo "run_fuzz: ${seconds} s per harness"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run_fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
