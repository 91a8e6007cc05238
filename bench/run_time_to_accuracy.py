#!/usr/bin/python3
"""Time to an accurate answer: wall time for log p(x) of the first N test points (binarized at 0.5)
to come within --accuracy nats of the truth, vigap's AIS against AIS as published PyTorch
evaluation code writes it (see scripts/run_bench.sh).

Truth. On a 2-D model, vigap's quadrature (exact to its error estimate, ~1e-5 nats). On the 50-D
model, a long AIS run from the encoder (--truth-ais-steps, 16 chains), accepted only when a run at
half its steps from the prior agrees with it on the mean within --truth-agreement nats (AIS is a
stochastic lower bound in expectation from either start, so two starts that meet are converged).

Accuracy. For a run, e_b = estimate_b - truth_b over the N datapoints; the run reaches the accuracy
when |mean e| + 2 SE(mean e) <= --accuracy (SE: the spread of e_b over datapoints / sqrt N), so a
run that is right by luck on a noisy average does not count.

Methods, each over a ladder of annealing steps T (--steps) and chains C (--chains); the cheapest
(least estimator time) setting that reaches the accuracy is the method's time:
  vigap-ais-prior, vigap-ais-encoder   vigap-evaluate --estimators ais at its defaults (sigmoid
                                       schedule, pilot step-size adaptation), from p(z) or q(z|x);
                                       also timed at its default T = 1000, C = 16;
  pytorch-ais-linear                   bench/reference/pytorch_workloads.py --workload ais --schedule
                                       linear: from p(z), beta_k = k / T, one HMC transition of 10
                                       leapfrog steps per distribution, the step adapted x1.02 /
                                       x0.98 toward acceptance 0.65 (BDMC's and Cremer et al.'s code),
                                       batched over datapoints and chains, under torch.no_grad except
                                       for the gradient in z, under the BLAS configuration given
                                       (--blas; default the system's: pass the one run_benchmark.py
                                       found fastest for AIS).
The speedup is PyTorch's time over vigap's faster method, both at their cheapest accurate setting.
Times are the estimators' own (vigap's timings.ais_seconds, PyTorch's AIS call), and the processes'
wall times are reported beside them. Prints one JSON document and, on stderr, the table.
"""
import argparse, json, math, os, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_benchmark import (ROOT, TORCH, blas_configurations, child_environment, log, positive, print_and_write,
                           run_json)  # noqa: E402

EVALUATE = os.path.join(ROOT, "build", "bin", "vigap-evaluate")


def vigap_evaluate(checkpoint, datapoints, threads, extra):
    """Runs vigap-evaluate on the first `datapoints` test points (threshold binarization, as the
    PyTorch reference binarizes) and returns its JSON document and the process's wall time."""
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "evaluate.json")
        command = [EVALUATE, "--checkpoint", checkpoint, "--num-datapoints", str(datapoints),
                   "--binarization", "threshold", "--per-datapoint", "--threads", str(threads), "--out", out] + extra
        started = time.perf_counter()
        run = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env=child_environment(threads, None))
        wall = time.perf_counter() - started
        if run.returncode != 0:
            raise SystemExit(f"run_time_to_accuracy: {' '.join(command)} exited with {run.returncode}:\n{run.stderr}")
        with open(out) as f:
            return json.load(f), wall


def accuracy_of(estimates, truth):
    errors = [e - t for e, t in zip(estimates, truth)]
    mean = statistics.fmean(errors)
    se = statistics.stdev(errors) / math.sqrt(len(errors)) if len(errors) > 1 else math.inf
    return {"mean_error": mean, "standard_error": se, "bound": abs(mean) + 2 * se,
            "max_abs_error": max(abs(e) for e in errors)}


def run_vigap_ais(checkpoint, datapoints, threads, start, steps, chains):
    document, wall = vigap_evaluate(checkpoint, datapoints, threads,
                                    ["--estimators", "ais", "--ais-from", start, "--ais-steps", str(steps),
                                     "--ais-chains", str(chains)])
    ais = document["results"]["ais"]
    return {"estimates": ais["per_datapoint"], "seconds": document["timings"]["ais_seconds"], "process_seconds": wall,
            "gradient_evaluations": ais["gradient_evaluations"], "settings": ais["settings"]["options"]}


