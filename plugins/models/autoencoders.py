"""Autoencoders, the lecture's three generations: ae-linear, ae-deep (fully connected), ae-conv.

Every model is an AEModel: an encoder and a decoder network and the code size (z smaller than x:
dimensionality reduction). Conventions the objectives and metrics rely on:

- data x is in [-1, 1]; `decode(code)` returns logits l (B, *shape), and the model's output in
  data space is 2 sigmoid(l) - 1 (so in (-1, 1)); bce compares sigmoid(l) with (x + 1) / 2, mse
  compares 2 sigmoid(l) - 1 with x.
- a plain autoencoder's code is a layer of sigmoid units, h = sigmoid(encoder(x)) in (0, 1): the
  hidden activations the sparse and contractive penalties act on.
- with `variational = true` the encoder's last layer has 2 * code_dim outputs and `encode`
  returns (mu, logvar) of q(z | x) = N(mu, diag(exp(logvar))); the vae objective needs it, and
  every other objective refuses it (the trainer checks the pair before training).

Hidden layers use ReLU through genbench.kernels (bias_act), so the kernel backend is an axis.
Image data only: the output range (-1, 1) is the images' range.
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
from torch import nn

from genbench import DataInfo, ModelSpec, Param, hookimpl

from .layers import BiasAct, DenseAct


class AEModel(nn.Module):
    """encoder: (B, *shape) -> (B, code_dim), or (B, 2 * code_dim) when variational;
    decoder: (B, code_dim) -> (B, *shape) logits."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, code_dim: int, variational: bool):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.code_dim, self.variational = code_dim, variational

    def encode(self, x: torch.Tensor):
        """The code h (B, code_dim) in (0, 1), or (mu, logvar), each (B, code_dim), for a VAE."""
        out = self.encoder(x)
        if self.variational:
            mu, logvar = out.chunk(2, dim=1)
            return mu, logvar
        return torch.sigmoid(out)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """(B, code_dim) -> logits (B, *shape)."""
        return self.decoder(code)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, *shape) -> the output in data space (B, *shape); a VAE decodes its mean code."""
        code = self.encode(x)
        return to_data(self.decode(code[0] if self.variational else code))

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Codes z (B, code_dim) -> outputs in data space (B, *shape): a VAE's samples for z ~ N(0, I)."""
        return to_data(self.decode(z))


def to_data(logits: torch.Tensor) -> torch.Tensor:
    """Decoder logits -> data space: 2 sigmoid(l) - 1, in (-1, 1)."""
    return 2 * torch.sigmoid(logits) - 1


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """Data in [-1, 1] -> [0, 1], the target of a Bernoulli (bce) decoder."""
    return (x + 1) / 2


def code_outputs(code_dim: int, variational: bool) -> int:
    return 2 * code_dim if variational else code_dim


def make_linear(info: DataInfo, *, code_dim: int, variational: bool) -> AEModel:
    """One hidden layer: h = sigmoid(W x + b), x_hat logits = W' h + b'."""
    n = math.prod(info.shape)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(n, code_outputs(code_dim, variational)))
    decoder = nn.Sequential(nn.Linear(code_dim, n), nn.Unflatten(1, info.shape))
    return AEModel(encoder, decoder, code_dim, variational)


def make_deep(info: DataInfo, *, hidden: tuple, code_dim: int, variational: bool) -> AEModel:
    """Fully connected ReLU layers of widths `hidden` down to the code, mirrored back up."""
    n = math.prod(info.shape)
    down = [n, *hidden]
    encoder = nn.Sequential(nn.Flatten(), *[DenseAct(a, b, "relu", 0.0) for a, b in pairwise(down)],
                            nn.Linear(down[-1], code_outputs(code_dim, variational)))
    up = [code_dim, *reversed(hidden)]
    decoder = nn.Sequential(*[DenseAct(a, b, "relu", 0.0) for a, b in pairwise(up)],
                            nn.Linear(up[-1], n), nn.Unflatten(1, info.shape))
    return AEModel(encoder, decoder, code_dim, variational)


