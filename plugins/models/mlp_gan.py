"""The fully connected GAN: MLP generator (ReLU) and discriminator (LeakyReLU 0.2 or maxout).

As in Goodfellow et al. 2014 for MNIST and in the 2D mode-collapse benchmarks. Works on any data
shape: the generator's output is reshaped to one example's shape, the discriminator flattens.
Images get a tanh output (data in [-1, 1]); 2D points a linear one.

Options for the PacGAN protocol (Lin et al. 2018): batch norm before each of the generator's
ReLUs, maxout units with `maxout` pieces in the discriminator (Goodfellow et al. 2013),
discriminator layers sized apart from the generator's, N(0, init_std) initial weights, and
packing: with `pack = p` the discriminator takes p examples concatenated (the family trainer
groups them, see plugins/families/gan.py).

Normalisation of each network, `g_norm` and `d_norm` (none, batch, layer or spectral, as in
plugins/models/gan_layers.py): batch and layer norm sit between each hidden layer's linear map
and its activation; spectral norm normalises every weight, the output layer's too. g_norm "auto"
(its default) is what g_batchnorm says; maxout units take no batch or layer norm.
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
from torch import nn

from genbench import DataInfo, ModelSpec, Param, hookimpl

from .gan import GANModel, packed_shape
from .gan_layers import norm_act, norm_param, spectral_norm_all
from .layers import DenseAct, Maxout

PARAMS = {
    "hidden": Param(128, "units per hidden layer", min=1),
    "depth": Param(2, "hidden layers in each network", min=1, max=16),
    "z_dim": Param(16, "dimension of the noise z ~ N(0, I)", min=1),
    "d_hidden": Param(0, "units per discriminator hidden layer (0 = hidden)", min=0, id_if_default=False),
    "d_depth": Param(0, "discriminator hidden layers (0 = depth)", min=0, max=16, id_if_default=False),
    "g_batchnorm": Param(False, "batch norm before each generator ReLU (PacGAN's generator)", id_if_default=False),
    "maxout": Param(0, "maxout pieces per discriminator unit (PacGAN: 5); 0 = LeakyReLU 0.2 units",
                    min=0, max=64, id_if_default=False),
    "init_std": Param(0.0, "initial weights ~ N(0, init_std), biases 0 (PacGAN: 0.02); 0 = PyTorch's "
                      "default initialisation", min=0.0, id_if_default=False),
    "pack": Param(1, "examples the discriminator judges together (PacGAN's m; 1 = an ordinary GAN)",
                  min=1, max=64, id_if_default=False),
    "g_norm": norm_param("auto", "the generator", "batch if g_batchnorm else none"),
    "d_norm": norm_param("none", "the discriminator"),
}
DEFAULTS = {key: param.default for key, param in PARAMS.items()}


def generator_norm(g_norm: str, g_batchnorm: bool) -> str | None:
    """G's normalisation, or None when g_norm and g_batchnorm contradict each other."""
    if g_norm == "auto":
        return "batch" if g_batchnorm else "none"
    return None if g_batchnorm and g_norm != "batch" else g_norm


def fits(info: DataInfo, **params) -> str | None:
    """Why these parameters contradict each other, or None: the MLP takes data of any shape."""
    p = {**DEFAULTS, **params}
    if generator_norm(p["g_norm"], p["g_batchnorm"]) is None:
        return (f"g_norm = {p['g_norm']!r} contradicts g_batchnorm = true: drop g_batchnorm (g_norm names "
                "the whole normalisation), or set g_norm = 'auto'")
    if p["maxout"] and p["d_norm"] in ("batch", "layer"):
        return f"maxout units take no {p['d_norm']} norm: set d_norm to 'none' or 'spectral', or maxout = 0"
    return None


def weights(info: DataInfo, **params) -> int:
    """Entries of the weight matrices (ModelSpec.weights): G's z -> hidden^depth -> x and D's
    packed x -> d_hidden^d_depth -> 1, times the maxout pieces."""
    p = {**DEFAULTS, **params}
    n, hidden, depth = math.prod(info.shape), p["hidden"], p["depth"]
    d_hidden, d_depth, pieces = p["d_hidden"] or hidden, p["d_depth"] or depth, max(1, p["maxout"])
    generator = p["z_dim"] * hidden + (depth - 1) * hidden**2 + hidden * n
    return generator + pieces * (p["pack"] * n * d_hidden + (d_depth - 1) * d_hidden**2) + d_hidden


