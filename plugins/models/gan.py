"""The GAN model type: what every GAN model factory returns and the gan family trains, what a
class-conditional one needs of its data, and PacGAN's packing of examples for the discriminator
(Lin et al. 2018).

It lives with the models, below the family: the model plugins (dcgan.py, mlp_gan.py, sngan_cnn.py, ...) and the
family (plugins/families/gan.py) both import it from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genbench import DataInfo, Param


@dataclass
class GANModel:
    """What a GAN model factory returns: G maps z ~ N(0, I) of shape (B, z_dim) to data space."""

    generator: torch.nn.Module  # (B, z_dim) -> (B, *info.shape); conditional: (z, y (B,)) -> same
    discriminator: torch.nn.Module  # (B, *packed_shape(info.shape, pack)) -> (B,) logits; conditional: (x, y)
    z_dim: int
    pack: int = 1  # samples D judges together (PacGAN); 1 = an ordinary GAN
    num_classes: int = 0  # K > 0: class-conditional, labels y (B,) int64 in 0..K-1; 0 = unconditional
    classifier: torch.nn.Module | None = None  # ACGAN: (B, *shape) -> (B, K) class logits on D's trunk


LABELLED = "a labelled dataset (digits, mnist5k, cifar10, imagefolder, npz with y)"


def missing_labels(info: DataInfo) -> str | None:
    """Why a class-conditional GAN cannot train on this dataset (it has no labels), or None: the
    `fits` of conditional models, so a suite is refused before any work."""
    if info.n_classes is None:
        return f"the dataset has no class labels, which a class-conditional GAN is trained with; use {LABELLED}"
    return None


PACK_PARAM = Param(1, "images the discriminator judges together, stacked along the channels (PacGAN's m; "
                   "1 = an ordinary GAN)", min=1, max=64, id_if_default=False)  # the image GANs' `pack`


def packed_shape(shape: tuple[int, ...], pack: int) -> tuple[int, ...]:
    """The shape of one discriminator input when it judges `pack` examples of `shape` together:
    concatenated along the first axis, (C, H, W) -> (pack * C, H, W), (2,) -> (2 * pack,)."""
    return (pack * shape[0], *shape[1:])


def pack_samples(x: torch.Tensor, pack: int) -> torch.Tensor:
    """(m * pack, *shape) -> (m, pack * shape[0], *shape[1:]): consecutive groups of `pack`
    examples, concatenated along the first data axis."""
    return x.reshape(len(x) // pack, pack * x.shape[1], *x.shape[2:])