def make_conv(info: DataInfo, *, channels: int, code_dim: int, variational: bool) -> AEModel:
    """Two stride-2 ReLU convolutions (H -> H/4), a linear code layer, and the transpose back up."""
    c, h, w = info.shape
    inner = (2 * channels, h // 4, w // 4)
    encoder = nn.Sequential(
        nn.Conv2d(c, channels, 4, 2, 1, bias=False), BiasAct(channels, "relu", 0.0),  # (B, ch, H/2, W/2)
        nn.Conv2d(channels, 2 * channels, 4, 2, 1, bias=False),
        BiasAct(2 * channels, "relu", 0.0),  # (B, 2ch, H/4, W/4)
        nn.Flatten(), nn.Linear(math.prod(inner), code_outputs(code_dim, variational)),
    )
    decoder = nn.Sequential(
        nn.Linear(code_dim, math.prod(inner), bias=False), nn.Unflatten(1, inner),
        BiasAct(2 * channels, "relu", 0.0),  # (B, 2ch, H/4, W/4)
        nn.ConvTranspose2d(2 * channels, channels, 4, 2, 1, bias=False),
        BiasAct(channels, "relu", 0.0),  # (B, ch, H/2, W/2)
        nn.ConvTranspose2d(channels, c, 4, 2, 1),  # (B, C, H, W) logits
    )
    return AEModel(encoder, decoder, code_dim, variational)


def deep_fits(info: DataInfo, *, hidden: tuple, **params) -> str | None:
    if not hidden or not all(type(width) is int and width > 0 for width in hidden):
        return f"hidden must list one or more positive integer widths, got {hidden}"
    return None


def conv_fits(info: DataInfo, **params) -> str | None:
    if len(info.shape) != 3 or info.shape[1] % 4 or info.shape[2] % 4:
        return f"it needs (C, H, W) images with H and W divisible by 4, got {info.shape}"
    return None


def linear_weights(info: DataInfo, *, code_dim: int, variational: bool) -> int:
    """Entries of the weight matrices (ModelSpec.weights)."""
    return math.prod(info.shape) * (code_outputs(code_dim, variational) + code_dim)


def deep_weights(info: DataInfo, *, hidden: tuple, code_dim: int, variational: bool) -> int:
    """Entries of the weight matrices (ModelSpec.weights), for widths that fit."""
    down = [math.prod(info.shape), *hidden]
    return (2 * sum(a * b for a, b in pairwise(down))
            + hidden[-1] * (code_outputs(code_dim, variational) + code_dim))


def conv_weights(info: DataInfo, *, channels: int, code_dim: int, variational: bool) -> int:
    """Entries of the kernels and weight matrices (ModelSpec.weights), for images that fit."""
    c, h, w = info.shape
    inner = 2 * channels * (h // 4) * (w // 4)
    return 2 * (16 * c * channels + 32 * channels**2) + inner * (code_outputs(code_dim, variational) + code_dim)


CODE = {
    "code_dim": Param(32, "code size z (smaller than x: dimensionality reduction)", min=1),
    "variational": Param(False, "VAE encoder: (mu, logvar) of q(z|x), for the vae objective"),
}


@hookimpl
def register_models(register):
    register(ModelSpec("ae-linear", "one sigmoid hidden layer (the code) and a linear decoder",
                       make_linear, CODE, family="autoencoder", domains=("image",), weights=linear_weights))
    register(ModelSpec("ae-deep", "deep fully connected ReLU autoencoder, decoder mirrors the encoder",
                       make_deep, {"hidden": Param((256, 128), "encoder hidden widths, input side first"),
                                   **CODE},
                       family="autoencoder", domains=("image",), fits=deep_fits, weights=deep_weights))
    register(ModelSpec("ae-conv", "ReLU CNN autoencoder: two stride-2 convolutions and their transpose",
                       make_conv, {"channels": Param(32, "channels of the first convolution", min=1), **CODE},
                       family="autoencoder", domains=("image",), fits=conv_fits, weights=conv_weights))
