#!/usr/bin/python3
"""PyTorch reference for the five workloads of bench/workloads.cpp (same models, data and settings),
written as a PyTorch expert would write them: batched (no Python loop over datapoints or chains),
torch.no_grad wherever no gradient is needed, autograd only for the gradients used, threads set.
One workload per process; prints one JSON object. bench/run_benchmark.py runs it under each BLAS
build Debian offers (LD_LIBRARY_PATH on the libblas.so.3 of scripts/install_bench_dependencies.sh)
and compares vigap with the fastest.

  training    one epoch of the 784-200-200-50 tanh Bernoulli VAE (batch 100, Adam 1e-3, dynamic
              binarization) on the 60,000 Fashion-MNIST training images;
  ais         AIS from the prior, 100 test points x 16 chains, T = 500 sigmoid schedule, HMC with
              L = 10 leapfrog steps, per-chain step size adapted toward acceptance 0.65;
  iwae        IWAE-5000 of 100 test points with the checkpoint's encoder, --iwae-chunk datapoints
              (default 4, 20,000 rows) per decoder call;
  quadrature  exact log p(x) of a 2-D-latent model on all 10,000 test points: the decoder once on the
              141 x 141 trapezoid grid on [-7, 7]^2 (vigap's coarse pass), one product with the data,
              logsumexp (vigap also refines where the coarse grid is not accurate enough);
  local-q     q* (diagonal Gaussian, from the encoder's q) of 100 test points, 500 Adam steps
              (lr 1e-2), S = 50 reparameterized samples, analytic KL.
  gemm        torch.mm throughput on the decoder's AIS-batch shape.
  ais-torchscript  the ais workload through a TorchScript decoder (--torchscript, e.g. the conv
              fixture of tests/support/make_torch_conv_fixture.py) on --data-dir's test images, with
              --chains, --ais-steps and --leapfrog-steps (bench/run_torchscript_benchmark.py).

Models are vigap checkpoints (safetensors; read with numpy, no extra package). Test images are
binarized at 0.5 as in bench/workloads.cpp. Run with Debian's interpreter (/usr/bin/python3).
"""
import argparse, gzip, json, math, os, resource, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_vae import VAE, load_images  # noqa: E402

LOG2PI = math.log(2 * math.pi)
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU}


def read_safetensors(path):
    """{name: float32 array} and the metadata of a safetensors file."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}, expected F32")
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=np.float32).reshape(info["shape"])
    return tensors, metadata


def mlp(sizes, activation):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def load_vae(path):
    """The checkpoint's encoder and decoder as nn.Sequential stacks (Linear layers at even indices)."""
    tensors, metadata = read_safetensors(path)
    arch = json.loads(metadata["architecture"])
    encoder = mlp([arch["data_dim"], *arch["encoder_hidden"], 2 * arch["latent_dim"]], arch["activation"])
    decoder = mlp([arch["latent_dim"], *arch["decoder_hidden"], arch["data_dim"]], arch["activation"])
    for prefix, net in (("encoder", encoder), ("decoder", decoder)):
        linears = [m for m in net if isinstance(m, nn.Linear)]
        for l, layer in enumerate(linears):
            layer.weight.data = torch.from_numpy(tensors[f"{prefix}.layers.{l}.weight"].copy())
            layer.bias.data = torch.from_numpy(tensors[f"{prefix}.layers.{l}.bias"].copy())
    return encoder, decoder, arch


def macs(sizes):
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def log_likelihood(decoder, x, z):
    """log p(x|z) summed over pixels; x broadcasts against z's leading dimensions."""
    logits = decoder(z)
    return -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)


def test_images(n):
    return (load_images("t10k-images-idx3-ubyte.gz")[:n] > 0.5).float()


def run_training(args):
    x_train = load_images("train-images-idx3-ubyte.gz")
    n = len(x_train)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start, total = time.perf_counter(), 0.0
    if args.examples:
        x_train, n = x_train[:args.examples], min(n, args.examples)
    for idx in torch.randperm(n).split(100):
        x = torch.bernoulli(x_train[idx])
        elbo = model.elbo(x)
        loss = -elbo.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += elbo.sum().item()
    seconds = time.perf_counter() - start
    enc, dec = [784, 200, 200, 100], [50, 200, 200, 784]
    flops = n * (3 * 2 * macs(dec) + 2 * (3 * macs(enc) - 784 * 200))
    return {"seconds": seconds, "examples": n, "examples_per_second": n / seconds, "flops": flops,
            "train_elbo": total / n}


