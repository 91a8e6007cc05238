#!/usr/bin/python3
"""Plain PyTorch reference VAE on Fashion-MNIST (784-200-200-50, tanh, Bernoulli decoder).

Run with Debian's interpreter: /usr/bin/python3 bench/reference/pytorch_vae.py --out results.json
Encoder: one Linear(200, 100) head whose output is split into (mean, log-variance).
"""
import argparse, ctypes, gzip, json, math, os, re, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = "/usr/share/datasets/fashion-mnist"
LOG2PI = math.log(2 * math.pi)


def load_images(name):
    with gzip.open(os.path.join(DATA_DIR, name), "rb") as f:
        pixels = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    return torch.from_numpy(pixels.reshape(-1, 784).astype(np.float32) / 255.0)


class VAE(nn.Module):
    def __init__(self, x_dim=784, h_dim=200, z_dim=50):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(x_dim, h_dim), nn.Tanh(), nn.Linear(h_dim, h_dim),
                                     nn.Tanh(), nn.Linear(h_dim, 2 * z_dim))
        self.decoder = nn.Sequential(nn.Linear(z_dim, h_dim), nn.Tanh(), nn.Linear(h_dim, h_dim),
                                     nn.Tanh(), nn.Linear(h_dim, x_dim))

    def encode(self, x):
        return self.encoder(x).chunk(2, dim=-1)  # mean, log-variance

    def log_lik(self, x, z):  # log p(x|z), summed over pixels
        return -F.binary_cross_entropy_with_logits(self.decoder(z), x, reduction="none").sum(-1)

    def elbo(self, x):
        """Per-datapoint ELBO with one reparameterized sample and analytic KL to N(0, I)."""
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)
        return self.log_lik(x, z) - kl

    def iwae(self, x, k):
        """log (1/K) sum_k p(x, z_k) / q(z_k|x), z_k ~ q(z|x)."""
        mu, logvar = self.encode(x)
        eps = torch.randn(k, *mu.shape)
        z = mu + torch.exp(0.5 * logvar) * eps                       # (K, B, z_dim)
        log_q = -0.5 * (LOG2PI + logvar + eps.pow(2)).sum(-1)
        log_p_z = -0.5 * (LOG2PI + z.pow(2)).sum(-1)
        log_w = self.log_lik(x.expand(k, *x.shape), z) + log_p_z - log_q
        return torch.logsumexp(log_w, dim=0) - math.log(k)


def blas_info():
    settings = dict(re.findall(r"(\w+)=([^,\s]*)", torch.__config__.show()))
    info = {k: settings.get(k) for k in ("BLAS_INFO", "LAPACK_INFO", "USE_MKLDNN", "USE_OPENMP")}
    with open("/proc/self/maps") as f:  # which BLAS shared objects are actually loaded
        libs = sorted({l.split()[-1] for l in f if "blas" in l or "lapack" in l})
    info["loaded_libraries"] = libs
    openblas = [l for l in libs if "libopenblas" in l]
    if openblas:
        lib = ctypes.CDLL(openblas[0])
        lib.openblas_get_config.restype = ctypes.c_char_p
        info["openblas_config"] = lib.openblas_get_config().decode()
        info["openblas_num_threads"] = lib.openblas_get_num_threads()
    return info


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--train-size", type=int, default=60000)
    p.add_argument("--out", help="write results JSON here (default: stdout)")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_train = load_images("train-images-idx3-ubyte.gz")[: args.train_size]
    x_test = load_images("t10k-images-idx3-ubyte.gz")
    n = len(x_train)

    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    epochs = []
    for epoch in range(1, args.epochs + 1):
        start, total = time.perf_counter(), 0.0
        for idx in torch.randperm(n).split(args.batch_size):
            x = torch.bernoulli(x_train[idx])  # dynamic binarization, fresh every epoch
            elbo = model.elbo(x)
            loss = -elbo.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += elbo.sum().item()
        secs = time.perf_counter() - start
        epochs.append({"epoch": epoch, "train_elbo": total / n, "seconds": secs,
                       "examples_per_second": n / secs})
        print(f"epoch {epoch:3d}  train ELBO {total / n:9.3f}  {secs:7.2f} s  "
              f"{n / secs:8.0f} ex/s", file=sys.stderr, flush=True)

    model.eval()
    torch.manual_seed(1234)  # fixed test binarization and evaluation noise
    with torch.no_grad():
        x_bin = torch.bernoulli(x_test)
        test_elbo = torch.cat([model.elbo(x) for x in x_bin.split(1000)])
        iwae = torch.cat([model.iwae(x, 100) for x in x_bin[:1000].split(100)])
    elbo_mean, elbo_se = test_elbo.mean().item(), (test_elbo.std() / len(test_elbo) ** 0.5).item()
    iwae_mean, iwae_se = iwae.mean().item(), (iwae.std() / len(iwae) ** 0.5).item()
    print(f"test ELBO {elbo_mean:.3f} +- {elbo_se:.3f} (n={len(test_elbo)})  "
          f"IWAE-100 {iwae_mean:.3f} +- {iwae_se:.3f} (n={len(iwae)})", file=sys.stderr)

    result = {
        "config": vars(args) | {"architecture": "784-200-200-50 tanh, Bernoulli decoder",
                                "encoder_head": "single Linear(200,100) split into mean/logvar"},
        "epochs": epochs,
        "train_elbo": [e["train_elbo"] for e in epochs],
        "seconds_per_epoch": [e["seconds"] for e in epochs],
        "examples_per_second": [e["examples_per_second"] for e in epochs],
        "median_examples_per_second": float(np.median([e["examples_per_second"] for e in epochs])),
        "total_train_seconds": sum(e["seconds"] for e in epochs),
        "test_elbo": {"mean": elbo_mean, "se": elbo_se, "n": len(test_elbo)},
        "test_iwae100": {"mean": iwae_mean, "se": iwae_se, "n": len(iwae), "k": 100},
        "torch_version": torch.__version__,
        "threads": {"torch": torch.get_num_threads(), "interop": torch.get_num_interop_threads()},
        "blas": blas_info(),
        "load_average": os.getloadavg(),
    }
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
