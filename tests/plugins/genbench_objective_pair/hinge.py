"""The hinge loss with a margin m: D minimises relu(m - D(x)) + relu(m + D(G(z))), G -D(G(z))."""

import torch
from genbench.plugins.objectives.gan import GANLoss

from .margins import hinge_terms


class MarginHinge(GANLoss):
    def __init__(self, k: int, margin: float):
        super().__init__("hinge", k)
        self.margin = margin

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return hinge_terms(real_logits, fake_logits, self.margin)


def hinge(*, k: int, margin: float) -> MarginHinge:
    return MarginHinge(k, margin)
