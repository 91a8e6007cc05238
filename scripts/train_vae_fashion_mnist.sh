#!/usr/bin/env bash
# Issue-2 job: installs and builds what is needed, trains a 784-200-200-50 tanh
# Bernoulli VAE on Fashion-MNIST (10 epochs, batch 100, Adam 1e-3, dynamic binarization) and
# prints its test ELBO. Results go to results/ (JSON and checkpoint). Extra arguments are passed
# to vigap-train, e.g. scripts/train_vae_fashion_mnist.sh --epochs 2.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
scripts/install_dependencies.sh
scripts/build.sh vigap-train vigap-evaluate
mkdir -p results
build/bin/vigap-train --dataset fashion-mnist --latent-dim 50 --encoder-hidden 200,200 --decoder-hidden 200,200 \
  --activation tanh --likelihood bernoulli --epochs 10 --batch-size 100 --learning-rate 1e-3 \
  --binarization dynamic --seed 1 --threads "$(nproc)" \
  --checkpoint results/vae-fashion-mnist.safetensors --out results/train-fashion-mnist.json "$@"
