"""The SNGAN "standard CNN" (Miyato et al. 2018, "Spectral Normalization for Generative
Adversarial Networks", Table 3: the CIFAR-10 and STL-10 models).

On 32x32 images with the paper's width w = 64 (lReLU slope 0.1, spectral norm in D, BN in G):

    generator                                   discriminator
    z (128,) -> dense -> (512, 4, 4), BN ReLU   (3, 32, 32) -> conv 3x3 s1 -> (64, 32, 32)
    deconv 4x4 s2 -> (256, 8, 8), BN ReLU       conv 4x4 s2 -> (64, 16, 16)
    deconv 4x4 s2 -> (128, 16, 16), BN ReLU     conv 3x3 s1 -> (128, 16, 16)
    deconv 4x4 s2 -> (64, 32, 32), BN ReLU      conv 4x4 s2 -> (128, 8, 8)
    conv 3x3 s1 -> (3, 32, 32), tanh            conv 3x3 s1 -> (256, 8, 8)
                                                conv 4x4 s2 -> (256, 4, 4)
                                                conv 3x3 s1 -> (512, 4, 4)
                                                flatten, dense -> 1 logit

Other sides H = s * 2^n (dcgan's layout: 28 -> 7 * 2^2, 8 -> 4 * 2^1) take n stride-2 stages
each way around an s x s map, with widths w, 2w, ..., 2^n w: 28x28 starts G at (4w, 7, 7).
The dense layer is normalised and activated like every other generator layer but the last, as
in the authors' chainer code (here per channel of the (2^n w, s, s) map).

As in the authors' code (chainer-gan-lib), every weight ~ N(0, 0.02) and biases start at 0.
Convolutions carry no bias where a normalisation or BiasAct layer adds it (genbench.kernels).
`g_norm` and `d_norm` replace BN or spectral norm (plugins/models/gan_layers.py); batch and layer
norm follow every D convolution but the first. Class-conditional (num_classes > 0): G's batch
norms get per-class gains and biases; D's head is the projection of Miyato & Koyama 2018 over
phi(x), the flattened last feature map, or an ACGAN classifier over it (`d_head`).
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from genbench import DataInfo, ModelSpec, Param, hookimpl
from .gan import PACK_PARAM, GANModel, packed_shape

from .dcgan import MAX_START, layout
from .gan_layers import (CONDITIONAL_PARAMS, WEIGHTED, FeatureDiscriminator, LabelledSequential, classifier_of,
                         conditional_problem, norm_act, norm_param, spectral_norm_all)

PARAMS = {
    "width": Param(64, "channels w of G's last and D's first layer; layers use w, 2w, ..., 2^n w "
                   "(the paper: 64, so 512 at the widest on 32x32 images)", min=1),
    "z_dim": Param(128, "dimension of the noise z ~ N(0, I)", min=1),
    "g_norm": norm_param("batch", "the generator"),
    "d_norm": norm_param("spectral", "the discriminator"),
    **CONDITIONAL_PARAMS,
    "pack": PACK_PARAM,
}
DEFAULTS = {key: param.default for key, param in PARAMS.items()}
SLOPE = 0.1  # of every lReLU in D


def fits(info: DataInfo, **params) -> str | None:
    """Why the standard CNN cannot model this data with these parameters, or None."""
    p = {**DEFAULTS, **params}
    if len(info.shape) != 3 or info.shape[1] != info.shape[2]:
        return f"it needs square (C, H, W) images, got shape {info.shape}"
    if layout(info.shape[1]) is None:
        return (f"the side {info.shape[1]} is not s * 2^n with s <= {MAX_START} and n >= 1 "
                "(8, 16, 28, 32, 48 and 64 are)")
    return conditional_problem(info, p["num_classes"], p["d_head"], p["g_norm"], p["pack"])


def weights(info: DataInfo, **params) -> int:
    """Entries of the weight matrices and kernels (ModelSpec.weights), for data that fits."""
    p = {**DEFAULTS, **params}
    channels, side = info.shape[0], info.shape[1]
    start, n = layout(side)
    widths = [p["width"] * 2**i for i in range(n + 1)]  # [w, ..., 2^n w]
    generator = (p["z_dim"] * widths[-1] * start**2 + sum(16 * a * b for a, b in pairwise(widths))
                 + 9 * widths[0] * channels)
    trunk, c_in = 0, p["pack"] * channels
    for c in widths[:-1]:  # a 3x3 and a 4x4 convolution at each width
        trunk, c_in = trunk + 9 * c_in * c + 16 * c * c, c
    features = widths[-1] * start**2
    return generator + trunk + 9 * c_in * widths[-1] + features * (1 + p["num_classes"])


def init_normal(module: nn.Module) -> None:
    """Every weight ~ N(0, 0.02) and every bias 0 (normalisation layers keep gain 1, bias 0)."""
    for layer in module.modules():
        if isinstance(layer, WEIGHTED):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if getattr(layer, "bias", None) is not None:
                nn.init.zeros_(layer.bias)


class SNGANGenerator(nn.Module):
    def __init__(self, z_dim: int, width: int, shape: tuple[int, int, int], norm: str, num_classes: int):
        super().__init__()
        channels, side, _ = shape
        self.start, n = layout(side)
        widths = [width * 2**i for i in reversed(range(n + 1))]  # [2^n w, ..., 2w, w]

        def relu(c: int) -> nn.Module:  # fused BN: a generator is differentiated only once
            return norm_act(norm, c, "relu", 0.0, fused=True, num_classes=num_classes)

        self.dense = nn.Linear(z_dim, widths[0] * self.start**2, bias=False)  # (B, z_dim) -> (B, 2^n w s s)
        layers = [relu(widths[0])]
        for c_in, c_out in pairwise(widths):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),  # (B, c_in, h, h) -> (B, c_out, 2h, 2h)
                       relu(c_out)]
        layers.append(nn.Conv2d(width, channels, 3, 1, 1))  # (B, w, H, H) -> (B, C, H, H)
        self.net = LabelledSequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.dense(z).view(len(z), -1, self.start, self.start)  # (B, 2^n w, s, s)
        return torch.tanh(self.net(h, y))  # (B, C, H, W) in [-1, 1]


def discriminator_features(width: int, shape: tuple[int, int, int], norm: str) -> tuple[nn.Sequential, int]:
    """D's trunk phi: (B, C, H, W) -> (B, F), pairs of a 3x3 and a 4x4 stride-2 convolution at
    widths w, ..., 2^(n-1) w, then a 3x3 convolution to 2^n w, flattened; and F = 2^n w s s."""
    channels, side, _ = shape
    start, n = layout(side)

    def conv(c_in: int, c_out: int, kernel: int, stride: int, first: bool = False) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, kernel, stride, 1, bias=False),
                norm_act("none" if first else norm, c_out, "leaky_relu", SLOPE)]  # twice differentiable

    layers, c_in = [], channels
    for i in range(n):
        c = width * 2**i
        layers += conv(c_in, c, 3, 1, first=i == 0)  # (B, c_in, h, h) -> (B, c, h, h)
        layers += conv(c, c, 4, 2)  # (B, c, h, h) -> (B, c, h/2, h/2)
        c_in = c
    layers += conv(c_in, 2 * c_in, 3, 1)  # (B, 2^(n-1) w, s, s) -> (B, 2^n w, s, s)
    layers.append(nn.Flatten())  # (B, 2^n w s s)
    return nn.Sequential(*layers), 2 * c_in * start**2


def make_sngan_cnn(info: DataInfo, *, width: int = 64, z_dim: int = 128, g_norm: str = "batch",
                   d_norm: str = "spectral", num_classes: int = 0, d_head: str = "projection",
                   pack: int = 1) -> GANModel:
    problem = fits(info, g_norm=g_norm, num_classes=num_classes, d_head=d_head, pack=pack)
    if problem:
        raise ValueError(f"sngan-cnn cannot model {info.domain} data of shape {info.shape}: {problem}")
    generator = SNGANGenerator(z_dim, width, info.shape, g_norm, num_classes)
    features, n_features = discriminator_features(width, packed_shape(info.shape, pack), d_norm)
    discriminator = FeatureDiscriminator(features, n_features, num_classes, d_head)
    for network, norm in ((generator, g_norm), (discriminator, d_norm)):
        init_normal(network)
        if norm == "spectral":
            spectral_norm_all(network)
    return GANModel(generator, discriminator, z_dim, pack, num_classes, classifier_of(discriminator))


@hookimpl
def register_models(register):
    register(ModelSpec("sngan-cnn", "SNGAN's standard CNN (Miyato et al. 2018, Table 3): spectral norm in D, "
                       "BN in G; optional class conditioning", make_sngan_cnn, PARAMS, family="gan",
                       domains=("image",), fits=fits, weights=weights))
