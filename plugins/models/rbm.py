"""The Bernoulli-Bernoulli restricted Boltzmann machine (`rbm`): binary visible units v (the
flattened image, v = (x + 1) / 2 in {0, 1}, or [0, 1] probabilities for grey data) and n_hidden
binary hidden units h, with the energy and free energy

    E(v, h) = -b.v - c.h - h.W v,    p(v, h) = exp(-E(v, h)) / Z
    F(v)    = -log sum_h exp(-E(v, h)) = -b.v - sum_j softplus(c_j + W_j.v),  p(v) = exp(-F(v)) / Z

and the conditionals p(h_j = 1 | v) = sigmoid(c_j + W_j.v), p(v_i = 1 | h) = sigmoid(b_i + W^T_i.h).

Initialisation follows Hinton's practical guide (2010, section 8): W ~ N(0, init_sd^2) (0.01),
hidden biases 0, visible biases log(p_i / (1 - p_i)) of the training data's marginals p_i; the
factory sees no data, so the trainer calls `init_visible_bias` before the first step.
Everything random takes an explicit torch.Generator; draws are made on the generator's device
and moved to the model's, so a CPU generator gives the same chain on every device.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genbench import DataInfo, ModelSpec, Param, hookimpl

MARGINAL_CLAMP = 1e-3  # data marginals are clamped to [c, 1 - c] before their log-odds


class RBM(nn.Module):
    """weight (H, D), visible_bias b (D,), hidden_bias c (H,); data (B, *shape) in [-1, 1]."""

    def __init__(self, shape: tuple[int, ...], n_hidden: int, init_sd: float):
        super().__init__()
        self.shape, self.n_visible, self.n_hidden = tuple(shape), math.prod(shape), n_hidden
        self.weight = nn.Parameter(torch.randn(n_hidden, self.n_visible) * init_sd)
        self.visible_bias = nn.Parameter(torch.zeros(self.n_visible))
        self.hidden_bias = nn.Parameter(torch.zeros(n_hidden))

    def to_visible(self, x: torch.Tensor) -> torch.Tensor:
        """Data (B, *shape) in [-1, 1] -> visible units (B, D) in [0, 1]."""
        return (x.flatten(1) + 1) / 2

    def to_data(self, v: torch.Tensor) -> torch.Tensor:
        """Visible units (B, D) -> data space (B, *shape) in [-1, 1]."""
        return (2 * v - 1).view(len(v), *self.shape)

    @torch.no_grad()
    def init_visible_bias(self, x: torch.Tensor) -> None:
        """b_i = log(p_i / (1 - p_i)) for the marginals p_i of training data x (N, *shape)."""
        p = self.to_visible(x).mean(0).clamp(MARGINAL_CLAMP, 1 - MARGINAL_CLAMP)  # (D,)
        self.visible_bias.copy_(torch.logit(p).to(self.visible_bias.device))

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) for v (B, D) -> (B,)."""
        return -v @ self.visible_bias - F.softplus(v @ self.weight.T + self.hidden_bias).sum(1)

    def hidden_probs(self, v: torch.Tensor) -> torch.Tensor:
        """p(h = 1 | v): (B, D) -> (B, H)."""
        return torch.sigmoid(v @ self.weight.T + self.hidden_bias)

    def visible_probs(self, h: torch.Tensor) -> torch.Tensor:
        """p(v = 1 | h): (B, H) -> (B, D)."""
        return torch.sigmoid(h @ self.weight + self.visible_bias)

    def gibbs(self, v: torch.Tensor, steps: int, generator: torch.Generator) -> torch.Tensor:
        """`steps` rounds of block Gibbs sampling v -> h ~ p(h | v) -> v ~ p(v | h); (B, D) -> (B, D)."""
        for _ in range(steps):
            h = bernoulli(self.hidden_probs(v), generator)  # (B, H)
            v = bernoulli(self.visible_probs(h), generator)  # (B, D)
        return v


def bernoulli(p: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Binary samples (as floats) with probabilities p, drawn on the generator's device."""
    u = torch.rand(p.shape, generator=generator, device=generator.device).to(p.device)
    return (u < p).to(p.dtype)


def make_rbm(info: DataInfo, *, n_hidden: int, init_sd: float) -> RBM:
    return RBM(info.shape, n_hidden, init_sd)


def rbm_weights(info: DataInfo, *, n_hidden: int, init_sd: float) -> int:
    """Entries of the weight matrix (ModelSpec.weights)."""
    return n_hidden * math.prod(info.shape)


@hookimpl
def register_models(register):
    register(ModelSpec("rbm", "Bernoulli-Bernoulli restricted Boltzmann machine (Hinton's practical-guide init)",
                       make_rbm,
                       {"n_hidden": Param(500, "hidden units", min=1, max=100_000),
                        "init_sd": Param(0.01, "standard deviation of the initial weights", min=0.0, max=1.0)},
                       family="rbm", domains=("image",), weights=rbm_weights))
