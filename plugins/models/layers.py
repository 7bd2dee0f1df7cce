"""Building blocks shared by the built-in models: activations go through genbench.kernels.

Routing bias + activation through `genbench.kernels.functional.bias_act` (and batch norm +
activation through `batchnorm_act`) is what makes the kernel backend a suite axis: the same
model runs with whichever backend is active (eager, compiled or Triton kernels).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from genbench.kernels import functional as K
from torch import nn


class DenseAct(nn.Module):
    """x @ W^T, then bias + activation in one kernel call. (B, n_in) -> (B, n_out)."""

    def __init__(self, n_in: int, n_out: int, activation: str, negative_slope: float):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out, bias=False)
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.activation = activation
        self.negative_slope = negative_slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return K.bias_act(self.linear(x), self.bias, activation=self.activation,
                          negative_slope=self.negative_slope)


class BiasAct(nn.Module):
    """A learned per-channel bias, then the activation, in one kernel call. (B, C, ...) -> (B, C, ...)."""

    def __init__(self, channels: int, activation: str, negative_slope: float):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))
        self.activation = activation
        self.negative_slope = negative_slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return K.bias_act(x, self.bias, activation=self.activation, negative_slope=self.negative_slope)

    def extra_repr(self) -> str:
        return f"{len(self.bias)}, {self.activation}, negative_slope={self.negative_slope}"


class BatchNormAct(nn.Module):
    """Batch normalisation, then the activation: (B, C, ...) -> (B, C, ...).

    Computes what nn.BatchNorm2d followed by the activation computes: training mode normalises
    with the batch's statistics and updates the running ones (momentum 0.1, unbiased variance);
    eval mode normalises with the running statistics. With `fused=True` training mode is one
    K.batchnorm_act kernel call, which the fused backends differentiate only once: right for a
    generator. With `fused=False` torch's batch_norm normalises and scales, and K.bias_act adds
    the shift and activates; both are twice differentiable, as a discriminator under a gradient
    penalty needs. Eval mode always takes that second path.
    """

    def __init__(self, channels: int, activation: str, negative_slope: float, *, fused: bool,
                 eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))  # gamma
        self.bias = nn.Parameter(torch.zeros(channels))  # beta
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.activation = activation
        self.negative_slope = negative_slope
        self.fused = fused
        self.eps = eps
        self.momentum = momentum

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.weight.dtype)  # under autocast (bf16, fp16 inputs): statistics in the weights' fp32
        if self.training and self.fused:
            y, mean, var = K.batchnorm_act_with_stats(
                x, self.weight, self.bias, eps=self.eps, activation=self.activation,
                negative_slope=self.negative_slope)  # (B, C, ...), (C,), (C,)
            n = x.numel() // x.shape[1]  # values per channel
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(var * (n / (n - 1)), self.momentum)
            return y
        # training mode: batch statistics, and the running ones updated in place; eval: running ones
        z = F.batch_norm(x, self.running_mean, self.running_var, self.weight, None, self.training,
                         self.momentum, self.eps)  # (B, C, ...), scaled but not shifted
        return K.bias_act(z, self.bias, activation=self.activation, negative_slope=self.negative_slope)

    def extra_repr(self) -> str:
        return f"{len(self.bias)}, {self.activation}, negative_slope={self.negative_slope}, fused={self.fused}"


class Maxout(nn.Module):
    """Maxout units (Goodfellow et al. 2013): each of n_out units is the max of `pieces` affine
    pieces of the input. (B, n_in) -> (B, n_out). Piecewise linear, so twice differentiable
    wherever a gradient penalty needs it."""

    def __init__(self, n_in: int, n_out: int, pieces: int):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out * pieces)
        self.n_out = n_out
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.linear(x)  # (B, n_out * pieces)
        return y.view(len(x), self.n_out, self.pieces).amax(dim=2)  # (B, n_out)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"
