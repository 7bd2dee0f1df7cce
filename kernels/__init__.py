"""genbench.kernels: GAN/VAE loss and activation ops that dispatch to the active kernel backend.

Usable without the rest of genbench. functional.py holds the ops (and the op names and
signatures a backend implements), backend.py how a backend becomes active; reference.py,
compiled.py and triton/ hold the built-in op tables.
"""

from .backend import Backend, Usage, current, op, prepare, use
from .functional import (
    ACTIVATIONS,
    GAN_LOSS_KINDS,
    REDUCTIONS,
    batchnorm_act,
    batchnorm_act_with_stats,
    bias_act,
    discriminator_loss,
    generator_loss,
    vae_loss,
)

__all__ = ["ACTIVATIONS", "GAN_LOSS_KINDS", "REDUCTIONS", "Backend", "Usage",
           "batchnorm_act", "batchnorm_act_with_stats", "bias_act", "current",
           "discriminator_loss", "generator_loss", "op", "prepare", "use", "vae_loss"]
