#!/usr/bin/python3
"""Scaling of vigap-gap-table over MPI ranks on this machine (see scripts/run_bench.sh and the
README's "Cost model"): the same gap table (log p(x) by AIS, one q* family with a small budget) on
--datapoints test points under `mpirun -np 1` and `mpirun -np 2`, one thread per rank (--threads
1), in alternating order, --repetitions times each, one job per run.

Per rank count it reports, as median, min and max over the repetitions:
  datapoints_per_second           N / wall seconds of the block run (rank 0's execution.wall_seconds)
  datapoints_per_second_per_rank  the same divided by the ranks
  compute_share                   Σ_r seconds inside a block's computation / (ranks · wall)
  communication_share             the workers' seconds inside MPI calls (sending, receiving and
                                  waiting for a block) / ((ranks - 1) · wall); 0 for one rank
and efficiency_1_to_2 = throughput_2 / (2 · throughput_1) from the medians.

AIS throughput (from the one-rank runs): seconds of AIS per datapoint (timings.log_px_seconds / N,
one thread) and decoder evaluations per second, where a decoder evaluation is what the AIS
estimator counts in results.log_px.settings.gradient_evaluations: one forward and backward pass of
the decoder on one latent column (log p(x|z) and its gradient), pilot run included. The nominal
count chains · T · (leapfrog + 1) per datapoint (10 leapfrog steps, the gap table's) is given
beside it.

Cost model: the AIS seconds per datapoint at (T, chains) scaled linearly to Cremer et al.'s
protocol (T = 10,000, 100 chains, 10 leapfrog steps) and to 10,000 test images, run as two ranks
per node (two cores, one thread each) at the measured 1 -> 2 efficiency: node-hours, and the
nodes of this machine's kind that finish in 12 hours. Only AIS is scaled (the protocol's q* fits
and ELBOs are extra).

Prints one JSON document (also written to --out). Run it on an otherwise idle machine: the figures
are timings.
"""
import argparse, json, math, os, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_benchmark import ROOT, log, positive, print_and_write, summary  # noqa: E402

GAP_TABLE = os.path.join(ROOT, "build", "bin", "vigap-gap-table")
PROTOCOL = {"ais_steps": 10000, "ais_chains": 100, "leapfrog_steps": 10, "test_images": 10000, "hours": 12}
LEAPFROG_STEPS = 10  # vigap-gap-table's AIS transitions


def run_gap_table(args, ranks, out):
    """One job of `ranks` ranks; returns its JSON document and the job's own seconds."""
    mpirun = [args.mpirun, "--oversubscribe", "--bind-to", "none", "-np", str(ranks)]
    if os.geteuid() == 0:
        mpirun.insert(1, "--allow-run-as-root")
    command = mpirun + [GAP_TABLE, "--checkpoint", args.checkpoint, "--num-datapoints", str(args.datapoints),
                        "--first-datapoint", str(args.first_datapoint), "--block-size", str(args.block_size),
                        "--threads", "1", "--seed", "1", "--log-px", "ais", "--ais-steps", str(args.ais_steps),
                        "--ais-chains", str(args.ais_chains), "--families", "ffg",
                        "--qstar-max-steps", str(args.qstar_max_steps), "--eval-samples", str(args.eval_samples),
                        "--out", out]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    with open(out) as f:
        document = json.load(f)
    os.remove(out)
    return document, seconds