def hidden_layer(n_in: int, n_out: int, norm: str, activation: str, negative_slope: float, *,
                 fused: bool = False) -> nn.Module:
    """Linear + bias + activation, or linear + batch / layer norm + activation (`fused` batch
    norm is one kernel call, differentiable once: for the generator). (B, n_in) -> (B, n_out)."""
    if norm in ("batch", "layer"):
        return nn.Sequential(nn.Linear(n_in, n_out, bias=False),
                             norm_act(norm, n_out, activation, negative_slope, fused=fused))
    return DenseAct(n_in, n_out, activation, negative_slope)


def generator_layer(n_in: int, n_out: int, norm: str) -> nn.Module:
    """A ReLU layer of the generator."""
    return hidden_layer(n_in, n_out, norm, "relu", 0.0, fused=True)


def discriminator_layer(n_in: int, n_out: int, maxout: int, norm: str) -> nn.Module:
    """Maxout units with `maxout` pieces, or a LeakyReLU 0.2 layer (twice differentiable)."""
    return Maxout(n_in, n_out, maxout) if maxout else hidden_layer(n_in, n_out, norm, "leaky_relu", 0.2)


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int, hidden: int, depth: int, shape: tuple[int, ...], tanh: bool,
                 norm: str = "none"):
        super().__init__()
        widths = [z_dim] + [hidden] * depth
        self.body = nn.Sequential(*[generator_layer(a, b, norm) for a, b in pairwise(widths)])
        self.out = nn.Linear(hidden, math.prod(shape))
        self.shape = shape
        self.tanh = tanh

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.out(self.body(z))  # (B, prod(shape))
        x = torch.tanh(x) if self.tanh else x
        return x.view(len(z), *self.shape)  # (B, *shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, hidden: int, depth: int, shape: tuple[int, ...], maxout: int = 0, norm: str = "none"):
        super().__init__()
        widths = [math.prod(shape)] + [hidden] * depth
        self.body = nn.Sequential(*[discriminator_layer(a, b, maxout, norm) for a, b in pairwise(widths)])
        self.out = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x.flatten(1))).squeeze(1)  # (B, *shape) -> (B,) logits


def init_normal(module: nn.Module, std: float) -> None:
    """Every linear layer's weight ~ N(0, std) and bias = 0 (batch norm keeps gamma 1, beta 0)."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def make_mlp_gan(info: DataInfo, *, hidden: int, depth: int, z_dim: int, d_hidden: int = 0, d_depth: int = 0,
                 g_batchnorm: bool = False, maxout: int = 0, init_std: float = 0.0, pack: int = 1,
                 g_norm: str = "auto", d_norm: str = "none") -> GANModel:
    problem = fits(info, g_batchnorm=g_batchnorm, maxout=maxout, g_norm=g_norm, d_norm=d_norm)
    if problem:
        raise ValueError(f"mlp cannot take these parameters: {problem}")
    g_norm = generator_norm(g_norm, g_batchnorm)
    tanh = info.domain == "image"
    generator = MLPGenerator(z_dim, hidden, depth, info.shape, tanh, g_norm)
    discriminator = MLPDiscriminator(d_hidden or hidden, d_depth or depth, packed_shape(info.shape, pack), maxout,
                                     d_norm)
    if init_std > 0:
        init_normal(generator, init_std)
        init_normal(discriminator, init_std)
    for network, norm in ((generator, g_norm), (discriminator, d_norm)):
        if norm == "spectral":
            spectral_norm_all(network)
    return GANModel(generator=generator, discriminator=discriminator, z_dim=z_dim, pack=pack)


@hookimpl
def register_models(register):
    register(ModelSpec("mlp", "fully connected GAN: ReLU generator (optional BN), LeakyReLU or maxout "
                       "discriminator, optional packing", make_mlp_gan, PARAMS, family="gan", fits=fits,
                       weights=weights))
