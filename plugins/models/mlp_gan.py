"""The fully connected GAN: MLP generator (ReLU) and discriminator (LeakyReLU 0.2).

As in Goodfellow et al. 2014 for MNIST and in the 2D mode-collapse benchmarks. Works on any data
shape: the generator's output is reshaped to one example's shape, the discriminator flattens.
Images get a tanh output (data in [-1, 1]); 2D points a linear one.
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
from torch import nn

from genbench import DataInfo, ModelSpec, Param, hookimpl
from genbench.plugins.families.gan import GANModel

from .layers import DenseAct

PARAMS = {
    "hidden": Param(128, "units per hidden layer", min=1),
    "depth": Param(2, "hidden layers in each network", min=1, max=16),
    "z_dim": Param(16, "dimension of the noise z ~ N(0, I)", min=1),
}


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int, hidden: int, depth: int, shape: tuple[int, ...], tanh: bool):
        super().__init__()
        widths = [z_dim] + [hidden] * depth
        self.body = nn.Sequential(*[DenseAct(a, b, "relu", 0.0) for a, b in pairwise(widths)])
        self.out = nn.Linear(hidden, math.prod(shape))
        self.shape = shape
        self.tanh = tanh

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.out(self.body(z))  # (B, prod(shape))
        x = torch.tanh(x) if self.tanh else x
        return x.view(len(z), *self.shape)  # (B, *shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, hidden: int, depth: int, shape: tuple[int, ...]):
        super().__init__()
        widths = [math.prod(shape)] + [hidden] * depth
        self.body = nn.Sequential(*[DenseAct(a, b, "leaky_relu", 0.2) for a, b in pairwise(widths)])
        self.out = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x.flatten(1))).squeeze(1)  # (B, *shape) -> (B,) logits


def make_mlp_gan(info: DataInfo, *, hidden: int, depth: int, z_dim: int) -> GANModel:
    tanh = info.domain == "image"
    return GANModel(
        generator=MLPGenerator(z_dim, hidden, depth, info.shape, tanh),
        discriminator=MLPDiscriminator(hidden, depth, info.shape),
        z_dim=z_dim,
    )


@hookimpl
def register_models(register):
    register(ModelSpec("mlp", "fully connected GAN: ReLU generator, LeakyReLU discriminator",
                       make_mlp_gan, PARAMS, family="gan"))