def figures(document, ranks, job_seconds):
    execution = document["execution"]
    if execution["ranks"] != ranks:
        raise RuntimeError(f"asked for {ranks} ranks, the run reports {execution['ranks']}")
    n = document["results"]["log_px"]["num_datapoints"]
    wall = execution["wall_seconds"]
    ais_seconds = document["timings"]["log_px_seconds"]
    evaluations = document["results"]["log_px"]["settings"]["gradient_evaluations"]
    return {"datapoints_per_second": n / wall, "datapoints_per_second_per_rank": n / wall / ranks,
            "wall_seconds": wall, "job_seconds": job_seconds,
            "compute_share": execution["compute_share"], "communication_share": execution["communication_share"],
            "ais_seconds_per_datapoint": ais_seconds / n, "decoder_evaluations": evaluations,
            "decoder_evaluations_per_second": evaluations / ais_seconds, "per_rank": execution["per_rank"]}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="a z = 50 vigap checkpoint (results/bench/vae-z50.safetensors)")
    p.add_argument("--data-dir", help="Fashion-MNIST directory (default: vigap-gap-table's)")
    p.add_argument("--datapoints", type=positive, default=8)
    p.add_argument("--first-datapoint", type=int, default=0)
    p.add_argument("--block-size", type=positive, default=1, help="datapoints per block handed to a rank")
    p.add_argument("--ais-steps", type=positive, default=200, help="T of the measured AIS (scaled to 10,000)")
    p.add_argument("--ais-chains", type=positive, default=100,
                   help="chains of the measured AIS (scaled to 100); 100, the protocol's, keeps its batch width "
                        "(16 chains in blocks of one datapoint run the decoder at half the throughput)")
    p.add_argument("--qstar-max-steps", type=positive, default=100, help="budget of the q*_FFG row (not scaled)")
    p.add_argument("--eval-samples", type=positive, default=100)
    p.add_argument("--repetitions", type=positive, default=3)
    p.add_argument("--mpirun", default="mpirun")
    p.add_argument("--out", help="also write the JSON here")
    args = p.parse_args()
    if args.datapoints < 2 * args.block_size:
        p.error(f"--datapoints {args.datapoints} gives fewer than 2 blocks of --block-size {args.block_size}: "
                "the second rank would idle")

    runs = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="vigap-mpi-scaling-") as scratch:
        for r in range(args.repetitions):
            for ranks in ((1, 2) if r % 2 == 0 else (2, 1)):
                document, seconds = run_gap_table(args, ranks, os.path.join(scratch, f"gap-{ranks}.json"))
                f = figures(document, ranks, seconds)
                runs[ranks].append(f)
                log(f"{ranks} rank(s), repetition {r + 1}: {f['datapoints_per_second_per_rank']:.4g} datapoints/s "
                    f"per rank, compute share {f['compute_share']:.3f}, communication share "
                    f"{f['communication_share']:.4f}, AIS {f['ais_seconds_per_datapoint']:.4g} s/datapoint")

    table = {}
    for ranks, rs in runs.items():
        table[f"{ranks}_ranks"] = {key: summary([x[key] for x in rs]) for key in (
            "datapoints_per_second", "datapoints_per_second_per_rank", "wall_seconds", "job_seconds",
            "compute_share", "communication_share", "ais_seconds_per_datapoint", "decoder_evaluations_per_second")}
        table[f"{ranks}_ranks"]["per_rank_of_first_run"] = rs[0]["per_rank"]
    throughput = {ranks: table[f"{ranks}_ranks"]["datapoints_per_second"]["median"] for ranks in runs}
    efficiency = throughput[2] / (2 * throughput[1])

    ais_seconds = table["1_ranks"]["ais_seconds_per_datapoint"]["median"]
    scale = (PROTOCOL["ais_steps"] / args.ais_steps) * (PROTOCOL["ais_chains"] / args.ais_chains)
    protocol_seconds = ais_seconds * scale  # one datapoint, one thread
    node_rate = 2 * efficiency / protocol_seconds  # datapoints per second on one 2-core node, 2 ranks
    node_hours = PROTOCOL["test_images"] / node_rate / 3600
    document = {
        "benchmark": "mpi_scaling",
        "workload": {"binary": "vigap-gap-table", "checkpoint": os.path.abspath(args.checkpoint),
                     "datapoints": args.datapoints, "block_size": args.block_size, "threads_per_rank": 1,
                     "log_px": "ais", "ais_steps": args.ais_steps, "ais_chains": args.ais_chains,
                     "leapfrog_steps": LEAPFROG_STEPS, "families": "ffg", "qstar_max_steps": args.qstar_max_steps,
                     "eval_samples": args.eval_samples, "repetitions": args.repetitions},
        "environment": {"cpu_count": os.cpu_count(), "load_average_at_end": os.getloadavg()},
        "ranks": table,
        "efficiency_1_to_2": efficiency,
        "ais": {"seconds_per_datapoint": ais_seconds,
                "decoder_evaluations_per_second": table["1_ranks"]["decoder_evaluations_per_second"]["median"],
                "decoder_evaluation": "one decoder forward and backward pass on one latent column (log p(x|z) and "
                                      "its gradient), as counted by the AIS estimator (pilot run included)",
                "nominal_decoder_evaluations_per_datapoint": args.ais_chains * args.ais_steps * (LEAPFROG_STEPS + 1),
                "measured_decoder_evaluations_per_datapoint": runs[1][0]["decoder_evaluations"] / args.datapoints},
        "cost_model": {"protocol": PROTOCOL, "scale_from_measured_ais": scale,
                       "ais_seconds_per_datapoint_one_thread": protocol_seconds,
                       "node": "this machine: 2 ranks of 1 thread", "node_datapoints_per_hour": node_rate * 3600,
                       "node_hours": node_hours, "nodes_for_12_hours": math.ceil(node_hours / PROTOCOL["hours"])},
    }
    print_and_write(document, args.out)
    log(f"\nthroughput per rank: 1 rank {throughput[1]:.4g}/s, 2 ranks {throughput[2] / 2:.4g}/s; efficiency 1 -> 2 "
        f"{efficiency:.3f}; communication share (2 ranks) {table['2_ranks']['communication_share']['median']:.4f}")
    log(f"AIS: {ais_seconds:.4g} s/datapoint at T={args.ais_steps}, {args.ais_chains} chains; "
        f"{document['ais']['decoder_evaluations_per_second']:.4g} decoder evaluations/s")
    log(f"cost model: {protocol_seconds:.4g} s/datapoint at T=10000, 100 chains; {node_hours:.4g} node-hours for "
        f"10,000 images; {document['cost_model']['nodes_for_12_hours']} nodes finish in 12 h")


if __name__ == "__main__":
    main()
