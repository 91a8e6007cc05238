#!/usr/bin/env bash
# The seed sweep: builds, then runs the stochastic tests (ctest label `stochastic`: every test of a
# suite whose file calls test_seed(, tests/support/test_seed.hpp) under VIGAP_TEST_SEED = 1..N, and
# prints per test its pass count over the N offsets (e.g. "20/20"). Exits 1 if any test failed
# under any offset (the failing offsets are listed; rerun one with
# `VIGAP_TEST_SEED=<offset> ctest --test-dir build -R '<test>' --output-on-failure`).
#
#   scripts/run_seed_sweep.sh [--offsets N] [--build-dir DIR] [--jobs J] [--tests REGEX] [--skip-build]
#
# Defaults: N = 20, DIR = build (configured and built by scripts/build.sh; use --build-dir
# build-portable with VIGAP_NATIVE=OFF for the portable build), J = nproc. Per-offset ctest logs go
# to DIR/seed-sweep/offset-<k>.log. --tests REGEX restricts the sweep to the stochastic tests whose
# names match (ctest -R), e.g. to rerun the ones that failed.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

offsets=20
build_dir=build
jobs="$(nproc)"
skip_build=0
tests_regex=""
while [ $# -gt 0 ]; do
  case "$1" in
    --offsets) offsets="${2:?--offsets needs a number}"; shift 2 ;;
    --build-dir) build_dir="${2:?--build-dir needs a directory}"; shift 2 ;;
    --jobs) jobs="${2:?--jobs needs a number}"; shift 2 ;;
    --tests) tests_regex="${2:?--tests needs a regular expression}"; shift 2 ;;
    --skip-build) skip_build=1; shift ;;
    *) echo "run_seed_sweep.sh: unknown argument '$1' (expected --offsets N, --build-dir DIR, --jobs J, --tests REGEX, --skip-build)" >&2
       exit 2 ;;
  esac
done
if ! [[ "$offsets" =~ ^[1-9][0-9]*$ ]]; then
  echo "run_seed_sweep.sh: --offsets must be a positive integer, found '$offsets'" >&2
  exit 2
fi
if ! [[ "$jobs" =~ ^[1-9][0-9]*$ ]]; then
  echo "run_seed_sweep.sh: --jobs must be a positive integer, found '$jobs'" >&2
  exit 2
fi

if [ "$skip_build" -eq 0 ]; then
  if [ "$build_dir" = build-portable ]; then
    VIGAP_NATIVE=OFF scripts/build.sh
  else
    scripts/build.sh
  fi
fi

log_dir="$build_dir/seed-sweep"
rm -rf "$log_dir"
mkdir -p "$log_dir"
select=(-L stochastic)
if [ -n "$tests_regex" ]; then select+=(-R "$tests_regex"); fi
count="$(ctest --test-dir "$build_dir" "${select[@]}" -N | sed -n 's/^Total Tests: //p')"
if [ -z "$count" ] || [ "$count" -eq 0 ]; then
  echo "run_seed_sweep.sh: no test has the ctest label 'stochastic' in $build_dir" >&2
  exit 1
fi
echo "seed sweep: $count stochastic tests x $offsets offsets, ctest -j$jobs in $build_dir"
sweep_start=$(date +%s)
for offset in $(seq 1 "$offsets"); do
  start=$(date +%s)
  # A failing test is recorded, not fatal: every offset runs.
  VIGAP_TEST_SEED="$offset" ctest --test-dir "$build_dir" "${select[@]}" -j"$jobs" --timeout 900 \
    --output-on-failure >"$log_dir/offset-$offset.log" 2>&1 || true
  failed="$(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(\*\*\*|Not Run)' "$log_dir/offset-$offset.log" |
             grep -v -c -E '\*\*\*Skipped|Not Run \(Disabled\)' || true)"
  echo "offset $offset: $(( $(date +%s) - start )) s, $failed failed"
done
echo "seed sweep: $(( $(date +%s) - sweep_start )) s in all"

# One line per test and offset: "<name> <offset> <status>" (spaces in parameterized names become
# '_'), then the table.
for offset in $(seq 1 "$offsets"); do
  sed -E 's/\*\*\*Not Run \(Disabled\)/***Disabled/' "$log_dir/offset-$offset.log" |
    sed -n -E 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: (.*[^.]) \.+ *(\*\*\*)?([A-Za-z]+).*/\1\t'"$offset"' \3/p' | awk -F '\t' '{ gsub(/ /, "_", $1); print $1 " " $2 }'
done | sort -k1,1 -k2,2n >"$log_dir/results.txt"

awk -v n="$offsets" '
  { seen[$1]++
    if ($3 == "Passed") passed[$1]++
    else if ($3 == "Skipped" || $3 == "Disabled") skipped[$1]++
    else failed[$1] = failed[$1] " " $2 }
  END {
    bad = 0
    for (t in seen) {
      p = passed[t] + 0; s = skipped[t] + 0
      line = sprintf("%5s  %s", p "/" n, t)
      if (s > 0) line = line "  (skipped or disabled under " s " offsets)"
      if (seen[t] != n) line = line "  (ran under " seen[t] " offsets)"
      if (p + s != n) { line = line "  failed at offsets:" failed[t]; bad = 1 }
      print line
    }
    exit bad
  }' "$log_dir/results.txt" | sort -k2 >"$log_dir/table.txt" && status=0 || status=$?
cat "$log_dir/table.txt"
if grep -q "failed at offsets" "$log_dir/table.txt" || grep -q "ran under" "$log_dir/table.txt"; then
  echo "seed sweep: FAILED (see $log_dir/offset-<k>.log)" >&2
  exit 1
fi
echo "seed sweep: every stochastic test passed under all $offsets offsets"