def run_pytorch_ais(checkpoint, datapoints, threads, blas_dir, steps, chains):
    command = TORCH + ["--workload", "ais", "--checkpoint", checkpoint, "--datapoints", str(datapoints),
                       "--ais-steps", str(steps), "--chains", str(chains), "--schedule", "linear", "--per-datapoint",
                       "--threads", str(threads)]
    result = run_json(command, child_environment(threads, blas_dir))
    return {"estimates": result["per_datapoint"], "seconds": result["seconds"],
            "process_seconds": result["process_seconds"],
            "decoder_forward_backward_rows": result["decoder_forward_backward_rows"],
            "settings": {"schedule": "linear", "num_annealing_steps": steps, "chains": chains, "leapfrog_steps": 10,
                         "initial_step_size": 0.01, "step_size_adaptation": "x1.02 / x0.98 toward 0.65 per chain"}}


def truth_of(model, checkpoint, args):
    if model == "z2":
        document, wall = vigap_evaluate(checkpoint, args.datapoints, args.threads, ["--estimators", "quadrature"])
        q = document["results"]["quadrature"]
        return {"method": "quadrature (vigap-evaluate --estimators quadrature)", "values": q["per_datapoint"],
                "error_estimate_nats": q["monte_carlo_standard_error"], "seconds": wall}
    long_run = run_vigap_ais(checkpoint, args.datapoints, args.threads, "encoder", args.truth_ais_steps, 16)
    check = run_vigap_ais(checkpoint, args.datapoints, args.threads, "prior", args.truth_ais_steps // 2, 16)
    gap = abs(statistics.fmean(long_run["estimates"]) - statistics.fmean(check["estimates"]))
    if gap > args.truth_agreement:
        raise SystemExit(f"run_time_to_accuracy: the truth for {checkpoint} is not converged: AIS from q(z|x) at "
                         f"T = {args.truth_ais_steps} and from p(z) at T = {args.truth_ais_steps // 2} differ by "
                         f"{gap:.4f} nats on the mean (--truth-agreement {args.truth_agreement}); raise --truth-ais-steps")
    return {"method": f"vigap AIS from q(z|x), T = {args.truth_ais_steps}, 16 chains; checked against AIS from p(z) "
                      f"at T = {args.truth_ais_steps // 2}", "values": long_run["estimates"],
            "agreement_nats": gap, "seconds": long_run["process_seconds"] + check["process_seconds"]}


def scored(result, truth, accuracy):
    """The run's estimates replaced by their accuracy against the truth, and whether it reached it."""
    result["accuracy"] = accuracy_of(result.pop("estimates"), truth)
    result["reached"] = result["accuracy"]["bound"] <= accuracy
    return result


def cheapest_accurate(run, truth, args):
    """Runs the ladder, for each chain count the steps in increasing order until one reaches the
    accuracy; returns every run tried and the cheapest that reached it (None if none did)."""
    tried, best = [], None
    for chains in args.chains:
        for steps in args.steps:
            result = scored(run(steps, chains), truth, args.accuracy)
            result["annealing_steps"], result["chains"] = steps, chains
            tried.append(result)
            log(f"  T = {steps:6d}, C = {chains:3d}: mean error {result['accuracy']['mean_error']:+.4f} "
                f"± {result['accuracy']['standard_error']:.4f}, {result['seconds']:.3f} s"
                + ("  reached" if result["reached"] else ""))
            if result["reached"]:
                if best is None or result["seconds"] < best["seconds"]:
                    best = result
                break
    return tried, best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint-z2", required=True, help="a VAE with 2-D latents (truth by quadrature)")
    p.add_argument("--checkpoint-z50", help="the 784-200-200-50 VAE (truth by a long AIS run); omitted: 2-D only")
    p.add_argument("--datapoints", type=positive, default=100)
    p.add_argument("--accuracy", type=float, default=0.1, help="nats on the mean log p(x) over the datapoints")
    p.add_argument("--steps", default="10,20,50,100,200,500,1000,2000,5000,10000",
                   help="the ladder of annealing steps T, increasing")
    p.add_argument("--chains", default="4,16", help="chain counts C tried, each with the whole ladder")
    p.add_argument("--truth-ais-steps", type=positive, default=10000)
    p.add_argument("--truth-agreement", type=float, default=0.02)
    p.add_argument("--threads", type=positive, default=2)
    p.add_argument("--blas", help="the BLAS configuration of the PyTorch reference (run_benchmark.py's names)")
    p.add_argument("--out", help="also write the JSON here")
    args = p.parse_args()
    try:
        args.steps = [positive(t) for t in args.steps.split(",")]
        args.chains = [positive(c) for c in args.chains.split(",")]
    except (ValueError, argparse.ArgumentTypeError) as e:
        p.error(f"--steps and --chains expect comma-separated positive integers: {e}")
    if args.steps != sorted(args.steps):
        p.error(f"--steps must increase, found {','.join(map(str, args.steps))}")
    if not args.accuracy > 0:
        p.error(f"--accuracy must be positive, found {args.accuracy}")
    blas_name, blas_dir = next(iter(blas_configurations([args.blas] if args.blas else ["system"]).items()))
    models = {"z2": args.checkpoint_z2} | ({"z50": args.checkpoint_z50} if args.checkpoint_z50 else {})

    table = {}
    for model, checkpoint in models.items():
        log(f"{model}: truth ...")
        truth = truth_of(model, checkpoint, args)
        entry = {"checkpoint": checkpoint, "truth": truth | {"mean_log_px": statistics.fmean(truth["values"])}}
        methods = {
            "vigap-ais-prior": lambda T, C: run_vigap_ais(checkpoint, args.datapoints, args.threads, "prior", T, C),
            "vigap-ais-encoder": lambda T, C: run_vigap_ais(checkpoint, args.datapoints, args.threads, "encoder", T, C),
            f"pytorch-ais-linear[{blas_name}]":
                lambda T, C: run_pytorch_ais(checkpoint, args.datapoints, args.threads, blas_dir, T, C),
        }
        for name, uncached in methods.items():
            log(f"{model}: {name}")
            runs = {}  # (T, C) -> result: the defaults' run is not repeated when the ladder made it
            def run(T, C, uncached=uncached, runs=runs):
                if (T, C) not in runs:
                    runs[(T, C)] = uncached(T, C)
                return dict(runs[(T, C)])
            tried, best = cheapest_accurate(run, truth["values"], args)
            entry[name] = {"runs": tried, "cheapest_accurate": best}
            if name.startswith("vigap"):
                entry[name]["defaults"] = scored(run(1000, 16), truth["values"], args.accuracy)
        reference = entry[f"pytorch-ais-linear[{blas_name}]"]["cheapest_accurate"]
        fastest = min((entry[m]["cheapest_accurate"] for m in ("vigap-ais-prior", "vigap-ais-encoder")
                       if entry[m]["cheapest_accurate"]), key=lambda r: r["seconds"], default=None)
        entry["speedup_vigap_over_reference"] = (reference["seconds"] / fastest["seconds"]
                                                 if reference and fastest else None)
        # The reference never reached the accuracy on the ladder: its longest run is a lower bound.
        longest = max(r["seconds"] for r in entry[f"pytorch-ais-linear[{blas_name}]"]["runs"])
        entry["speedup_lower_bound"] = longest / fastest["seconds"] if fastest and not reference else None
        entry["target_speedup"] = 10.0
        entry["target_met"] = bool((entry["speedup_vigap_over_reference"] or entry["speedup_lower_bound"] or 0) >= 10)
        table[model] = entry

    document = {"benchmark": "time to an accurate answer: log p(x) of the first N test points within the accuracy",
                "datapoints": args.datapoints, "accuracy_nats": args.accuracy, "threads": args.threads,
                "criterion": "|mean(estimate - truth)| + 2 SE <= accuracy", "reference_blas": blas_name,
                "environment": {"load_average_at_end": os.getloadavg(), "cpu_count": os.cpu_count()},
                "models": table}
    print_and_write(document, args.out)

    log(f"\n| model | method | cheapest accurate T, C | mean error ± SE | seconds | at defaults (T 1000, C 16) |")
    log("|---|---|---|---|---|---|")
    for model, e in table.items():
        for name in [k for k in e if k.startswith(("vigap", "pytorch"))]:
            best, default = e[name]["cheapest_accurate"], e[name].get("defaults")
            cheap = (f"{best['annealing_steps']}, {best['chains']} | {best['accuracy']['mean_error']:+.3f} ± "
                     f"{best['accuracy']['standard_error']:.3f} | {best['seconds']:.3f}") if best else "not reached | | "
            at_default = (f"{default['seconds']:.3f} s, error {default['accuracy']['mean_error']:+.3f}" if default else "")
            log(f"| {model} | {name} | {cheap} | {at_default} |")
        s, bound = e["speedup_vigap_over_reference"], e["speedup_lower_bound"]
        figure = f"{s:.1f}x" if s else (f"> {bound:.1f}x (the reference never reached it)" if bound else "n/a")
        log(f"| {model} | speedup to the same accuracy | {figure} (target 10x: "
            f"{'met' if e['target_met'] else 'MISSED'}) | | | |")


if __name__ == "__main__":
    main()
