"""genbench.kernels: fused GAN/VAE loss and activation ops with eager, compiled and Triton backends.

Usable without the rest of genbench. See functional.py for the ops and dispatch.py for how a
backend is chosen.
"""

from .dispatch import backend_status, resolve_backend
from .functional import (
    ACTIVATIONS,
    BACKENDS,
    GAN_LOSS_KINDS,
    REDUCTIONS,
    batchnorm_act,
    batchnorm_act_with_stats,
    bias_act,
    discriminator_loss,
    generator_loss,
    vae_loss,
)

__all__ = ["ACTIVATIONS", "BACKENDS", "GAN_LOSS_KINDS", "REDUCTIONS", "backend_status",
           "batchnorm_act", "batchnorm_act_with_stats", "bias_act", "discriminator_loss",
           "generator_loss", "resolve_backend", "vae_loss"]
