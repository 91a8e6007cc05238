#!/usr/bin/env bash
# The findings report: the four questions of VAE practice vigap's studies answer, each over seeds,
# in one file a reader opens, results/report/index.md (sentences, tables, SVG pictures and, where
# rsvg-convert exists, PNG copies), with the commands that reproduce every figure.
#
#   scripts/run_report.sh [--size full|tiny] [--out-dir DIR] [--resume] [--threads N]
#                         [--dataset NAME [--data-dir DIR]]
#
#  1. Does training by the ELBO hold the generative model back? vigap-objective-comparison, ELBO,
#     IWAE-5 and exact-likelihood training of one 2-D decoder family, trained until the validation
#     objective stops improving (early stopping), everything measured exactly, with the trajectory
#     of log p(x) and KL(q*||p(z|x)) along training; 5 seeds.
#  2. Is one sample enough? vigap-estimator-variance on z = 20 models, one trained per seed.
#  3. Does p(z) match the aggregate posterior q(z)? vigap-aggregate-posterior, exact on 2-D models,
#     Monte Carlo on z = 20 models, one trained per seed.
#  4. Is HMC worth its cost? vigap-hmc-vs-vi on 2-D models (measured against quadrature), one per seed.
# Then vigap-report writes index.md from the JSON the studies wrote (and citations.json: where
# every figure it prints comes from).
#
# --size full (default): about 3-4 hours on 2 cores (the exact-likelihood training, about 5 s an
# epoch, and the trajectory dominate: one seed of the objective comparison took 33 min; at 50
# epochs no model had stopped improving, so the maximum is 300 epochs and early stopping decides,
# at epoch 78-138 in the first seed).
# --size tiny: a minute or two, for the test suite (the figures mean nothing at that size).
# --resume continues a killed run: finished trainings are kept, every study continues from its
# seeds journal (replicates already written are kept).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

size=full
out_dir=results/report
resume=0
threads="$(nproc)"
data=(--dataset fashion-mnist)
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size="${2:?--size needs full or tiny}"; shift 2 ;;
    --out-dir) out_dir="${2:?--out-dir needs a directory}"; shift 2 ;;
    --resume) resume=1; shift ;;
    --threads) threads="${2:?--threads needs a count}"; shift 2 ;;
    --dataset) data=(--dataset "${2:?--dataset needs a name}"); shift 2 ;;
    --data-dir) data+=(--data-dir "${2:?--data-dir needs a directory}"); shift 2 ;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;;
    *) echo "run_report.sh: unknown argument '$1' (expected --size full|tiny, --out-dir DIR, --resume, --threads N, --dataset NAME, --data-dir DIR)" >&2
       exit 2 ;;
  esac
done
case "$size" in
  full|tiny) ;;
  *) echo "run_report.sh: --size must be full or tiny, found '$size'" >&2; exit 2 ;;
esac
case "$threads" in
  ''|*[!0-9]*|0) echo "run_report.sh: --threads must be a positive integer, found '$threads'" >&2; exit 2 ;;
esac

if [ "${VIGAP_REPORT_SKIP_SETUP:-0}" != 1 ]; then  # the test suite has built everything already
  scripts/install_dependencies.sh
  scripts/build.sh vigap-train vigap-objective-comparison vigap-estimator-variance vigap-aggregate-posterior \
    vigap-hmc-vs-vi vigap-report
fi
bin="${VIGAP_BIN_DIR:-build/bin}"
mkdir -p "$out_dir/train"
stages="$out_dir/stages.tsv"
[ "$resume" = 1 ] && [ -f "$stages" ] || printf 'stage\tseconds\n' > "$stages"
resume_flag=()
[ "$resume" = 1 ] && resume_flag=(--resume)

if [ "$size" = full ]; then
  seeds=5
  train_common=(--epochs 10 --validation-size 5000)
  oc=(--epochs 300 --early-stopping-patience 4 --train-size 2000 --validation-size 1000 --train-eval-points 500
      --test-eval-points 500 --qstar-points 50 --trajectory-points 10)
  ev=(--num-datapoints 50 --replicates 100 --iwae-num-datapoints 10)
  ap2=(--num-datapoints 2000)
  ap20=(--num-datapoints 2000 --mc-outer-points 2000)
  hv=(--num-datapoints 8)
