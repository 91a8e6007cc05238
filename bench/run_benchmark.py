#!/usr/bin/python3
"""vigap against PyTorch on identical work, back to back in one run (see scripts/run_bench.sh).

For each workload, runs build/bin/bench-workloads and bench/reference/pytorch_workloads.py in
alternating order, --repetitions times each, one process per run (so that each peak resident
memory belongs to one run); measures the machine's single-precision GEMM throughput (Eigen and
OpenBLAS in bench-gemm-throughput, torch.mm) before and after; prints one JSON document with, per
workload and implementation, the figure's median, min and max, achieved GFLOP/s and its fraction
of the measured GEMM throughput, peak memory, and the ratio vigap/PyTorch against the target.
"""
import argparse, json, os, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIGAP = os.path.join(ROOT, "build", "bin", "bench-workloads")
GEMM = os.path.join(ROOT, "build", "bin", "bench-gemm-throughput")
TORCH = ["/usr/bin/python3", os.path.join(ROOT, "bench", "reference", "pytorch_workloads.py")]

# workload -> (figure compared, higher is better?, target ratio, checkpoint key, extra arguments
# for vigap, extra arguments for PyTorch). Quadrature: PyTorch evaluates the decoder on the grid for
# every datapoint, so it is timed on 100 points and compared per datapoint (vigap runs all 10,000).
WORKLOADS = {
    "training": ("examples_per_second", True, 2.0, None, [], []),
    "ais": ("seconds_per_datapoint", False, 1.5, "z50", [], []),
    "iwae": ("seconds", False, 1.5, "z50", [], []),
    "quadrature": ("seconds_per_datapoint", False, 10.0, "z2", [], ["--datapoints", "100"]),
    "local-q": ("seconds", False, 2.0, "z50", [], []),
}


def run_json(command):
    started = time.perf_counter()
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    return result


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def log(message):
    print(message, file=sys.stderr, flush=True)


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, found {text}")
    return value


