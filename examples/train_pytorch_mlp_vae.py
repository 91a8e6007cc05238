#!/usr/bin/python3
"""A VAE trained the way a PyTorch research codebase trains one, to bring into vigap.

The architecture is Cremer, Li & Duvenaud's (2018) MNIST VAE written as their code names it:
fc1, fc2, fc3 (784-200-200-2d, the last layer split in halves into mean and log-variance),
fc4, fc5, fc6 (d-200-200-784, Bernoulli logits), ELU, trained with Adam on the ELBO with
dynamic binarization (each pixel a Bernoulli draw of its intensity, fresh every batch).

Usage:
  /usr/bin/python3 examples/train_pytorch_mlp_vae.py --out vae.pt [--latent-dim 20] [--epochs 10]
      [--data-dir /usr/share/datasets/fashion-mnist] [--threads 2] [--seed 0]

It reads the IDX files of the training split (the data of scripts/install_dependencies.sh),
ends with torch.save(model.state_dict(), out), the line a training script ends with, and prints
its own test ELBO (one dynamic binarization of the test split, one sample of z per image) to
compare with vigap's. Then (README, "Bring a VAE trained in PyTorch"):

  build/bin/vigap-import --input vae.pt --checkpoint vae.safetensors \\
      --encoder fc1,fc2,fc3 --decoder fc4,fc5,fc6 --activation elu --binarization dynamic
  build/bin/vigap-evaluate --checkpoint vae.safetensors --estimators elbo,iwae,ais --iwae-k 5000 \\
      --num-datapoints 100 --out eval.json
"""
import argparse
import gzip
import math
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class VAE(nn.Module):
    def __init__(self, latent_dim, hidden=200, pixels=784):
        super().__init__()
        self.latent_dim = latent_dim
        self.fc1 = nn.Linear(pixels, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, 2 * latent_dim)
        self.fc4 = nn.Linear(latent_dim, hidden)
        self.fc5 = nn.Linear(hidden, hidden)
        self.fc6 = nn.Linear(hidden, pixels)

    def encode(self, x):
        h = self.fc3(F.elu(self.fc2(F.elu(self.fc1(x)))))
        return h[:, : self.latent_dim], h[:, self.latent_dim :]  # mean, log-variance

    def decode(self, z):
        return self.fc6(F.elu(self.fc5(F.elu(self.fc4(z)))))  # Bernoulli logits

    def elbo(self, x):
        """One-sample ELBO per image: E_q[log p(x|z)] - KL(q(z|x) || N(0, I)), the KL analytic."""
        mean, log_variance = self.encode(x)
        z = mean + torch.exp(0.5 * log_variance) * torch.randn_like(mean)
        log_likelihood = -F.binary_cross_entropy_with_logits(self.decode(z), x, reduction="none").sum(1)
        kl = 0.5 * (mean.pow(2) + log_variance.exp() - 1.0 - log_variance).sum(1)
        return log_likelihood - kl


def read_idx_images(path):
    """An IDX3 file (gzipped or not) as a float32 N x 784 tensor of intensities in [0, 1]."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 2051:
            sys.exit("%s: expected an IDX3 image file (magic 2051), found magic %d" % (path, magic))
        data = f.read(count * rows * cols)
    if len(data) != count * rows * cols:
        sys.exit("%s: expected %d pixels, found %d (truncated file)" % (path, count * rows * cols, len(data)))
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).view(count, rows * cols).float() / 255.0


def find_split(data_dir, prefix):
    for name in (prefix + "-images-idx3-ubyte.gz", prefix + "-images-idx3-ubyte"):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            return path
    sys.exit("%s: no %s-images-idx3-ubyte[.gz] (run scripts/install_dependencies.sh)" % (data_dir, prefix))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="where torch.save writes the state_dict")
    parser.add_argument("--latent-dim", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.latent_dim < 1 or args.epochs < 1 or args.batch_size < 1 or args.threads < 1:
        sys.exit("--latent-dim, --epochs, --batch-size and --threads must be >= 1")
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    train = read_idx_images(find_split(args.data_dir, "train"))
    test = read_idx_images(find_split(args.data_dir, "t10k"))
    model = VAE(args.latent_dim)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    start = time.time()
    for epoch in range(args.epochs):
        order = torch.randperm(train.shape[0])
        total = 0.0
        for i in range(0, train.shape[0], args.batch_size):
            x = torch.bernoulli(train[order[i : i + args.batch_size]])  # dynamic binarization
            loss = -model.elbo(x).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total -= loss.item() * x.shape[0]
        print("epoch %d: train ELBO %.3f (%.0f s)" % (epoch + 1, total / train.shape[0], time.time() - start),
              file=sys.stderr)
    with torch.no_grad():
        test_elbo = model.elbo(torch.bernoulli(test)).mean().item()
    print("test ELBO (PyTorch, one binarization, one sample): %.3f" % test_elbo)
    torch.save(model.state_dict(), args.out)
    print("state_dict: %s" % args.out)


if __name__ == "__main__":
    main()
