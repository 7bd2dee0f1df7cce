"""Building blocks shared by the built-in models: activations go through genbench.kernels.

Routing bias + activation through `genbench.kernels.functional.bias_act` is what makes the
kernel backend a suite axis: the same model runs eager, compiled or on Triton kernels.
"""

from __future__ import annotations

import torch
from genbench.kernels import functional as K
from torch import nn


class DenseAct(nn.Module):
    """x @ W^T, then bias + activation in one kernel call. (B, n_in) -> (B, n_out)."""

    def __init__(self, n_in: int, n_out: int, activation: str, negative_slope: float, backend: str):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out, bias=False)
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.activation = activation
        self.negative_slope = negative_slope
        self.backend = backend

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return K.bias_act(self.linear(x), self.bias, activation=self.activation,
                          negative_slope=self.negative_slope, backend=self.backend)
