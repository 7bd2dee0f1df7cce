"""The ResNet GAN for 32x32 images (Miyato et al. 2018, "Spectral Normalization for Generative
Adversarial Networks", Table 4: the CIFAR-10 ResNet, after Gulrajani et al. 2017's).

With the paper's width w = 128 (G's blocks have 2w = 256 channels, D's w = 128):

    generator                                  discriminator
    z (128,) -> dense -> (256, 4, 4)           (3, 32, 32) -> optimized down block -> (128, 16, 16)
    up block -> (256, 8, 8)                    down block -> (128, 8, 8)
    up block -> (256, 16, 16)                  block -> (128, 8, 8)
    up block -> (256, 32, 32)                  block -> (128, 8, 8)
    BN ReLU, conv 3x3 -> (3, 32, 32), tanh     ReLU, sum over H and W -> (128,), dense -> 1 logit

    up block:        BN ReLU, upsample x2 (nearest), conv 3x3, BN ReLU, conv 3x3
                     + shortcut: upsample x2, conv 1x1
    down block:      ReLU, conv 3x3, ReLU, conv 3x3, avgpool 2x2
                     + shortcut: conv 1x1, avgpool 2x2 (the identity in a block that keeps the
                     size and the width)
    optimized block: conv 3x3, ReLU, conv 3x3, avgpool 2x2  + shortcut: avgpool 2x2, conv 1x1

Other sides H = s * 2^n (dcgan's layout): G starts at s x s and has n up blocks (28x28: 7 x 7
and 2 blocks; 8x8: 4 x 4 and 1); D keeps its four blocks (two halvings, so H % 4 == 0) and sums
over whatever map is left.

Initialisation as in the authors' code: Xavier-uniform weights, gain sqrt(2) in the residual
branches and 1 in shortcuts, dense layers and the output convolution; biases 0. `g_norm` and
`d_norm` (plugins/models/gan_layers.py) replace G's BN and D's spectral norm: batch or layer norm
sit before each ReLU of a block (in D not on the image, nor before the final ReLU); none and
spectral leave plain ReLUs. Class-conditional (num_classes > 0): G's batch norms get per-class
gains and biases; D's head is the projection of Miyato & Koyama 2018 over the summed features
(their CIFAR-10 model) or an ACGAN classifier over them (`d_head`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genbench import DataInfo, ModelSpec, Param, hookimpl
from .gan import PACK_PARAM, GANModel, packed_shape

from .dcgan import MAX_START, layout
from .gan_layers import (CONDITIONAL_PARAMS, FeatureDiscriminator, call, classifier_of, conditional_problem,
                         norm_act, norm_param, spectral_norm_all)

PARAMS = {
    "width": Param(128, "channels w of D's blocks; G's blocks have 2w (the paper: 128 and 256)", min=1),
    "z_dim": Param(128, "dimension of the noise z ~ N(0, I)", min=1),
    "g_norm": norm_param("batch", "the generator"),
    "d_norm": norm_param("spectral", "the discriminator"),
    **CONDITIONAL_PARAMS,
    "pack": PACK_PARAM,
}
DEFAULTS = {key: param.default for key, param in PARAMS.items()}
RESIDUAL_GAIN = math.sqrt(2)


def fits(info: DataInfo, **params) -> str | None:
    """Why the ResNet cannot model this data with these parameters, or None."""
    p = {**DEFAULTS, **params}
    if len(info.shape) != 3 or info.shape[1] != info.shape[2]:
        return f"it needs square (C, H, W) images, got shape {info.shape}"
    side = info.shape[1]
    if layout(side) is None or side % 4:
        return (f"the side {side} is not s * 2^n with s <= {MAX_START}, n >= 1 and a multiple of 4 "
                "(8, 16, 28, 32 and 64 are)")
    return conditional_problem(info, p["num_classes"], p["d_head"], p["g_norm"], p["pack"])


def weights(info: DataInfo, **params) -> int:
    """Entries of the weight matrices and kernels (ModelSpec.weights), for data that fits: G's
    blocks at 2w channels, D's four blocks at w."""
    p = {**DEFAULTS, **params}
    channels, side = info.shape[0], info.shape[1]
    start, n = layout(side)
    g, w, c = 2 * p["width"], p["width"], p["pack"] * channels
    generator = p["z_dim"] * g * start**2 + n * 19 * g * g + 9 * g * channels  # 3x3, 3x3, 1x1 per block
    discriminator = 10 * c * w + 9 * w * w + 19 * w * w + 2 * 18 * w * w + w * (1 + p["num_classes"])
    return generator + discriminator


