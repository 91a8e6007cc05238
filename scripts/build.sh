#!/usr/bin/env bash
# Configures and builds vigap (Release, -O3 -march=native) into build/; binaries land in build/bin/.
# With arguments, builds only those targets (e.g. scripts/build.sh vigap-train).
#
# Portable build (-DVIGAP_NATIVE=OFF: the compiler's generic x86-64 baseline, SSE2 and no FMA, the
# same code on every x86-64 CPU) into build-portable/: `scripts/build.sh --portable [targets]` or
# `VIGAP_NATIVE=OFF scripts/build.sh [targets]`. BUILD_DIR=<dir> overrides the directory.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
native="${VIGAP_NATIVE:-ON}"
if [ "${1:-}" = "--portable" ]; then
  native=OFF
  shift
fi
case "$native" in
  ON) default_dir=build ;;
  OFF) default_dir=build-portable ;;
  *) echo "build.sh: VIGAP_NATIVE must be ON or OFF, found '$native'" >&2; exit 2 ;;
esac
build_dir="${BUILD_DIR:-$default_dir}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DVIGAP_NATIVE="$native" >/dev/null
if [ $# -gt 0 ]; then
  cmake --build "$build_dir" -j"$(nproc)" --target "$@"
else
  cmake --build "$build_dir" -j"$(nproc)"
fi
