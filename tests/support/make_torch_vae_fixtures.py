#!/usr/bin/python3
"""Test fixtures of vigap-import, built at test time with Debian's python3-torch (run as
/usr/bin/python3): MLP VAEs written the way a PyTorch user writes them, their state_dicts saved
with torch.save and as safetensors, and PyTorch's own figures (float64) to compare against.

Usage: make_torch_vae_fixtures.py <output directory>

Writes into the directory, for each variant V of VARIANTS:
  V.pt            torch.save(model.state_dict())        (zip format)
  V.safetensors   the same tensors in safetensors format (written by hand when the `safetensors`
                  package is absent: 8-byte little-endian header length, JSON header, data)
and reference.json: per variant the vigap-import options that describe it, a few datapoints x
with one latent z each, log p(x|z) and the encoder's mean and log-variance computed in PyTorch in
float64 from the float32 weights, and the magnitudes the C++ test derives its tolerances from.
Also the files the bad-input tests need: legacy.pt (torch.save with
_use_new_zipfile_serialization=False), torchscript.pt (torch.jit.save), nested.pt (a dict holding
a state_dict), strided.pt (non-contiguous tensors and views at a storage offset), dtypes.pt
(float64, float16, bfloat16 and int64 tensors) with dtypes.json (their values), batchnorm.pt
(a state_dict with an integer buffer), deflated.pt (strided.pt re-zipped with deflate under
another folder name).
"""
import collections
import json
import math
import os
import struct
import sys
import zipfile

import torch
import torch.nn as nn
import torch.nn.functional as F


class SplitHeadVae(nn.Module):
    """The motivating case: fc1 ... fc6, the encoder's last layer split in halves."""

    def __init__(self, data_dim, hidden, latent_dim, activation, decoder_outputs):
        super().__init__()
        self.fc1 = nn.Linear(data_dim, hidden[0])
        self.fc2 = nn.Linear(hidden[0], hidden[1])
        self.fc3 = nn.Linear(hidden[1], 2 * latent_dim)
        self.fc4 = nn.Linear(latent_dim, hidden[1])
        self.fc5 = nn.Linear(hidden[1], hidden[0])
        self.fc6 = nn.Linear(hidden[0], decoder_outputs)
        self.act = activation

    def encode(self, x):
        h = self.fc3(self.act(self.fc2(self.act(self.fc1(x)))))
        return h.chunk(2, dim=-1)

    def decode(self, z):
        return self.fc6(self.act(self.fc5(self.act(self.fc4(z)))))


class TwoHeadVae(nn.Module):
    """Sequential trunks and separate mean and scale heads, and an optional learned log-sd vector."""

    def __init__(self, data_dim, hidden, latent_dim, activation, activation_module, learned_scale):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(data_dim, hidden), activation_module)
        self.mu = nn.Linear(hidden, latent_dim)
        self.scale = nn.Linear(hidden, latent_dim)
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), activation_module, nn.Linear(hidden, data_dim))
        if learned_scale:
            self.log_sigma = nn.Parameter(0.3 * torch.randn(data_dim) - 0.5)
        self.act = activation

    def encode(self, x):
        h = self.encoder(x)
        return self.mu(h), self.scale(h)

    def decode(self, z):
        return self.decoder(z)


def to_log_variance(raw, scale):
    if scale == "log-variance":
        return raw
    if scale == "log-sd":
        return 2.0 * raw
    return 2.0 * torch.log(F.softplus(raw))


def log_likelihood(model, x, z, likelihood):
    """log p(x|z) per row, float64."""
    out = model.decode(z)
    if likelihood == "bernoulli":
        return (x * out - F.softplus(out)).sum(-1)
    data_dim = x.shape[-1]
    if likelihood.startswith("gaussian-fixed:"):
        mean, log_var = out, torch.full_like(out, math.log(float(likelihood.split(":")[1])))
    elif likelihood == "gaussian-learned":
        mean, log_var = out[..., :data_dim], out[..., data_dim:]
    else:  # gaussian-learned:log_sigma, a log-sd vector
        mean, log_var = out, (2.0 * model.log_sigma).expand_as(out)
    return (-0.5 * (math.log(2 * math.pi) + log_var + (x - mean) ** 2 / log_var.exp())).sum(-1)


