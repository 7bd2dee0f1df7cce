"""cmlp: the class-conditional fully connected GAN, the `mlp` model's networks given a label y.

The generator is mlp's MLP of [z, one_hot(y)] (Mirza & Osindero 2014). The discriminator is
mlp's LeakyReLU MLP, phi(x) its last hidden layer and psi the linear output; `d_head` says how it
sees y, the comparison of Miyato & Koyama 2018 (cGANs with projection discriminator):
- "projection": D(x, y) = psi(phi(x)) + <V e_y, phi(x)>, a learned class embedding V (K, hidden)
  projected on the features (their eq. 3; V Glorot-uniform, as in their code);
- "concat": D(x, y) = psi(phi([x, one_hot(y)])), the label concatenated to the input (Mirza &
  Osindero's discriminator, the baseline the projection paper compares against);
- "acgan": D(x) = psi(phi(x)) ignores y, and a classifier C(x) = W phi(x) (K logits) shares
  phi: Odena et al. 2017's auxiliary classifier, which an objective trains with `acgan` > 0.
The sizes are mlp's (hidden, depth, z_dim, same defaults), so `mlp` on the same data is the
unconditional baseline. Needs a labelled dataset: refused before any work otherwise.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from genbench import DataInfo, ModelSpec, Param, hookimpl
from .gan import GANModel, missing_labels

from .mlp_gan import PARAMS as MLP_PARAMS
from .mlp_gan import MLPDiscriminator, MLPGenerator

HEADS = ("projection", "concat", "acgan")
PARAMS = {
    **{name: MLP_PARAMS[name] for name in ("hidden", "depth", "z_dim")},
    "d_head": Param("projection", "how D sees the label: projection (Miyato & Koyama 2018), concat (one-hot "
                    "input, Mirza & Osindero 2014) or acgan (an auxiliary classifier, Odena et al. 2017)",
                    choices=HEADS),
}


class ConditionalGenerator(nn.Module):
    """G(z, y): the MLP generator applied to [z, one_hot(y)]."""

    def __init__(self, z_dim: int, num_classes: int, hidden: int, depth: int, shape: tuple[int, ...], tanh: bool):
        super().__init__()
        self.net = MLPGenerator(z_dim + num_classes, hidden, depth, shape, tanh)
        self.num_classes = num_classes

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        code = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], 1)  # (B, z_dim + K)
        return self.net(code)  # (B, *shape)


class ConditionalDiscriminator(nn.Module):
    """D(x, y) -> (B,) logits; `mlp.body` is phi, `mlp.out` psi (see the module docstring)."""

    def __init__(self, hidden: int, depth: int, shape: tuple[int, ...], num_classes: int, head: str):
        super().__init__()
        inputs = math.prod(shape) + (num_classes if head == "concat" else 0)
        self.mlp = MLPDiscriminator(hidden, depth, (inputs,))
        self.embed = nn.Embedding(num_classes, hidden) if head == "projection" else None  # V: (K, hidden)
        if self.embed is not None:
            nn.init.xavier_uniform_(self.embed.weight)
        self.num_classes, self.head = num_classes, head

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)  # (B, prod(shape))
        if self.head == "concat":
            x = torch.cat([x, F.one_hot(y, self.num_classes).to(x.dtype)], 1)  # (B, prod(shape) + K)
        features = self.mlp.body(x)  # phi: (B, hidden)
        logits = self.mlp.out(features).squeeze(1)  # psi(phi): (B,)
        if self.embed is not None:
            logits = logits + (self.embed(y) * features).sum(1)  # + <V e_y, phi(x)>
        return logits


class AuxiliaryClassifier(nn.Module):
    """C(x) -> (B, K) class logits: a linear layer on the discriminator's phi (shared, not copied)."""

    def __init__(self, discriminator: ConditionalDiscriminator, hidden: int, num_classes: int):
        super().__init__()
        self.trunk = discriminator.mlp.body  # the same module: D's optimiser trains it once
        self.out = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.trunk(x.flatten(1)))  # (B, *shape) -> (B, K)


def make_cmlp_gan(info: DataInfo, *, hidden: int, depth: int, z_dim: int, d_head: str) -> GANModel:
    num_classes = info.n_classes
    generator = ConditionalGenerator(z_dim, num_classes, hidden, depth, info.shape, info.domain == "image")
    discriminator = ConditionalDiscriminator(hidden, depth, info.shape, num_classes, d_head)
    classifier = AuxiliaryClassifier(discriminator, hidden, num_classes) if d_head == "acgan" else None
    return GANModel(generator=generator, discriminator=discriminator, z_dim=z_dim, num_classes=num_classes,
                    classifier=classifier)


def cmlp_fits(info: DataInfo, **params) -> str | None:
    return missing_labels(info)


def weights(info: DataInfo, **params) -> int:
    """Entries of the weight matrices (ModelSpec.weights): G's [z, one_hot(y)] -> hidden^depth ->
    x, D's x (with one_hot(y) for concat) -> hidden^depth -> 1, and the head's K x hidden (the
    projection's embedding V, or the ACGAN classifier)."""
    p = {**{name: param.default for name, param in PARAMS.items()}, **params}
    n, k, hidden, depth = math.prod(info.shape), info.n_classes or 0, p["hidden"], p["depth"]
    generator = (p["z_dim"] + k) * hidden + (depth - 1) * hidden**2 + hidden * n
    discriminator = (n + (k if p["d_head"] == "concat" else 0)) * hidden + (depth - 1) * hidden**2 + hidden
    return generator + discriminator + (0 if p["d_head"] == "concat" else k * hidden)


@hookimpl
def register_models(register):
    register(ModelSpec("cmlp", "class-conditional fully connected GAN: G(z, one-hot y); D with a projection, "
                       "concat or ACGAN head", make_cmlp_gan, PARAMS, family="gan", fits=cmlp_fits,
                       weights=weights))
