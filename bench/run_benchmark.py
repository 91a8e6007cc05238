#!/usr/bin/python3
"""vigap against PyTorch at its best on identical work, back to back in one run (see scripts/run_bench.sh).

The reference is chosen by measurement. Debian's torch links libblas.so.3, so it runs under each
BLAS build Debian offers (scripts/install_bench_dependencies.sh unpacks OpenBLAS and BLIS, OpenMP,
pthread and serial, into build/reference-blas/; LD_LIBRARY_PATH selects one, the system's
alternatives stay as they are) and under the system's libblas.so.3. For each workload:
  1. screening: the PyTorch reference once under every BLAS configuration, on a cut-down run with
     the same shapes (fewer steps, examples or datapoints);
  2. the --finalists fastest configurations and vigap, alternating, --repetitions times each, one
     process per run (so that each peak resident memory belongs to one run); vigap is compared with
     the finalist of the best median.
The machine's single-precision GEMM throughput is measured before and after (bench-gemm-throughput:
Eigen, and cblas_sgemm of every BLAS build) on the AIS decoder's six products; the fastest library per
product gives the ceiling ("GEMM peak") against which each workload's achieved GFLOP/s is stated.
Prints one JSON document and, on stderr, the tables.
"""
import argparse, glob, json, os, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIGAP = os.path.join(ROOT, "build", "bin", "bench-workloads")
GEMM = os.path.join(ROOT, "build", "bin", "bench-gemm-throughput")
TORCH = ["/usr/bin/python3", os.path.join(ROOT, "bench", "reference", "pytorch_workloads.py")]
BLAS_ROOT = os.path.join(ROOT, "build", "reference-blas")
SYSTEM_BLAS = "/usr/lib/x86_64-linux-gnu/libblas.so.3"

# workload -> (figure compared, higher is better?, target ratio, checkpoint key, extra arguments
# for vigap, extra arguments for PyTorch, PyTorch's extra arguments for the screening run).
WORKLOADS = {
    "training": ("examples_per_second", True, 1.5, None, [], [], ["--examples", "10000"]),
    "ais": ("seconds_per_datapoint", False, 1.5, "z50", [], [], ["--ais-steps", "50"]),
    "iwae": ("seconds", False, 1.5, "z50", [], [], ["--datapoints", "20"]),
    "quadrature": ("seconds_per_datapoint", False, 10.0, "z2", [], [], ["--datapoints", "2000"]),
    "local-q": ("seconds", False, 1.5, "z50", [], [], ["--local-steps", "50"]),
}
AIS_FRACTION_OF_GEMM_TARGET = 0.75


def blas_configurations(selected):
    """{name: directory holding its libblas.so.3, or None for the system's}, in a fixed order."""
    found = {"system": None}
    for lib in sorted(glob.glob(os.path.join(BLAS_ROOT, "*", "usr", "lib", "*", "*", "libblas.so.3"))):
        found[lib.split(os.sep)[-2]] = os.path.dirname(lib)
    if selected is None:
        return found
    missing = [name for name in selected if name not in found]
    if missing:
        raise SystemExit(f"--blas: unknown configuration(s) {', '.join(missing)} (found {', '.join(found)}; "
                         f"scripts/install_bench_dependencies.sh unpacks them into {BLAS_ROOT})")
    return {name: found[name] for name in selected}


def child_environment(threads, blas_dir):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               BLIS_NUM_THREADS=str(threads))
    if blas_dir:
        env["LD_LIBRARY_PATH"] = blas_dir + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    else:
        env.pop("LD_LIBRARY_PATH", None)
    return env


def run_json(command, env=None):
    started = time.perf_counter()
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
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


def gemm_runs_for(configs, threads):
    """bench-gemm-throughput: Eigen, then cblas_sgemm of each configuration's library."""
    runs = []
    for name, blas_dir in configs.items():
        library = os.path.join(blas_dir, "libblas.so.3") if blas_dir else SYSTEM_BLAS
        run = run_json([GEMM, "--threads", str(threads), "--cblas-library", library], child_environment(threads, blas_dir))
        run["blas"] = name
        runs.append(run)
    return runs