def sigmoid_schedule(T, radius=4.0):
    t = torch.arange(T + 1, dtype=torch.float64) / T
    s = torch.sigmoid(radius * (2 * t - 1))
    betas = (s - s[0]) / (s[-1] - s[0])
    return betas.tolist()


def linear_schedule(T):
    return [k / T for k in range(T + 1)]


def annealed_importance_sampling(log_lik_and_grad, B, C, T, L, d, schedule="sigmoid"):
    """AIS from the prior on B datapoints x C chains (row b*C+c), sigmoid (or linear) schedule, one HMC
    transition of L leapfrog steps per intermediate distribution, the step size per chain adapted
    toward acceptance 0.65 (x1.02 / x0.98, clamped to [1e-4, 0.5]). log_lik_and_grad(z) returns
    log p(x|z) and its gradient for all B*C rows in one call. Returns log p̂(x) per datapoint."""
    betas = sigmoid_schedule(T) if schedule == "sigmoid" else linear_schedule(T)
    with torch.no_grad():
        z = torch.randn(B * C, d)
        ll, g_ll = log_lik_and_grad(z)
        log_w = torch.zeros(B * C, dtype=torch.float64)
        step = torch.full((B * C, 1), 0.01)
        accept_avg = torch.full((B * C,), 0.65)
        for k in range(1, T + 1):
            log_w += (betas[k] - betas[k - 1]) * ll.double()
            if k == T:
                break
            beta = betas[k]
            # one HMC transition targeting p(z) p(x|z)^beta
            p0 = torch.randn_like(z)
            grad = beta * g_ll - z
            energy0 = -(beta * ll - 0.5 * (z * z).sum(-1)) + 0.5 * (p0 * p0).sum(-1)
            z_new, p = z.clone(), p0 + 0.5 * step * grad
            for l in range(L):
                z_new = z_new + step * p
                ll_new, g_new = log_lik_and_grad(z_new)
                grad_new = beta * g_new - z_new
                p = p + (step if l + 1 < L else 0.5 * step) * grad_new
            energy1 = -(beta * ll_new - 0.5 * (z_new * z_new).sum(-1)) + 0.5 * (p * p).sum(-1)
            accept_prob = torch.exp(torch.clamp(energy0 - energy1, max=0.0))
            accept = torch.rand_like(accept_prob) < accept_prob
            z = torch.where(accept[:, None], z_new, z)
            ll = torch.where(accept, ll_new, ll)
            g_ll = torch.where(accept[:, None], g_new, g_ll)
            accept_avg = 0.9 * accept_avg + 0.1 * accept_prob
            step = torch.where(accept_avg[:, None] > 0.65, step * 1.02, step * 0.98).clamp(1e-4, 0.5)
        return torch.logsumexp(log_w.view(B, C), dim=1) - math.log(C)


def batched_log_lik_and_grad(decoder, x):
    """log p(x|z) for the rows of x and z and its gradient in z, one decoder call: autograd only
    for ∇z (the decoder's parameters must not require gradients). Counts the rows it evaluates."""
    def call(z):
        with torch.enable_grad():
            z = z.detach().requires_grad_(True)
            ll = log_likelihood(decoder, x, z)
            (g,) = torch.autograd.grad(ll.sum(), z)
        call.rows += z.shape[0]
        return ll.detach(), g
    call.rows = 0
    return call


def run_ais(args):
    _, decoder, arch = load_vae(args.checkpoint)
    decoder.requires_grad_(False)
    B, C, T, L, d = args.datapoints or 100, args.chains, args.ais_steps, 10, arch["latent_dim"]
    x = test_images(B).repeat_interleave(C, dim=0)  # (B*C, 784): chain c of datapoint b at row b*C+c
    f = batched_log_lik_and_grad(decoder, x)
    start = time.perf_counter()
    log_px = annealed_importance_sampling(f, B, C, T, L, d, args.schedule)
    seconds = time.perf_counter() - start
    flops = f.rows * 2 * 2 * macs([d, *arch["decoder_hidden"], 784])
    result = {"seconds": seconds, "seconds_per_datapoint": seconds / B, "decoder_forward_backward_rows": f.rows,
              "rows_per_second": f.rows / seconds, "flops": flops, "mean_log_px": log_px.mean().item(),
              "datapoints": B, "chains": C, "annealing_steps": T, "leapfrog_steps": L, "schedule": args.schedule}
    if args.per_datapoint:
        result["per_datapoint"] = log_px.tolist()
    return result


