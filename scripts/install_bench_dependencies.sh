#!/usr/bin/env bash
# Install the Debian packages needed by bench/reference/pytorch_vae.py and make
# sure PyTorch's BLAS (Debian's torch links libblas.so.3 via update-alternatives)
# resolves to OpenBLAS rather than the reference BLAS. Idempotent; run as root.
# Note: Debian's torch is only importable from /usr/bin/python3 (not a pyenv python).
set -euo pipefail

PACKAGES=(python3-torch python3-numpy libopenblas0-pthread)
ARCH_TRIPLET="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
LIBDIR="/usr/lib/${ARCH_TRIPLET}"

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
else
    echo "All packages already installed: ${PACKAGES[*]}"
fi

# Select OpenBLAS (pthread flavour) for libblas.so.3 / liblapack.so.3. The package
# registers itself with a higher priority than the reference BLAS, so in auto mode it
# already wins; --set guards against an alternative left in manual mode elsewhere.
for lib in blas lapack; do
    name="lib${lib}.so.3-${ARCH_TRIPLET}"
    target="${LIBDIR}/openblas-pthread/lib${lib}.so.3"
    current="$(readlink -f "${LIBDIR}/lib${lib}.so.3" || true)"
    if [[ "$current" != "$(readlink -f "$target")" ]]; then
        update-alternatives --set "$name" "$target"
    fi
    echo "${name} -> $(readlink -f "${LIBDIR}/lib${lib}.so.3")"
done

# Verify: torch imports under the system python and its BLAS resolves to OpenBLAS.
/usr/bin/python3 -c 'import torch, numpy; print("torch", torch.__version__, "numpy", numpy.__version__)'
torch_lib="$(/usr/bin/python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))')"
if [[ -e "$torch_lib" ]]; then
    blas_line="$(ldd "$torch_lib" | grep -E 'libblas\.so' || true)"
    echo "libtorch_cpu.so BLAS: ${blas_line:-<not linked directly>}"
fi
if ! readlink -f "${LIBDIR}/libblas.so.3" | grep -q openblas; then
    echo "ERROR: libblas.so.3 does not resolve to OpenBLAS" >&2
    exit 1
fi
echo "OpenBLAS is active."
