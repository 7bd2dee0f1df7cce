"""GAN objectives from discriminator logits, computed stably by genbench.kernels.

The discriminator ascends E[log D(x)] + E[log(1 - D(G(z)))], i.e. minimises
softplus(-D(x)) + softplus(D(G(z))) in logit space. The generator either
- saturating: minimises log(1 - D(G(z))) = -softplus(D(G(z))), the original minimax, whose
  gradient vanishes while D confidently rejects the samples; or
- nonsaturating: maximises log D(G(z)), i.e. minimises softplus(-D(G(z))), standard in practice.
`k` is Algorithm 1's number of discriminator steps per generator step.
"""

from __future__ import annotations

import torch
from genbench.kernels import functional as K

from genbench import ObjectiveSpec, Param, hookimpl

PARAMS = {"k": Param(1, "discriminator steps per generator step (Algorithm 1)", min=1, max=100)}


class GANLoss:
    """The objective object the GAN trainer uses: d_steps, discriminator_loss, generator_loss."""

    def __init__(self, kind: str, k: int, backend: str):
        self.kind = kind
        self.d_steps = k
        self.backend = backend

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return K.discriminator_loss(real_logits, fake_logits, self.kind, backend=self.backend)

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return K.generator_loss(fake_logits, self.kind, backend=self.backend)


def saturating(*, backend: str, k: int) -> GANLoss:
    return GANLoss("saturating", k, backend)


def nonsaturating(*, backend: str, k: int) -> GANLoss:
    return GANLoss("nonsaturating", k, backend)


@hookimpl
def register_objectives(register):
    register(ObjectiveSpec("saturating", "original minimax: G minimises log(1 - D(G(z)))",
                           saturating, PARAMS, family="gan"))
    register(ObjectiveSpec("nonsaturating", "non-saturating: G maximises log D(G(z))",
                           nonsaturating, PARAMS, family="gan"))