def idx_test_images(directory, n):
    """The first n images of <directory>/t10k-images-idx3-ubyte (raw or .gz), binarized at 0.5."""
    path = os.path.join(directory, "t10k-images-idx3-ubyte")
    opener = open if os.path.exists(path) else gzip.open
    with opener(path if os.path.exists(path) else path + ".gz", "rb") as f:
        pixels = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    images = torch.from_numpy(pixels.reshape(-1, 784)[:n].astype(np.float32) / 255.0)
    if images.shape[0] < n:
        raise ValueError(f"{path}: {images.shape[0]} images, --datapoints asks for {n}")
    return (images > 0.5).float()


def run_ais_torchscript(args):
    """AIS from the prior through a TorchScript decoder (B x d latents -> B x 784 Bernoulli logits),
    torch.jit.load'ed as vigap loads it; its parameters do not require gradients."""
    decoder = torch.jit.load(args.torchscript)
    decoder.eval()
    for parameter in decoder.parameters():
        parameter.requires_grad_(False)
    B, C, T, L, d = args.datapoints or 20, args.chains, args.ais_steps, args.leapfrog_steps, args.latent_dim
    x = idx_test_images(args.data_dir, B).repeat_interleave(C, dim=0)
    f = batched_log_lik_and_grad(decoder, x)
    start = time.perf_counter()
    log_px = annealed_importance_sampling(f, B, C, T, L, d)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "seconds_per_datapoint": seconds / B, "decoder_forward_backward_rows": f.rows,
            "rows_per_second": f.rows / seconds, "flops": None, "mean_log_px": log_px.mean().item(),
            "datapoints": B, "chains": C, "annealing_steps": T, "leapfrog_steps": L}


def run_iwae(args):
    """IWAE-K of B test points, --iwae-chunk datapoints (K x chunk rows) per decoder call."""
    encoder, decoder, arch = load_vae(args.checkpoint)
    B, K, d, chunk = args.datapoints or 100, args.iwae_samples, arch["latent_dim"], args.iwae_chunk
    x_all = test_images(B)
    start = time.perf_counter()
    values = []
    with torch.no_grad():
        for x in x_all.split(chunk):  # (b, 784) -> K x b x 784 logits per call
            mu, logvar = encoder(x).chunk(2, dim=-1)
            eps = torch.randn(K, *mu.shape)
            z = mu + torch.exp(0.5 * logvar) * eps
            log_q = -0.5 * (LOG2PI + logvar + eps.pow(2)).sum(-1)
            log_p_z = -0.5 * (LOG2PI + z.pow(2)).sum(-1)
            log_w = log_likelihood(decoder, x, z) + log_p_z - log_q
            values.append(torch.logsumexp(log_w.double(), dim=0) - math.log(K))
    values = torch.cat(values)
    seconds = time.perf_counter() - start
    rows = B * K
    return {"seconds": seconds, "decoder_forward_rows": rows, "rows_per_second": rows / seconds,
            "flops": rows * 2 * macs([d, *arch["decoder_hidden"], 784]), "mean_iwae": values.mean().item(),
            "datapoints": B, "datapoints_per_call": chunk}


def run_quadrature(args):
    """Exact log p(x) of a 2-D-latent model on the 141 x 141 trapezoid grid on [-7, 7]^2 (vigap's coarse
    pass): the decoder once on the grid (it does not depend on x), then for all datapoints at once
    log p(x|z) = x·L - Σ softplus(L) as one product, and logsumexp over the grid."""
    _, decoder, arch = load_vae(args.checkpoint)
    if arch["latent_dim"] != 2:
        raise ValueError("quadrature workload needs a 2-D-latent checkpoint")
    B = args.datapoints or 10000
    x_all = test_images(B)
    nodes = torch.linspace(-7.0, 7.0, 141)
    h = float(nodes[1] - nodes[0])
    w1 = torch.full((141,), h)
    w1[0] = w1[-1] = h / 2
    z1, z2 = torch.meshgrid(nodes, nodes, indexing="ij")
    grid = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)
    log_weights = (torch.log(w1)[:, None] + torch.log(w1)[None, :]).reshape(-1)
    log_prior = -0.5 * (LOG2PI * 2 + (grid * grid).sum(-1))
    start = time.perf_counter()
    with torch.no_grad():
        logits = decoder(grid)                                   # (G, 784)
        offset = (log_weights + log_prior - F.softplus(logits).sum(-1)).double()  # (G,)
        values = torch.cat([torch.logsumexp(torch.mm(x, logits.t()).double() + offset, dim=1)
                            for x in x_all.split(1000)])          # (B,), 1000 x G per product
    seconds = time.perf_counter() - start
    G = grid.shape[0]
    flops = G * 2 * macs([2, *arch["decoder_hidden"], 784]) + 2 * 784 * G * B
    return {"seconds": seconds, "datapoints": B, "seconds_per_datapoint": seconds / B, "grid_nodes": G,
            "decoder_forward_rows": G, "flops": flops, "mean_log_px": values.mean().item()}


