#!/usr/bin/env bash
# Install what bench/reference/*.py need (Debian's python3-torch and numpy) and unpack each BLAS
# build Debian offers for x86-64 into build/reference-blas/<configuration>/, so that the benchmark can
# run the PyTorch reference under every one of them (LD_LIBRARY_PATH on the unpacked directory:
# Debian's torch links libblas.so.3) and compare vigap with the fastest. The system's alternatives are
# left as they are: nothing else on the machine changes its BLAS. Idempotent; run as root.
# Note: Debian's torch is only importable from /usr/bin/python3 (not a pyenv python).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

PACKAGES=(python3-torch python3-numpy)
missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    echo "Installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

# configuration -> Debian package. Each unpacks to usr/lib/<triplet>/<configuration>/libblas.so.3.
declare -A BLAS_PACKAGES=(
    [openblas-openmp]=libopenblas0-openmp [openblas-pthread]=libopenblas0-pthread
    [openblas-serial]=libopenblas0-serial [blis-openmp]=libblis4-openmp
    [blis-pthread]=libblis4-pthread [blis-serial]=libblis4-serial)
ARCH_TRIPLET="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
blas_root="$repo_root/build/reference-blas"
mkdir -p "$blas_root"
for config in "${!BLAS_PACKAGES[@]}"; do
    libdir="$blas_root/$config/usr/lib/$ARCH_TRIPLET/$config"
    [[ -e "$libdir/libblas.so.3" ]] && continue
    package="${BLAS_PACKAGES[$config]}"
    download="$(mktemp -d)"
    chmod 755 "$download"   # apt's _apt user downloads into it
    (cd "$download" && { apt-get -o APT::Sandbox::User=root download "$package" || { apt-get update && apt-get -o APT::Sandbox::User=root download "$package"; }; })
    rm -rf "$blas_root/$config.partial"
    dpkg -x "$download"/*.deb "$blas_root/$config.partial"
    rm -rf "$download" "$blas_root/$config"
    mv "$blas_root/$config.partial" "$blas_root/$config"   # complete or absent, never half-unpacked
    if [[ ! -e "$libdir/libblas.so.3" ]]; then
        echo "ERROR: $package unpacked to $blas_root/$config but has no $libdir/libblas.so.3" >&2
        exit 1
    fi
done

# Verify: torch imports under the system python and loads each unpacked BLAS.
/usr/bin/python3 -c 'import torch, numpy; print("torch", torch.__version__, "numpy", numpy.__version__)'
for config in $(printf '%s\n' "${!BLAS_PACKAGES[@]}" | sort); do
    libdir="$blas_root/$config/usr/lib/$ARCH_TRIPLET/$config"
    loaded="$(LD_LIBRARY_PATH="$libdir" /usr/bin/python3 -c '
import torch
with open("/proc/self/maps") as f:
    print(sorted({l.split()[-1] for l in f if "libblas.so" in l or "libblis" in l or "openblas" in l}))')"
    case "$loaded" in
        *"$libdir"*) echo "$config: $libdir" ;;
        *) echo "ERROR: torch under LD_LIBRARY_PATH=$libdir loaded $loaded, not $config" >&2; exit 1 ;;
    esac
done
echo "system libblas.so.3 (left unchanged): $(readlink -f "/usr/lib/$ARCH_TRIPLET/libblas.so.3")"
