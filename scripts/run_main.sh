#!/usr/bin/env bash
# The main job on default data: the ELBO-gap tables of Cremer, Li & Duvenaud (2018) on
# Fashion-MNIST. Installs and builds what is needed, then
#  1. trains a VAE with 2-D latents and prints its gap table, where every number is exact
#     (log p(x) and every ELBO by quadrature);
#  2. trains Cremer et al.'s architecture (z = 20; encoder 784-200-200-40, decoder 20-200-200-784,
#     ELU, Bernoulli, binarized at 0.5) and prints its gap table with log p(x) by AIS.
# The 2-D model's exact posteriors, q, q* and HMC draws are drawn in results/posterior-2d.svg.
# Results (JSON and checkpoints) go to results/. Takes a few minutes on 2 cores.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
scripts/install_dependencies.sh
scripts/build.sh vigap-train vigap-gap-table vigap-evaluate vigap-posterior-2d
mkdir -p results
threads="$(nproc)"
common=(--dataset fashion-mnist --activation elu --likelihood bernoulli --binarization threshold
        --binarization-threshold 0.5 --epochs 10 --batch-size 100 --learning-rate 1e-3 --seed 1 --threads "$threads")

echo "== 1. latent dimension 2: exact gap table (quadrature) =="
build/bin/vigap-train "${common[@]}" --latent-dim 2 --encoder-hidden 200,200 --decoder-hidden 200,200 \
  --checkpoint results/vae-z2.safetensors --out results/train-z2.json
build/bin/vigap-gap-table --checkpoint results/vae-z2.safetensors --num-datapoints 50 --families ffg,full,flow \
  --flow-max-steps 4000 --flow-learning-rate 3e-3 --seed 1 --threads "$threads" --out results/gap-table-z2.json
build/bin/vigap-posterior-2d --checkpoint results/vae-z2.safetensors --datapoints 0,1,2,3 --seed 1 \
  --threads "$threads" --out results/posterior-2d.json --picture results/posterior-2d.svg

echo
echo "== 2. latent dimension 20 (Cremer et al.'s architecture): gap table with log p(x) by AIS =="
build/bin/vigap-train "${common[@]}" --latent-dim 20 --encoder-hidden 200,200 --decoder-hidden 200,200 \
  --checkpoint results/vae-z20.safetensors --out results/train-z20.json
build/bin/vigap-gap-table --checkpoint results/vae-z20.safetensors --num-datapoints 20 --families ffg,flow \
  --log-px ais --ais-steps 5000 --flow-max-steps 4000 --flow-learning-rate 3e-3 --seed 1 --threads "$threads" --out results/gap-table-z20.json