else
  seeds=2
  train_common=(--epochs 1 --train-size 600 --validation-size 100)
  oc=(--epochs 3 --early-stopping-patience 1 --train-size 300 --validation-size 100 --train-eval-points 20
      --test-eval-points 20 --qstar-points 5 --trajectory-points 5 --grid-cells 32 --qstar-max-steps 200)
  ev=(--num-datapoints 3 --replicates 10 --samples 1,10 --iwae-samples 1,10 --iwae-num-datapoints 2)
  ap2=(--num-datapoints 50 --splits test)
  ap20=(--num-datapoints 50 --splits test --mc-outer-points 200)
  hv=(--num-datapoints 2 --budgets 100,1000 --vi-draws 2000 --grid-nodes 41)
fi

# Runs one stage, timed into stages.tsv (a resumed run adds the time it spends again).
stage() {
  local name="$1"; shift
  local start; start="$(date +%s)"
  echo "== report: $name" >&2
  "$@"
  printf '%s\t%s\n' "$name" "$(( $(date +%s) - start ))" >> "$stages"
}

# One model per seed and latent dimension (Cremer et al.'s z = 20 architecture; 2-D for exactness).
train_models() {
  local z="$1" s
  for s in $(seq 1 "$seeds"); do
    local ckpt="$out_dir/train/vae-z$z.seed-$s.safetensors"
    if [ "$resume" = 1 ] && [ -f "$ckpt" ] && [ -f "$out_dir/train/train-z$z.seed-$s.json" ]; then continue; fi
    "$bin/vigap-train" "${data[@]}" --latent-dim "$z" --encoder-hidden 200,200 --decoder-hidden 200,200 \
      --activation elu --likelihood bernoulli --batch-size 100 --learning-rate 1e-3 "${train_common[@]}" \
      --seed "$s" --threads "$threads" --checkpoint "$ckpt" --out "$out_dir/train/train-z$z.seed-$s.json" >/dev/null
  done
}

stage train-z2 train_models 2
stage train-z20 train_models 20
stage estimator-variance "$bin/vigap-estimator-variance" --seeds "$seeds" --seed 1 "${data[@]}" \
  --checkpoint "$out_dir/train/vae-z20.seed-{seed}.safetensors" "${ev[@]}" --threads "$threads" "${resume_flag[@]}" \
  --out "$out_dir/estimator-variance.json" --picture "$out_dir/estimator-variance.svg" > "$out_dir/estimator-variance.txt"
stage aggregate-posterior-z2 "$bin/vigap-aggregate-posterior" --seeds "$seeds" --seed 1 "${data[@]}" \
  --checkpoint "$out_dir/train/vae-z2.seed-{seed}.safetensors" "${ap2[@]}" --threads "$threads" "${resume_flag[@]}" \
  --out "$out_dir/aggregate-posterior-z2.json" --picture "$out_dir/aggregate-posterior-z2.svg" > "$out_dir/aggregate-posterior-z2.txt"
stage aggregate-posterior-z20 "$bin/vigap-aggregate-posterior" --seeds "$seeds" --seed 1 "${data[@]}" \
  --checkpoint "$out_dir/train/vae-z20.seed-{seed}.safetensors" "${ap20[@]}" --threads "$threads" "${resume_flag[@]}" \
  --out "$out_dir/aggregate-posterior-z20.json" --picture "$out_dir/aggregate-posterior-z20.svg" > "$out_dir/aggregate-posterior-z20.txt"
stage hmc-vs-vi "$bin/vigap-hmc-vs-vi" --seeds "$seeds" --seed 1 "${data[@]}" \
  --checkpoint "$out_dir/train/vae-z2.seed-{seed}.safetensors" "${hv[@]}" --threads "$threads" "${resume_flag[@]}" \
  --out "$out_dir/hmc-vs-vi.json" --picture "$out_dir/hmc-vs-vi.svg" > "$out_dir/hmc-vs-vi.txt"
stage objective-comparison "$bin/vigap-objective-comparison" --seeds "$seeds" --seed 1 "${data[@]}" \
  --objectives elbo,iwae-5,exact "${oc[@]}" --threads "$threads" "${resume_flag[@]}" \
  --out "$out_dir/objective-comparison.json" --picture "$out_dir/objective-comparison.svg" > "$out_dir/objective-comparison.txt"
"$bin/vigap-report" --dir "$out_dir" --size "$size"
echo "report: $out_dir/index.md"