def print_and_write(document, out):
    """Prints the JSON document on stdout and, when out is given, writes it there (atomically)."""
    text = json.dumps(document, indent=2)
    print(text)
    if out:
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, out)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repetitions", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--checkpoint-z50", required=True, help="784-200-200-50 tanh Bernoulli VAE (vigap checkpoint)")
    p.add_argument("--checkpoint-z2", required=True, help="the same architecture with 2-D latents")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--out", help="also write the JSON here")
    args = p.parse_args()
    if args.repetitions < 1:
        p.error(f"--repetitions must be >= 1, found {args.repetitions}")
    names = args.workloads.split(",")
    for name in names:
        if name not in WORKLOADS:
            p.error(f"--workloads: unknown workload '{name}' (expected some of {', '.join(WORKLOADS)})")
    checkpoints = {"z50": args.checkpoint_z50, "z2": args.checkpoint_z2}
    threads = ["--threads", str(args.threads)]
    env_note = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "load_average_at_start": os.getloadavg()}

    log("GEMM throughput (Eigen, OpenBLAS, torch.mm) ...")
    gemm_runs = [run_json([GEMM] + threads), run_json(TORCH + ["--workload", "gemm"] + threads)]

    workloads = {}
    for name in names:
        figure, higher_better, target, ckpt, vigap_extra, torch_extra = WORKLOADS[name]
        common = ["--workload", name] + threads + (["--checkpoint", checkpoints[ckpt]] if ckpt else [])
        runs = {"vigap": [], "pytorch": []}
        for r in range(args.repetitions):
            order = ["vigap", "pytorch"] if r % 2 == 0 else ["pytorch", "vigap"]
            for impl in order:
                command = ([VIGAP] + common + vigap_extra) if impl == "vigap" else (TORCH + common + torch_extra)
                result = run_json(command)
                runs[impl].append(result)
                log(f"{name:10s} {impl:7s} repetition {r + 1}: {figure} = {result[figure]:.6g}, "
                    f"{result['gflops_per_second']:.1f} GFLOP/s, peak {result['peak_resident_megabytes']:.0f} MB")
        workloads[name] = {"figure": figure, "higher_is_better": higher_better, "runs": runs}
    gemm_runs.append(run_json([GEMM] + threads))

    eigen = max(g["reference_gflops_per_second"] for g in gemm_runs if g["implementation"] == "vigap")
    openblas = max((row["openblas_gflops_per_second"] or 0.0) for g in gemm_runs if g["implementation"] == "vigap"
                   for row in g["shapes"] if row["m"] == 784 and row["n"] == 1600)
    torch_mm = max(g["reference_gflops_per_second"] for g in gemm_runs if g["implementation"] == "pytorch")
    machine_gemm = max(eigen, openblas, torch_mm)

    table = {}
    for name, w in workloads.items():
        figure, higher_better, target = w["figure"], w["higher_is_better"], WORKLOADS[name][2]
        entry = {"figure": figure, "higher_is_better": higher_better}
        medians = {}
        for impl, runs in w["runs"].items():
            values = [r[figure] for r in runs]
            gflops = statistics.median(r["gflops_per_second"] for r in runs)
            entry[impl] = {figure: summary(values),
                           "gflops_per_second": gflops,
                           "fraction_of_gemm_throughput": gflops / machine_gemm,
                           "peak_resident_megabytes": max(r["peak_resident_megabytes"] for r in runs),
                           "details": runs[0]}
            if "rows_per_second" in runs[0]:
                entry[impl]["rows_per_second"] = summary([r["rows_per_second"] for r in runs])
            medians[impl] = statistics.median(values)
        ratio = medians["vigap"] / medians["pytorch"] if higher_better else medians["pytorch"] / medians["vigap"]
        entry["speedup_vigap_over_pytorch"] = ratio
        entry["target_speedup"] = target
        entry["target_met"] = ratio >= target
        if name == "ais":
            rows = entry["vigap"]["rows_per_second"]["median"] / entry["pytorch"]["rows_per_second"]["median"]
            entry["rows_per_second_ratio"] = rows
            entry["target_fraction_of_gemm_throughput"] = 0.6
            entry["target_met"] = ratio >= target and rows >= target and entry["vigap"]["fraction_of_gemm_throughput"] >= 0.6
        table[name] = entry

    document = {
        "benchmark": "vigap vs PyTorch, identical work, back to back",
        "repetitions": args.repetitions,
        "threads": args.threads,
        "checkpoints": checkpoints,
        "environment": env_note | {"load_average_at_end": os.getloadavg(), "cpu_count": os.cpu_count()},
        "gemm_throughput_gflops_per_second": {"eigen_784x200x1600": eigen, "openblas_784x200x1600": openblas,
                                              "torch_mm_784x200x1600": torch_mm, "machine": machine_gemm,
                                              "runs": gemm_runs},
        "workloads": table,
    }
    print_and_write(document, args.out)

    log("\n| workload | figure | vigap (median) | PyTorch (median) | vigap/PyTorch | target | vigap GFLOP/s (% of GEMM) | "
        "PyTorch GFLOP/s | peak MB vigap / PyTorch |")
    log("|---|---|---|---|---|---|---|---|---|")
    for name, e in table.items():
        f = e["figure"]
        log(f"| {name} | {f} | {e['vigap'][f]['median']:.4g} | {e['pytorch'][f]['median']:.4g} | "
            f"{e['speedup_vigap_over_pytorch']:.2f}x | {e['target_speedup']}x {'met' if e['target_met'] else 'MISSED'} | "
            f"{e['vigap']['gflops_per_second']:.1f} ({100 * e['vigap']['fraction_of_gemm_throughput']:.0f}%) | "
            f"{e['pytorch']['gflops_per_second']:.1f} | {e['vigap']['peak_resident_megabytes']:.0f} / "
            f"{e['pytorch']['peak_resident_megabytes']:.0f} |")
    log(f"GEMM 784x200x1600 on {args.threads} threads: Eigen {eigen:.1f}, OpenBLAS {openblas:.1f}, "
        f"torch.mm {torch_mm:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
