"""The GAN model type: what every GAN model factory returns and the gan family trains, and
PacGAN's packing of examples for the discriminator (Lin et al. 2018).

It lives with the models, below the family: the model plugins (dcgan.py, mlp_gan.py) and the
family (plugins/families/gan.py) both import it from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class GANModel:
    """What a GAN model factory returns: G maps z ~ N(0, I) of shape (B, z_dim) to data space."""

    generator: torch.nn.Module  # (B, z_dim) -> (B, *info.shape)
    discriminator: torch.nn.Module  # (B, *packed_shape(info.shape, pack)) -> (B,) logits
    z_dim: int
    pack: int = 1  # samples D judges together (PacGAN); 1 = an ordinary GAN


def packed_shape(shape: tuple[int, ...], pack: int) -> tuple[int, ...]:
    """The shape of one discriminator input when it judges `pack` examples of `shape` together:
    concatenated along the first axis, (C, H, W) -> (pack * C, H, W), (2,) -> (2 * pack,)."""
    return (pack * shape[0], *shape[1:])


def pack_samples(x: torch.Tensor, pack: int) -> torch.Tensor:
    """(m * pack, *shape) -> (m, pack * shape[0], *shape[1:]): consecutive groups of `pack`
    examples, concatenated along the first data axis."""
    return x.reshape(len(x) // pack, pack * x.shape[1], *x.shape[2:])
