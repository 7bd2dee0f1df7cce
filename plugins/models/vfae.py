"""The variational fair autoencoder's networks (Louizos, Swersky, Li, Welling & Zemel, ICLR 2016).

    encoder    q(z1 | x, s) = N(mu1, diag(exp(logvar1)))   the fair representation z1
    classifier q(y | z1)                                    softmax over the K classes
    encoder2   q(z2 | z1, y) = N(mu2, diag(exp(logvar2)))  the semi-supervised second layer
    prior1     p(z1 | z2, y) = N(m, diag(exp(logv)))       z1's prior given the label
    decoder    p(x | z1, s)                                x's likelihood, s given
    p(z2) = N(0, I), p(y) uniform over the K classes

Every network is one ReLU hidden layer of `hidden` units (as in the paper); s enters as one
input in {0, 1} and y as a one-hot vector. The decoder's likelihood follows the data's domain:
images (in [-1, 1]) are Bernoulli on (x + 1) / 2, the decoder giving logits; any other data
(standardised tables) is Gaussian with unit variance, the decoder giving the mean. The fairness
metric reads `represent(x, s)`, the mean of q(z1 | x, s).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from genbench import DataInfo, ModelSpec, Param, hookimpl
from genbench.plugins.datasets.sensitive import missing_sensitive

from .layers import DenseAct


def mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    """(B, n_in) -> ReLU hidden layer -> (B, n_out)."""
    return nn.Sequential(DenseAct(n_in, hidden, "relu", 0.0), nn.Linear(hidden, n_out))


def gaussian(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A network's (B, 2Z) output -> (mu, logvar), each (B, Z)."""
    mu, logvar = out.chunk(2, dim=1)
    return mu, logvar


class VFAEModel(nn.Module):
    """x (B, *shape), s (B,) in {0, 1}, y (B,) in 0..K-1; z1 (B, z_dim), z2 (B, z2_dim)."""

    def __init__(self, info: DataInfo, hidden: int, z_dim: int, z2_dim: int):
        super().__init__()
        n, k = math.prod(info.shape), info.n_classes
        self.shape, self.n_classes, self.z_dim, self.z2_dim = info.shape, k, z_dim, z2_dim
        self.bernoulli = info.domain == "image"
        self.encoder = mlp(n + 1, hidden, 2 * z_dim)
        self.classifier = mlp(z_dim, hidden, k)
        self.encoder2 = mlp(z_dim + k, hidden, 2 * z2_dim)
        self.prior1 = mlp(z2_dim + k, hidden, 2 * z_dim)
        self.decoder = mlp(z_dim + 1, hidden, n)

    def encode(self, x: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z1 | x, s): (mu1, logvar1), each (B, z_dim)."""
        return gaussian(self.encoder(torch.cat([x.flatten(1), s[:, None].to(x.dtype)], 1)))

    def represent(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """The fair representation of x: the mean of q(z1 | x, s), (B, z_dim)."""
        return self.encode(x, s)[0]

    def classify(self, z1: torch.Tensor) -> torch.Tensor:
        """q(y | z1) as logits (B, K)."""
        return self.classifier(z1)

    def encode2(self, z1: torch.Tensor, y_onehot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z2 | z1, y): (mu2, logvar2), each (B, z2_dim)."""
        return gaussian(self.encoder2(torch.cat([z1, y_onehot], 1)))

    def prior(self, z2: torch.Tensor, y_onehot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """p(z1 | z2, y): (mean, logvar), each (B, z_dim)."""
        return gaussian(self.prior1(torch.cat([z2, y_onehot], 1)))

    def decode(self, z1: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """p(x | z1, s)'s parameter, (B, *shape): logits for images, the mean otherwise."""
        return self.decoder(torch.cat([z1, s[:, None].to(z1.dtype)], 1)).unflatten(1, self.shape)

    def to_data(self, out: torch.Tensor) -> torch.Tensor:
        """The decoder's output -> data space: 2 sigmoid(l) - 1 for images, the mean otherwise."""
        return 2 * torch.sigmoid(out) - 1 if self.bernoulli else out

    def generate(self, z2: torch.Tensor, y: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Ancestral means: z2 (B, z2_dim), y, s (B,) -> x (B, *shape) in data space via z1 = E p(z1|z2,y)."""
        onehot = nn.functional.one_hot(y, self.n_classes).to(z2.dtype)
        z1, _ = self.prior(z2, onehot)
        return self.to_data(self.decode(z1, s))


def make_vfae(info: DataInfo, *, hidden: int, z_dim: int, z2_dim: int) -> VFAEModel:
    return VFAEModel(info, hidden, z_dim, z2_dim)


def vfae_weights(info: DataInfo, *, hidden: int, z_dim: int, z2_dim: int) -> int:
    """Entries of the five networks' weight matrices (ModelSpec.weights), for data that fits."""
    n, k = math.prod(info.shape), info.n_classes
    inputs = (n + 1) + z_dim + (z_dim + k) + (z2_dim + k) + (z_dim + 1)  # of each network's hidden layer
    outputs = 2 * z_dim + k + 2 * z2_dim + 2 * z_dim + n
    return hidden * (inputs + outputs)


def vfae_fits(info: DataInfo, **params) -> str | None:
    return missing_sensitive(info)


@hookimpl
def register_models(register):
    register(ModelSpec("vfae", "variational fair autoencoder: q(z1|x,s), q(y|z1), q(z2|z1,y), p(z1|z2,y), p(x|z1,s)",
                       make_vfae,
                       {"hidden": Param(100, "ReLU units of every network's hidden layer", min=1),
                        "z_dim": Param(50, "size of the fair representation z1", min=1),
                        "z2_dim": Param(50, "size of the second latent layer z2", min=1)},
                       family="vfae", fits=vfae_fits, weights=vfae_weights))