def magnitudes(model, x, z, likelihood):
    """Σ_i |term_i| of log p(x|z), the scale of its float32 rounding error."""
    out = model.decode(z)
    if likelihood == "bernoulli":
        return ((x * out).abs() + F.softplus(out)).sum(-1)
    data_dim = x.shape[-1]
    mean = out[..., :data_dim] if likelihood == "gaussian-learned" else out
    log_var = out[..., data_dim:] if likelihood == "gaussian-learned" else torch.zeros_like(out)
    if likelihood == "gaussian-learned:log_sigma":
        log_var = (2.0 * model.log_sigma).expand_as(out)
    if likelihood.startswith("gaussian-fixed:"):
        log_var = torch.full_like(out, math.log(float(likelihood.split(":")[1])))
    return (0.5 * (math.log(2 * math.pi) + log_var.abs() + (x - mean) ** 2 / log_var.exp())).sum(-1)


def layer_output_magnitude(layer, h):
    """Σ_j |W_kj h_j| + |b_k| per output: the scale of a float32 dot product's rounding error."""
    return h.abs() @ layer.weight.abs().t() + layer.bias.abs()


# name: (constructor, vigap-import options, likelihood, encoder scale, head layers for magnitudes)
def make_variants():
    torch.manual_seed(20260412)
    variants = collections.OrderedDict()
    # The motivating case: MNIST-sized, ELU, split head of mean and log-variance, Bernoulli logits.
    variants["split_elu_bernoulli"] = (
        SplitHeadVae(784, (64, 32), 5, F.elu, 784),
        {"encoder": "fc1,fc2,fc3", "decoder": "fc4,fc5,fc6", "activation": "elu", "encoder-head": "split",
         "encoder-scale": "log-variance", "likelihood": "bernoulli", "binarization": "dynamic"})
    variants["split_tanh_logsd_gaussian_fixed"] = (
        SplitHeadVae(30, (16, 12), 3, torch.tanh, 30),
        {"encoder": "fc1,fc2,fc3", "decoder": "fc4,fc5,fc6", "activation": "tanh", "encoder-head": "split",
         "encoder-scale": "log-sd", "likelihood": "gaussian-fixed:0.3", "binarization": "none"})
    variants["split_relu_softplus_gaussian_learned"] = (
        SplitHeadVae(30, (16, 12), 3, F.relu, 60),
        {"encoder": "fc1,fc2,fc3", "decoder": "fc4,fc5,fc6", "activation": "relu", "encoder-head": "split",
         "encoder-scale": "softplus-sd", "likelihood": "gaussian-learned", "binarization": "none"})
    variants["two_heads_elu_logvar_bernoulli"] = (
        TwoHeadVae(30, 16, 4, F.elu, nn.ELU(), False),
        {"encoder": "encoder.0", "decoder": "decoder.*", "activation": "elu", "encoder-head": "two-heads:mu,scale",
         "encoder-scale": "log-variance", "likelihood": "bernoulli", "binarization": "threshold:0.5"})
    variants["two_heads_tanh_softplus_learned_tensor"] = (
        TwoHeadVae(30, 16, 2, torch.tanh, nn.Tanh(), True),
        {"encoder": "encoder.0", "decoder": "decoder.0,decoder.2", "activation": "tanh",
         "encoder-head": "two-heads:mu,scale", "encoder-scale": "softplus-sd",
         "likelihood": "gaussian-learned:log_sigma", "decoder-scale": "log-sd", "binarization": "none"})
    variants["two_heads_relu_logsd_gaussian_fixed"] = (
        TwoHeadVae(30, 16, 3, F.relu, nn.ReLU(), False),
        {"encoder": "encoder.0", "decoder": "decoder.0,decoder.2", "activation": "relu",
         "encoder-head": "two-heads:mu,scale", "encoder-scale": "log-sd", "likelihood": "gaussian-fixed:2",
         "binarization": "none"})
    return variants


