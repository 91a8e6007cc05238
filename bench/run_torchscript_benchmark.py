#!/usr/bin/python3
"""The TorchScript backend's two benchmark rows, each pair measured back to back in one run, in
alternating order, --repetitions times each, one process per run (see scripts/run_bench.sh):

  ais-mlp-torchscript-vs-native  AIS from the prior through vigap on the same MLP weights, once as the
      native checkpoint (--checkpoint-mlp, a vigap checkpoint) and once as a TorchScript module of the
      same nn.Sequential (scripted here from the checkpoint's tensors, with its vigap-torchscript
      manifest): bench-workloads --workload ais-model on both. Ratio = TorchScript seconds / native
      seconds (> 1: the native path is faster, as it should be for MLPs).
  ais-conv-vigap-vs-pytorch  AIS from the prior on the conv decoder of
      tests/support/make_torch_conv_fixture.py (built into --conv-fixture when absent): vigap through
      its manifest (bench-workloads --workload ais-model, online step adaptation as the reference's)
      against bench/reference/pytorch_workloads.py --workload ais-torchscript on the same module
      file, the same test digits and the same T, chains and leapfrog steps. PyTorch runs at every
      thread count from 1 to --threads; ratio = the fastest PyTorch median seconds / vigap's median
      seconds (> 1: vigap is faster).

Every process, vigap's (its TorchScript backend runs on LibTorch, which links libblas.so.3 as
Debian's torch does) and PyTorch's alike, runs under the same BLAS: --blas, by default the
configuration bench/run_benchmark.py found fastest for PyTorch's AIS (read from --bench-json), else
the system's.

Prints one JSON document (also written to --out) with each implementation's figures (median, min,
max of seconds and rows per second) and the ratios of the medians. Run it on an otherwise idle
machine: the figures are timings.
"""
import argparse, hashlib, json, os, statistics, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_benchmark import (ROOT, TORCH, VIGAP, blas_configurations, child_environment, log, positive,  # noqa: E402
                           print_and_write, run_json, summary)

CONV_FIXTURE = os.path.join(ROOT, "tests", "support", "make_torch_conv_fixture.py")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def script_mlp_decoder(checkpoint, directory):
    """The checkpoint's decoder as a scripted nn.Sequential (decoder.pt) and its manifest; returns
    the manifest's path. Imports torch here only (the measured runs are separate processes)."""
    import torch
    sys.path.insert(0, os.path.join(ROOT, "bench", "reference"))
    from pytorch_workloads import load_vae
    os.makedirs(directory, exist_ok=True)
    _, decoder, arch = load_vae(checkpoint)
    decoder.eval()
    module = os.path.join(directory, "decoder.pt")
    torch.jit.save(torch.jit.script(decoder), module)
    manifest = {"format": "vigap-torchscript", "version": 1, "latent_dim": arch["latent_dim"],
                "data_dim": arch["data_dim"],
                "decoder": {"file": "decoder.pt", "sha256": sha256(module), "output": "bernoulli-logits"},
                "binarization": "threshold:0.5",
                "source": {"scripted_from": os.path.abspath(checkpoint), "by": "bench/run_torchscript_benchmark.py"}}
    path = os.path.join(directory, "vigap-torchscript.json")
    with open(path, "w") as f:
        json.dump(manifest, f, indent=1)
    return path