def gemm_peak(gemm_runs):
    """Per AIS-decoder product the fastest library's GFLOP/s (Eigen or any cblas, best of all runs), and
    the six products together: total FLOPs / total time at those rates."""
    per_shape = {}
    for run in gemm_runs:
        for i, row in enumerate(run["shapes"][:6]):
            for lib, key in (("eigen", "eigen_gflops_per_second"), (run["blas"], "cblas_gflops_per_second")):
                rate = row[key]
                if rate and rate > per_shape.get(i, (0.0, None, None))[0]:
                    per_shape[i] = (rate, lib, row)
    flops = [2.0 * r["m"] * r["k"] * r["n"] for _, _, r in (per_shape[i] for i in sorted(per_shape))]
    seconds = sum(f / (per_shape[i][0] * 1e9) for f, i in zip(flops, sorted(per_shape)))
    shapes = [{"m": r["m"], "k": r["k"], "n": r["n"], "what": r["what"], "fastest": lib, "gflops_per_second": rate}
              for rate, lib, r in (per_shape[i] for i in sorted(per_shape))]
    libraries = {}
    for run in gemm_runs:
        libraries.setdefault("eigen", []).append(run["ais_decoder_eigen_gflops_per_second"])
        libraries.setdefault(run["blas"], []).append(run["ais_decoder_cblas_gflops_per_second"])
    return {"ais_decoder_gflops_per_second": sum(flops) / seconds / 1e9, "shapes": shapes,
            "ais_decoder_gflops_per_second_by_library": {k: max(v) for k, v in libraries.items()}}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repetitions", type=positive, default=3)
    p.add_argument("--finalists", type=positive, default=2, help="reference configurations in the alternating runs")
    p.add_argument("--threads", type=positive, default=2)
    p.add_argument("--checkpoint-z50", required=True, help="784-200-200-50 tanh Bernoulli VAE (vigap checkpoint)")
    p.add_argument("--checkpoint-z2", required=True, help="the same architecture with 2-D latents")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--blas", help="comma-separated BLAS configurations for the reference (default: all found)")
    p.add_argument("--out", help="also write the JSON here")
    args = p.parse_args()
    names = args.workloads.split(",")
    for name in names:
        if name not in WORKLOADS:
            p.error(f"--workloads: unknown workload '{name}' (expected some of {', '.join(WORKLOADS)})")
    configs = blas_configurations(args.blas.split(",") if args.blas else None)
    checkpoints = {"z50": args.checkpoint_z50, "z2": args.checkpoint_z2}
    threads = ["--threads", str(args.threads)]
    env_note = {"load_average_at_start": os.getloadavg(), "blas_configurations": configs}

    log(f"GEMM throughput (Eigen and cblas_sgemm of {', '.join(configs)}) ...")
    gemm_runs = gemm_runs_for(configs, args.threads)

    workloads = {}
    for name in names:
        figure, higher_better, target, ckpt, vigap_extra, torch_extra, screening_extra = WORKLOADS[name]
        common = ["--workload", name] + threads + (["--checkpoint", checkpoints[ckpt]] if ckpt else [])
        better = (lambda a, b: a > b) if higher_better else (lambda a, b: a < b)
        screening = {}
        for config, blas_dir in configs.items():
            result = run_json(TORCH + common + torch_extra + screening_extra, child_environment(args.threads, blas_dir))
            screening[config] = {figure: result[figure], "gflops_per_second": result["gflops_per_second"],
                                 "blas_libraries": result["blas_libraries"]}
            log(f"{name:10s} screening pytorch[{config}]: {figure} = {result[figure]:.6g}")
        ranked = sorted(screening, key=lambda c: screening[c][figure], reverse=higher_better)
        finalists = ranked[:args.finalists]
        runs = {"vigap": []} | {f"pytorch[{c}]": [] for c in finalists}
        for r in range(args.repetitions):
            order = list(runs)
            order = order[r % len(order):] + order[:r % len(order)]  # rotate who goes first
            for impl in order:
                if impl == "vigap":
                    command, env = [VIGAP] + common + vigap_extra, child_environment(args.threads, None)
                else:
                    config = impl[len("pytorch["):-1]
                    command, env = TORCH + common + torch_extra, child_environment(args.threads, configs[config])
                result = run_json(command, env)
                runs[impl].append(result)
                log(f"{name:10s} {impl:24s} repetition {r + 1}: {figure} = {result[figure]:.6g}, "
                    f"{result['gflops_per_second']:.1f} GFLOP/s, peak {result['peak_resident_megabytes']:.0f} MB")
        workloads[name] = {"figure": figure, "higher_is_better": higher_better, "runs": runs,
                           "screening": screening, "screening_arguments": screening_extra}
    gemm_runs += gemm_runs_for(configs, args.threads)
    peak = gemm_peak(gemm_runs)
    machine_gemm = peak["ais_decoder_gflops_per_second"]

    table = {}
    for name, w in workloads.items():
        figure, higher_better, target = w["figure"], w["higher_is_better"], WORKLOADS[name][2]
        entry = {"figure": figure, "higher_is_better": higher_better, "screening": w["screening"],
                 "screening_arguments": w["screening_arguments"]}
        medians = {}
        for impl, runs in w["runs"].items():
            values = [r[figure] for r in runs]
            gflops = statistics.median(r["gflops_per_second"] for r in runs)
            entry[impl] = {figure: summary(values),
                           "gflops_per_second": gflops,
                           "fraction_of_gemm_peak": gflops / machine_gemm,
                           "peak_resident_megabytes": max(r["peak_resident_megabytes"] for r in runs),
                           "details": runs[0]}
            if "rows_per_second" in runs[0]:
                entry[impl]["rows_per_second"] = summary([r["rows_per_second"] for r in runs])
            medians[impl] = statistics.median(values)
        references = [impl for impl in medians if impl != "vigap"]
        fastest = (max if higher_better else min)(references, key=lambda impl: medians[impl])
        ratio = medians["vigap"] / medians[fastest] if higher_better else medians[fastest] / medians["vigap"]
        entry["reference"] = fastest
        entry["speedup_vigap_over_reference"] = ratio
        entry["target_speedup"] = target
        entry["target_met"] = ratio >= target
        entry["peak_memory_at_most_reference"] = (entry["vigap"]["peak_resident_megabytes"]
                                                 <= entry[fastest]["peak_resident_megabytes"])
        if name == "ais":
            rows = entry["vigap"]["rows_per_second"]["median"] / entry[fastest]["rows_per_second"]["median"]
            entry["rows_per_second_ratio"] = rows
            entry["target_fraction_of_gemm_peak"] = AIS_FRACTION_OF_GEMM_TARGET
            entry["target_met"] = (ratio >= target and rows >= target and
                                   entry["vigap"]["fraction_of_gemm_peak"] >= AIS_FRACTION_OF_GEMM_TARGET)
        table[name] = entry

    document = {
        "benchmark": "vigap vs PyTorch at its best (fastest BLAS configuration per workload), identical work, back to back",
        "repetitions": args.repetitions,
        "threads": args.threads,
        "checkpoints": checkpoints,
        "environment": env_note | {"load_average_at_end": os.getloadavg(), "cpu_count": os.cpu_count()},
        "gemm_peak": peak | {"runs": gemm_runs},
        "workloads": table,
    }
    print_and_write(document, args.out)

    log("\nScreening (PyTorch reference, cut-down runs of the same shapes), per BLAS configuration:")
    log("| workload | figure | " + " | ".join(configs) + " |")
    log("|---|---|" + "---|" * len(configs))
    for name, e in table.items():
        f = e["figure"]
        log(f"| {name} | {f} ({' '.join(e['screening_arguments'])}) | " +
            " | ".join(f"{e['screening'][c][f]:.4g}" for c in configs) + " |")
    log("\n| workload | figure | vigap (median) | fastest PyTorch (median) | vigap/PyTorch | target | "
        "vigap GFLOP/s (% of GEMM peak) | PyTorch GFLOP/s (%) | peak MB vigap / PyTorch |")
    log("|---|---|---|---|---|---|---|---|---|")
    for name, e in table.items():
        f, ref = e["figure"], e["reference"]
        log(f"| {name} | {f} | {e['vigap'][f]['median']:.4g} | {e[ref][f]['median']:.4g} {ref} | "
            f"{e['speedup_vigap_over_reference']:.2f}x | {e['target_speedup']}x {'met' if e['target_met'] else 'MISSED'} | "
            f"{e['vigap']['gflops_per_second']:.1f} ({100 * e['vigap']['fraction_of_gemm_peak']:.0f}%) | "
            f"{e[ref]['gflops_per_second']:.1f} ({100 * e[ref]['fraction_of_gemm_peak']:.0f}%) | "
            f"{e['vigap']['peak_resident_megabytes']:.0f} / {e[ref]['peak_resident_megabytes']:.0f} |")
    by_lib = ", ".join(f"{k} {v:.1f}" for k, v in peak["ais_decoder_gflops_per_second_by_library"].items() if v)
    log(f"GEMM peak on the AIS decoder's six products, {args.threads} threads: {machine_gemm:.1f} GFLOP/s "
        f"(fastest library per product); by library: {by_lib}")


if __name__ == "__main__":
    main()
