#!/usr/bin/env bash
# Configures and builds vigap (Release, -O3 -march=native) into build/; binaries land in build/bin/.
# With arguments, builds only those targets (e.g. scripts/build.sh vigap-train).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
if [ $# -gt 0 ]; then
  cmake --build build -j"$(nproc)" --target "$@"
else
  cmake --build build -j"$(nproc)"
fi
