"""An exponential moving average of a network's weights, as GAN papers evaluate their generator
(Karras et al. 2018, 2019; Yazici et al. 2019 "The unusual effectiveness of averaging in GAN
training"; StudioGAN's and StyleGAN2's `G_ema`).

After each generator step t:

    theta_ema <- theta                                        while t <= start (the warm-up)
    theta_ema <- decay * theta_ema + (1 - decay) * theta      afterwards

over the parameters, in one torch._foreach_lerp_ (no host sync). Buffers (batch norm's running
mean and variance, its integer batch counter) are copied, as StyleGAN2 and StudioGAN do: they
are already running averages, and a counter cannot be averaged. The average lives in a copy of
the network made when training starts, so with start = 0 it starts from G's initial weights.
"""

from __future__ import annotations

import copy

import torch


class WeightAverage:
    """The averaged copy (`module`, never trained, used only to sample) of `network`."""

    def __init__(self, network: torch.nn.Module, decay: float, start: int):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {decay}")
        self.module = copy.deepcopy(network).requires_grad_(False)
        self.decay, self.start = decay, start

    @torch.no_grad()
    def update(self, network: torch.nn.Module, step: int) -> None:
        """Fold `network`'s weights after generator step `step` into the average."""
        averaged, current = list(self.module.parameters()), [p.detach() for p in network.parameters()]
        if step <= self.start:
            torch._foreach_copy_(averaged, current)
        else:
            torch._foreach_lerp_(averaged, current, 1.0 - self.decay)
        for mine, theirs in zip(self.module.buffers(), network.buffers(), strict=True):
            mine.copy_(theirs)
