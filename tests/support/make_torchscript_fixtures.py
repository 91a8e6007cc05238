#!/usr/bin/python3
"""Test fixtures of the TorchScript backend, built at test time with Debian's python3-torch (run as
/usr/bin/python3): an MLP VAE on 28 x 28 images with a 2-D latent, written the way a PyTorch user
writes one, saved three ways, plus the modules the bad-input tests need.

Usage: make_torchscript_fixtures.py <output directory>

Writes into the directory:
  vae.pt                 torch.save(model.state_dict())  (vigap-import --input, natively)
  decoder.pt             torch.jit.script(Decoder): forward(z) -> Bernoulli logits [N, 784]
  decoder_method.pt      torch.jit.script(DecoderWithLikelihood): log_likelihood(x, z) -> [N], its own
                         Bernoulli log-likelihood written with binary_cross_entropy_with_logits
  encoder.pt             torch.jit.script(Encoder): forward(x) -> (mean, log-variance), a tuple
  encoder_split.pt       the same encoder returning one [N, 4] tensor (mean, then log-sd halves)
  wrong_shape.pt         forward(z) -> [N, 783]
  nan_for_large_z.pt     forward(z) -> logits, NaN in the rows where z[:, 0] > 1
  conv_decoder.pt        an untrained transposed-convolution decoder, forward(z) -> logits [N, 1, 28, 28]
                         (for the position-independence check of LibTorch's convolution kernels)
  newer_format.pt        decoder.pt with its version record set to 99 (as a newer PyTorch may write)
and reference.json: the vigap-import options of vae.pt.
"""
import json
import os
import sys
import zipfile

import torch
import torch.nn as nn
import torch.nn.functional as F


class Vae(nn.Module):
    def __init__(self, data_dim=784, hidden=64, latent_dim=2):
        super().__init__()
        self.enc1 = nn.Linear(data_dim, hidden)
        self.enc2 = nn.Linear(hidden, 2 * latent_dim)
        self.dec1 = nn.Linear(latent_dim, hidden)
        self.dec2 = nn.Linear(hidden, data_dim)

    def encode(self, x):
        mu, log_var = self.enc2(torch.tanh(self.enc1(x))).chunk(2, dim=-1)
        return mu, log_var

    def decode(self, z):
        return self.dec2(torch.tanh(self.dec1(z)))


class Decoder(nn.Module):
    def __init__(self, vae: Vae):
        super().__init__()
        self.dec1 = vae.dec1
        self.dec2 = vae.dec2

    def forward(self, z):
        return self.dec2(torch.tanh(self.dec1(z)))


class DecoderWithLikelihood(Decoder):
    @torch.jit.export
    def log_likelihood(self, x, z):
        logits = self.forward(z)
        return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


class Encoder(nn.Module):
    def __init__(self, vae: Vae):
        super().__init__()
        self.enc1 = vae.enc1
        self.enc2 = vae.enc2

    def forward(self, x):
        mu, log_var = self.enc2(torch.tanh(self.enc1(x))).chunk(2, dim=-1)
        return mu, log_var


class SplitLogSdEncoder(Encoder):
    def forward(self, x):
        mu, log_var = self.enc2(torch.tanh(self.enc1(x))).chunk(2, dim=-1)
        return torch.cat([mu, 0.5 * log_var], dim=-1)


class WrongShape(Decoder):
    def forward(self, z):
        return self.dec2(torch.tanh(self.dec1(z)))[:, 1:]


class NanForLargeZ(Decoder):
    def forward(self, z):
        logits = self.dec2(torch.tanh(self.dec1(z)))
        bad = (z[:, 0] > 1.0).unsqueeze(1).expand_as(logits)
        return torch.where(bad, torch.full_like(logits, float("nan")), logits)


class ConvDecoder(nn.Module):
    def __init__(self, latent_dim=2):
        super().__init__()
        self.fc = nn.Linear(latent_dim, 32 * 7 * 7)
        self.up1 = nn.ConvTranspose2d(32, 16, kernel_size=4, stride=2, padding=1)
        self.up2 = nn.ConvTranspose2d(16, 1, kernel_size=4, stride=2, padding=1)

    def forward(self, z):
        h = F.relu(self.fc(z)).view(-1, 32, 7, 7)
        return self.up2(F.relu(self.up1(h)))


def rewrite_version(source, target, version):
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith("/version"):
                data = (str(version) + "\n").encode()
            zout.writestr(item, data)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(20261201)
    vae = Vae()
    with torch.no_grad():  # a decoder with structure: logits of a few nats, a posterior narrower than the prior
        vae.dec1.weight.mul_(3.0)
        vae.dec2.weight.mul_(4.0)
    vae.eval()
    torch.save(vae.state_dict(), os.path.join(out, "vae.pt"))
    for name, module in [("decoder", Decoder(vae)), ("decoder_method", DecoderWithLikelihood(vae)),
                         ("encoder", Encoder(vae)), ("encoder_split", SplitLogSdEncoder(vae)),
                         ("wrong_shape", WrongShape(vae)), ("nan_for_large_z", NanForLargeZ(vae)),
                         ("conv_decoder", ConvDecoder())]:
        torch.jit.save(torch.jit.script(module.eval()), os.path.join(out, name + ".pt"))
    rewrite_version(os.path.join(out, "decoder.pt"), os.path.join(out, "newer_format.pt"), 99)
    reference = {"import_options": "--encoder enc1,enc2 --decoder dec1,dec2 --activation tanh --encoder-head split "
                                   "--encoder-scale log-variance --likelihood bernoulli --binarization dynamic",
                 "torch_version": torch.__version__}
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)


if __name__ == "__main__":
    main()