def run_local_q(args):
    encoder, decoder, arch = load_vae(args.checkpoint)
    decoder.requires_grad_(False)
    B, S, steps, d = args.datapoints or 100, 50, args.local_steps, arch["latent_dim"]
    x = test_images(B)
    with torch.no_grad():
        mu0, logvar0 = encoder(x).chunk(2, dim=-1)
    mu = mu0.clone().requires_grad_(True)
    logvar = logvar0.clone().requires_grad_(True)
    opt = torch.optim.Adam([mu, logvar], lr=1e-2)
    start = time.perf_counter()
    for _ in range(steps):
        eps = torch.randn(S, B, d)
        z = mu + torch.exp(0.5 * logvar) * eps
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)
        elbo = log_likelihood(decoder, x, z).mean(0) - kl
        loss = -elbo.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - start
    rows = B * S * steps
    return {"seconds": seconds, "steps": steps, "decoder_forward_backward_rows": rows,
            "rows_per_second": rows / seconds, "flops": rows * 2 * 2 * macs([d, *arch["decoder_hidden"], 784]),
            "mean_final_elbo": elbo.mean().item(), "datapoints": B}


def run_gemm(args):
    a, b = torch.randn(1600, 200), torch.randn(200, 784)  # (784 x 200)(200 x 1600) as row-major
    flops = 2 * 784 * 200 * 1600
    a @ b
    best = float("inf")
    for _ in range(5):
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < 0.2:
            torch.mm(a, b)
            calls += 1
        best = min(best, (time.perf_counter() - start) / calls)
    return {"seconds": best, "flops": flops, "reference_gflops_per_second": flops / best / 1e9}


def loaded_blas():
    """The BLAS shared objects this process has mapped (which LD_LIBRARY_PATH's libblas.so.3 won)."""
    with open("/proc/self/maps") as f:
        names = {line.split()[-1] for line in f if line.rstrip().endswith(".so") or ".so." in line}
    return sorted(n for n in names if any(k in os.path.basename(n) for k in ("blas", "blis", "mkl")))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", required=True,
                   choices=["training", "ais", "iwae", "quadrature", "local-q", "gemm", "ais-torchscript"])
    p.add_argument("--checkpoint")
    p.add_argument("--datapoints", type=int, default=0)
    p.add_argument("--ais-steps", type=int, default=500)
    p.add_argument("--iwae-samples", type=int, default=5000)
    p.add_argument("--iwae-chunk", type=int, default=4, help="iwae: datapoints per decoder call")
    p.add_argument("--examples", type=int, default=0, help="training: the first N training images (default all)")
    p.add_argument("--local-steps", type=int, default=500)
    p.add_argument("--torchscript", help="ais-torchscript: the decoder (torch.jit.save file)")
    p.add_argument("--data-dir", help="ais-torchscript: directory of t10k-images-idx3-ubyte")
    p.add_argument("--latent-dim", type=int, default=2, help="ais-torchscript: the decoder's latent dimension")
    p.add_argument("--chains", type=int, default=16, help="ais, ais-torchscript: chains per datapoint")
    p.add_argument("--schedule", choices=["sigmoid", "linear"], default="sigmoid",
                   help="ais: the annealing schedule (linear: beta_k = k / T, as BDMC's and Cremer et al.'s code)")
    p.add_argument("--per-datapoint", action="store_true", help="ais: also print each datapoint's log p(x) estimate")
    p.add_argument("--leapfrog-steps", type=int, default=10, help="ais-torchscript: L")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    if args.workload == "ais-torchscript":
        if not args.torchscript or not args.data_dir:
            p.error("--torchscript and --data-dir are required for workload ais-torchscript")
    elif args.workload not in ("training", "gemm") and not args.checkpoint:
        p.error(f"--checkpoint is required for workload {args.workload}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    runner = {"training": run_training, "ais": run_ais, "iwae": run_iwae, "quadrature": run_quadrature,
              "local-q": run_local_q, "gemm": run_gemm, "ais-torchscript": run_ais_torchscript}[args.workload]
    result = runner(args)
    result["gflops_per_second"] = result["flops"] / result["seconds"] / 1e9 if result["flops"] else None
    result.update({"implementation": "pytorch", "workload": args.workload, "threads": args.threads,
                   "torch_version": torch.__version__, "blas_libraries": loaded_blas(),
                   "peak_resident_megabytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