def save_safetensors(tensors, path):
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def reference(model, options, n):
    """x, z, log p(x|z), the encoder's mean and log-variance, and their magnitudes, in float64."""
    m = model.double()
    data_dim = (m.fc1 if isinstance(m, SplitHeadVae) else m.encoder[0]).weight.shape[1]
    x = torch.rand(n, data_dim, dtype=torch.float64).float().double()  # float32 values, as vigap reads them
    if options["likelihood"] == "bernoulli":
        x = (x > 0.5).double()
    with torch.no_grad():
        mean, raw = m.encode(x)
        log_var = to_log_variance(raw, options["encoder-scale"])
        z = (mean + torch.randn_like(mean) * (0.5 * log_var).exp()).float().double()
        key = options["likelihood"]
        if isinstance(model, SplitHeadVae):
            h = m.act(m.fc2(m.act(m.fc1(x))))
            scale = layer_output_magnitude(m.fc3, h)
            mean_scale, var_scale = scale.chunk(2, dim=-1)
        else:
            h = m.encoder(x)
            mean_scale, var_scale = layer_output_magnitude(m.mu, h), layer_output_magnitude(m.scale, h)
        fan_ins = sum(p.shape[1] for name, p in m.named_parameters() if name.endswith("weight"))
        return {
            "x": x.tolist(), "z": z.tolist(),
            "log_px_given_z": log_likelihood(m, x, z, key).tolist(),
            "log_px_given_z_magnitude": magnitudes(m, x, z, key).tolist(),
            "mean": mean.tolist(), "log_variance": log_var.tolist(),
            "mean_magnitude": mean_scale.tolist(), "log_variance_magnitude": var_scale.tolist(),
            "fan_in_sum": fan_ins,
        }


def special_files(out):
    torch.manual_seed(7)
    sd = SplitHeadVae(6, (5, 4), 2, F.elu, 6).state_dict()
    torch.save(sd, os.path.join(out, "legacy.pt"), _use_new_zipfile_serialization=False)
    torch.save({"model": sd, "epoch": 3}, os.path.join(out, "nested.pt"))
    two = TwoHeadVae(6, 5, 2, F.elu, nn.ELU(), False)
    torch.jit.script(two.decoder).save(os.path.join(out, "torchscript.pt"))
    # Non-contiguous tensors and views at a storage offset, with the values they must read as.
    base = torch.arange(60, dtype=torch.float32).reshape(6, 10) / 7.0
    strided = collections.OrderedDict()
    strided["transposed"] = base.t()                # [10, 6], strides (1, 10)
    strided["every_other"] = base[:, ::2]           # [6, 5], strides (10, 2)
    strided["offset_row"] = base[3]                 # [10], storage offset 30
    strided["offset_block"] = base[2:5, 4:7]        # [3, 3], offset 24, strides (10, 1)
    strided["scalar"] = base[1, 1]                  # [], offset 11
    torch.save(strided, os.path.join(out, "strided.pt"))
    # The same archive re-zipped with deflate (as `zip` would), under another top-level folder name.
    with zipfile.ZipFile(os.path.join(out, "strided.pt")) as source, \
            zipfile.ZipFile(os.path.join(out, "deflated.pt"), "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr("renamed folder/" + info.filename.split("/", 1)[1], source.read(info))
    dtypes = collections.OrderedDict()
    values = torch.tensor([[0.1, -2.5, 3.0e-5], [65504.0, -1.0e-7, 1.0 / 3.0]], dtype=torch.float64)
    dtypes["f64"] = values
    dtypes["f16"] = values.to(torch.float16)
    dtypes["bf16"] = values.to(torch.bfloat16)
    dtypes["i64"] = torch.tensor([-3, 0, 1 << 20], dtype=torch.int64)
    torch.save(dtypes, os.path.join(out, "dtypes.pt"))
    expected = {"strided": {k: {"shape": list(v.shape), "values": v.double().flatten().tolist()} for k, v in strided.items()},
                "dtypes": {k: {"shape": list(v.shape), "values": v.double().flatten().tolist()} for k, v in dtypes.items()}}
    bn = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5))
    torch.save(bn.state_dict(), os.path.join(out, "batchnorm.pt"))
    return expected


def main():
    if len(sys.argv) != 2:
        print("usage: make_torch_vae_fixtures.py <output directory>", file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    document = {"torch_version": torch.__version__, "variants": collections.OrderedDict()}
    for name, (model, options) in make_variants().items():
        sd = model.state_dict()
        torch.save(sd, os.path.join(out, name + ".pt"))
        save_safetensors(sd, os.path.join(out, name + ".safetensors"))
        document["variants"][name] = dict(options=options, **reference(model, options, 4))
    document["tensors"] = special_files(out)
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(document, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