def compare(name, commands, figure, ratio_of, repetitions, env):
    """Runs the commands alternately (in environment env); returns their summaries and ratio_of(medians)."""
    runs = {impl: [] for impl in commands}
    order = list(commands)
    for r in range(repetitions):
        for impl in (order if r % 2 == 0 else order[::-1]):
            result = run_json(commands[impl], env)
            runs[impl].append(result)
            log(f"{name} {impl:10s} repetition {r + 1}: {figure} = {result[figure]:.6g}, "
                f"{result['rows_per_second']:.0f} rows/s, log p(x) {result['mean_log_px']:.3f}")
    entry = {"figure": figure}
    medians = {}
    for impl, rs in runs.items():
        entry[impl] = {figure: summary([r[figure] for r in rs]),
                       "rows_per_second": summary([r["rows_per_second"] for r in rs]),
                       "mean_log_px": [r["mean_log_px"] for r in rs],
                       "peak_resident_megabytes": max(r["peak_resident_megabytes"] for r in rs),
                       "details": rs[0]}
        medians[impl] = statistics.median(r[figure] for r in rs)
    entry.update(ratio_of(medians))
    return entry


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repetitions", type=positive, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--checkpoint-mlp", required=True, help="a vigap MLP checkpoint (e.g. results/bench/vae-z50.safetensors)")
    p.add_argument("--mlp-datapoints", type=int, default=10, help="Fashion-MNIST test points of the MLP row")
    p.add_argument("--mlp-ais-steps", type=int, default=20)
    p.add_argument("--conv-fixture", default=os.path.join(ROOT, "results", "bench", "conv"),
                   help="directory of make_torch_conv_fixture.py's output (built when absent)")
    p.add_argument("--conv-datapoints", type=int, default=10)
    p.add_argument("--conv-ais-steps", type=int, default=20)
    p.add_argument("--chains", type=int, default=16)
    p.add_argument("--leapfrog-steps", type=int, default=10)
    p.add_argument("--rows", nargs="+", choices=["mlp", "conv"], default=["mlp", "conv"], help="which rows")
    p.add_argument("--blas", help="BLAS configuration of every process (default: PyTorch AIS's fastest in --bench-json)")
    p.add_argument("--bench-json", default=os.path.join(ROOT, "results", "bench", "bench.json"))
    p.add_argument("--out", help="also write the JSON here")
    args = p.parse_args()
    blas = args.blas
    if blas is None and os.path.exists(args.bench_json):
        with open(args.bench_json) as f:
            reference = json.load(f)["workloads"].get("ais", {}).get("reference", "")
        blas = reference[len("pytorch["):-1] if reference.startswith("pytorch[") else None
    blas = blas or "system"
    blas_dir = blas_configurations([blas])[blas]
    env = child_environment(args.threads, blas_dir)
    log(f"BLAS for every process: {blas}")
    rows = args.rows
    threads = ["--threads", str(args.threads)]
    shared = ["--chains", str(args.chains), "--leapfrog-steps", str(args.leapfrog_steps)]
    table = {}
    if "mlp" in rows:
        manifest = script_mlp_decoder(args.checkpoint_mlp, os.path.join(ROOT, "results", "bench", "mlp-torchscript"))
        base = [VIGAP, "--workload", "ais-model", "--datapoints", str(args.mlp_datapoints), "--ais-steps",
                str(args.mlp_ais_steps)] + shared + threads
        table["ais-mlp-torchscript-vs-native"] = compare(
            "mlp", {"native": base + ["--checkpoint", args.checkpoint_mlp],
                    "torchscript": base + ["--checkpoint", manifest]},
            "seconds", lambda m: {"torchscript_over_native_seconds": m["torchscript"] / m["native"]}, args.repetitions, env)
    if "conv" in rows:
        fixture = args.conv_fixture
        if not os.path.exists(os.path.join(fixture, "vigap-torchscript.json")):
            log(f"building the conv fixture into {fixture} ...")
            subprocess.run(["/usr/bin/python3", CONV_FIXTURE, fixture], check=True, stdout=sys.stderr)
        data = os.path.join(fixture, "idx")
        work = ["--datapoints", str(args.conv_datapoints), "--ais-steps", str(args.conv_ais_steps)] + shared
        # The reference at its best: PyTorch at every thread count up to --threads (on a 2-core
        # machine its convolutions ran faster at 1 thread than at 2), vigap at --threads; the
        # ratio is against the fastest PyTorch median.
        commands = {"vigap": [VIGAP, "--workload", "ais-model", "--checkpoint",
                              os.path.join(fixture, "vigap-torchscript.json"), "--dataset", "idx", "--data-dir", data,
                              "--ais-adaptation", "online"] + work + threads}
        for n in range(1, args.threads + 1):
            commands[f"pytorch-{n}-threads"] = TORCH + ["--workload", "ais-torchscript", "--torchscript",
                                                        os.path.join(fixture, "decoder.pt"), "--data-dir", data] + \
                work + ["--threads", str(n)]

        def conv_ratio(m):
            best = min((k for k in m if k.startswith("pytorch")), key=lambda k: m[k])
            return {"fastest_pytorch": best, "speedup_vigap_over_pytorch": m[best] / m["vigap"]}
        table["ais-conv-vigap-vs-pytorch"] = compare("conv", commands, "seconds", conv_ratio, args.repetitions, env)
    document = {"benchmark": "the TorchScript backend: against the native MLP, and against PyTorch's own AIS",
                "repetitions": args.repetitions, "threads": args.threads, "blas": blas,
                "environment": {"load_average_at_end": os.getloadavg(), "cpu_count": os.cpu_count()},
                "rows": table}
    print_and_write(document, args.out)


if __name__ == "__main__":
    main()