def conv(c_in: int, c_out: int, kernel: int, gain: float = 1.0) -> nn.Conv2d:
    """A size-preserving convolution, Xavier-uniform weights with `gain`, bias 0."""
    layer = nn.Conv2d(c_in, c_out, kernel, 1, kernel // 2)
    nn.init.xavier_uniform_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


def relu(norm: str, channels: int, *, generator: bool = False, num_classes: int = 0) -> nn.Module:
    """Batch or layer norm + ReLU, or a plain ReLU (none, spectral: the convolutions carry biases)."""
    if norm in ("batch", "layer"):
        return norm_act(norm, channels, "relu", 0.0, fused=generator, num_classes=num_classes)
    return nn.ReLU()


def up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")  # (B, C, h, h) -> (B, C, 2h, 2h)


class UpBlock(nn.Module):
    """G's block: (B, c_in, h, h) [, labels (B,)] -> (B, c_out, 2h, 2h)."""

    takes_labels = True

    def __init__(self, c_in: int, c_out: int, norm: str, num_classes: int):
        super().__init__()
        self.act1 = relu(norm, c_in, generator=True, num_classes=num_classes)
        self.conv1 = conv(c_in, c_out, 3, RESIDUAL_GAIN)
        self.act2 = relu(norm, c_out, generator=True, num_classes=num_classes)
        self.conv2 = conv(c_out, c_out, 3, RESIDUAL_GAIN)
        self.shortcut = conv(c_in, c_out, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(up(call(self.act1, x, y)))  # (B, c_out, 2h, 2h)
        h = self.conv2(call(self.act2, h, y))
        return h + self.shortcut(up(x))


class DownBlock(nn.Module):
    """D's block: (B, c_in, h, h) -> (B, c_out, h/2, h/2), or (B, c_out, h, h) without `down`.
    The `optimized` first block reads the image: no activation before its first convolution,
    and its shortcut pools before the 1x1 convolution."""

    def __init__(self, c_in: int, c_out: int, norm: str, *, down: bool, optimized: bool = False):
        super().__init__()
        self.act1 = nn.Identity() if optimized else relu(norm, c_in)
        self.conv1 = conv(c_in, c_out, 3, RESIDUAL_GAIN)
        self.act2 = relu(norm, c_out)
        self.conv2 = conv(c_out, c_out, 3, RESIDUAL_GAIN)
        self.shortcut = conv(c_in, c_out, 1) if down or c_in != c_out else nn.Identity()
        self.down, self.optimized = down, optimized

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(self.act2(self.conv1(self.act1(x))))  # (B, c_out, h, h)
        if self.optimized:
            return F.avg_pool2d(h, 2) + self.shortcut(F.avg_pool2d(x, 2))
        if self.down:
            return F.avg_pool2d(h, 2) + F.avg_pool2d(self.shortcut(x), 2)
        return h + self.shortcut(x)


class ResNetGenerator(nn.Module):
    def __init__(self, z_dim: int, width: int, shape: tuple[int, int, int], norm: str, num_classes: int):
        super().__init__()
        channels, side, _ = shape
        self.start, n = layout(side)
        self.dense = nn.Linear(z_dim, width * self.start**2)  # (B, z_dim) -> (B, width s s)
        nn.init.xavier_uniform_(self.dense.weight)
        nn.init.zeros_(self.dense.bias)
        self.blocks = nn.ModuleList(UpBlock(width, width, norm, num_classes) for _ in range(n))
        self.act = relu(norm, width, generator=True, num_classes=num_classes)
        self.out = conv(width, channels, 3)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.dense(z).view(len(z), -1, self.start, self.start)  # (B, width, s, s)
        for block in self.blocks:
            h = block(h, y)  # (B, width, h, h) -> (B, width, 2h, 2h)
        return torch.tanh(self.out(call(self.act, h, y)))  # (B, C, H, W) in [-1, 1]


class ResNetFeatures(nn.Module):
    """D's trunk phi: (B, C, H, W) -> (B, width), the block output's ReLU summed over H and W."""

    def __init__(self, channels: int, width: int, norm: str):
        super().__init__()
        self.blocks = nn.Sequential(
            DownBlock(channels, width, norm, down=True, optimized=True),  # (B, width, H/2, H/2)
            DownBlock(width, width, norm, down=True),  # (B, width, H/4, H/4)
            DownBlock(width, width, norm, down=False),
            DownBlock(width, width, norm, down=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.blocks(x)).sum(dim=(2, 3))  # (B, width)


def make_resnet_gan(info: DataInfo, *, width: int = 128, z_dim: int = 128, g_norm: str = "batch",
                    d_norm: str = "spectral", num_classes: int = 0, d_head: str = "projection",
                    pack: int = 1) -> GANModel:
    problem = fits(info, g_norm=g_norm, num_classes=num_classes, d_head=d_head, pack=pack)
    if problem:
        raise ValueError(f"resnet cannot model {info.domain} data of shape {info.shape}: {problem}")
    generator = ResNetGenerator(z_dim, 2 * width, info.shape, g_norm, num_classes)
    channels = packed_shape(info.shape, pack)[0]
    discriminator = FeatureDiscriminator(ResNetFeatures(channels, width, d_norm), width, num_classes, d_head)
    for head in (discriminator.psi, discriminator.embed, discriminator.classes):
        if head is not None:
            nn.init.xavier_uniform_(head.weight)
            if getattr(head, "bias", None) is not None:
                nn.init.zeros_(head.bias)
    for network, norm in ((generator, g_norm), (discriminator, d_norm)):
        if norm == "spectral":
            spectral_norm_all(network)
    return GANModel(generator, discriminator, z_dim, pack, num_classes, classifier_of(discriminator))


@hookimpl
def register_models(register):
    register(ModelSpec("resnet", "SNGAN's ResNet (Miyato et al. 2018, Table 4; Gulrajani et al. 2017): "
                       "residual up / down blocks; optional class conditioning", make_resnet_gan, PARAMS,
                       family="gan", domains=("image",), fits=fits, weights=weights))
