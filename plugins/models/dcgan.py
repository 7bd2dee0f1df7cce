"""DCGAN (Radford et al. 2016): a convolutional generator and discriminator sized from the data.

An image side H = s * 2^n with s <= 7 and n >= 1 gives n stride-2 layers each way around an
s x s map. With base width w:

    data       s  n  generator (the discriminator runs the same maps backwards)
    8x8x1      4  1  z -> (w, 4, 4) -> (1, 8, 8)
    28x28x1    7  2  z -> (2w, 7, 7) -> (w, 14, 14) -> (1, 28, 28)
    32x32x3    4  3  z -> (4w, 4, 4) -> (2w, 8, 8) -> (w, 16, 16) -> (3, 32, 32)

Generator: z as a (z_dim, 1, 1) map, a ConvTranspose2d with an s x s kernel projecting it to the
s x s map, then stride-2 ConvTranspose2d layers doubling the side and halving the channels;
BN + ReLU after every layer but the last, tanh at the end (images are in [-1, 1]).
Discriminator: stride-2 Conv2d layers halving the side and doubling the channels, each followed
by LeakyReLU(0.2), with BN on all but the first; a final s x s Conv2d gives one logit per example.
With w = 64 on 64x64 images this is pytorch/examples' dcgan (ngf = ndf = 64).

As in the paper, weights ~ N(0, 0.02), BN gamma ~ N(1, 0.02), beta = 0. Convolutions carry no
bias: BN's shift or a BiasAct layer adds it, fused with the activation by genbench.kernels.
Options: the normalisation of each network, `g_norm` and `d_norm` (none, batch, layer or spectral:
plugins/models/gan_layers.py; Gulrajani et al. 2017 drop BN from a critic under a gradient
penalty, Miyato et al. 2018 normalise D spectrally), and packing (PacGAN, Lin et al. 2018): with
`pack = p` the discriminator takes p images stacked along the channels. Layer norm, like batch
norm, follows every layer but the last (and, in D, the first).

The older booleans g_batchnorm, d_batchnorm and spectral_norm decide the normalisation while
g_norm / d_norm are "auto" (their default); d_batchnorm and spectral_norm together give BN and
spectral norm in D, a combination no single d_norm names. A g_norm / d_norm other than auto names
the whole normalisation: a boolean set away from its default must then agree with it.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn
from torch.nn.utils import parametrizations

from genbench import DataInfo, ModelSpec, Param, hookimpl

from .gan import PACK_PARAM, GANModel, packed_shape
from .gan_layers import norm_act as make_norm_act
from .gan_layers import norm_param
from .layers import BatchNormAct, BiasAct

PARAMS = {
    "width": Param(32, "base channels w; layers use w, 2w, 4w, ... (pytorch/examples: ngf = ndf = 64)", min=1),
    "z_dim": Param(100, "dimension of the noise z ~ N(0, I)", min=1),
    "g_batchnorm": Param(True, "batch norm in the generator"),
    "d_batchnorm": Param(True, "batch norm in the discriminator (turn it off under a gradient penalty)"),
    "spectral_norm": Param(False, "spectral normalisation of the discriminator's convolutions"),
    "pack": PACK_PARAM,
    "g_norm": norm_param("auto", "the generator", "batch if g_batchnorm else none"),
    "d_norm": norm_param("auto", "the discriminator", "from d_batchnorm and spectral_norm (both: BN and "
                         "spectral norm)"),
}
DEFAULTS = {key: param.default for key, param in PARAMS.items()}
MAX_START = 7  # the largest s x s map the generator starts from (7 x 7 for 28 x 28 images)


def layout(side: int) -> tuple[int, int] | None:
    """(s, n) with side = s * 2**n, s <= MAX_START and n >= 1: 32 -> (4, 3), 28 -> (7, 2), 8 -> (4, 1);
    None when the side has no such form (odd sides, or sides of 7 and below)."""
    start, n = side, 0
    while start > MAX_START and start % 2 == 0:
        start, n = start // 2, n + 1
    return (start, n) if start <= MAX_START and n >= 1 else None


def norms(g_norm: str, d_norm: str, g_batchnorm: bool, d_batchnorm: bool, spectral_norm: bool,
          **_) -> tuple[str, str, bool] | str:
    """(G's norm, D's norm other than spectral, whether D is spectrally normalised) from the
    parameters, or why they contradict each other."""
    for name, value, default, agrees in (
            ("g_batchnorm", g_batchnorm, True, g_norm != "batch"),
            ("d_batchnorm", d_batchnorm, True, d_norm != "batch"),
            ("spectral_norm", spectral_norm, False, d_norm in ("auto", "spectral"))):
        if value != default and not agrees:
            norm = "g_norm" if name == "g_batchnorm" else "d_norm"
            chosen = g_norm if norm == "g_norm" else d_norm
            return (f"{norm} = {chosen!r} contradicts {name} = {str(value).lower()}: drop {name} "
                    f"({norm} names the whole normalisation), or set {norm} = 'auto'")
    g = ("batch" if g_batchnorm else "none") if g_norm == "auto" else g_norm
    if d_norm == "auto":
        return g, ("batch" if d_batchnorm else "none"), spectral_norm
    return g, ("none" if d_norm == "spectral" else d_norm), d_norm == "spectral"


def fits(info: DataInfo, **params) -> str | None:
    """Why DCGAN cannot model images of this shape with these parameters, or None when it can."""
    if len(info.shape) != 3 or info.shape[1] != info.shape[2]:
        return f"it needs square (C, H, W) images, got shape {info.shape}"
    if layout(info.shape[1]) is None:
        return (f"the side {info.shape[1]} is not s * 2^n with s <= {MAX_START} and n >= 1 "
                "(8, 16, 28, 32 and 64 are)")
    chosen = norms(**{**DEFAULTS, **params})
    return chosen if isinstance(chosen, str) else None


def weights(info: DataInfo, **params) -> int:
    """Entries of the convolution kernels (ModelSpec.weights), for data that fits."""
    p = {**DEFAULTS, **params}
    channels, side = info.shape[0], info.shape[1]
    start, n = layout(side)
    widths = [p["width"] * 2**i for i in range(n)]  # D's [w, ..., 2^(n-1) w], G's reversed
    inner = sum(16 * a * b for a, b in pairwise(widths))
    generator = p["z_dim"] * widths[-1] * start**2 + inner + 16 * widths[0] * channels
    return generator + 16 * p["pack"] * channels * widths[0] + inner + widths[-1] * start**2


def conv(c_in: int, c_out: int, kernel: int, stride: int, padding: int, *, transpose: bool = False,
         spectral: bool = False) -> nn.Module:
    """A bias-free (transposed) convolution with N(0, 0.02) weights, optionally spectrally normalised."""
    layer = (nn.ConvTranspose2d if transpose else nn.Conv2d)(c_in, c_out, kernel, stride, padding, bias=False)
    nn.init.normal_(layer.weight, 0.0, 0.02)
    return parametrizations.spectral_norm(layer) if spectral else layer


def norm_act(channels: int, activation: str, negative_slope: float, norm: str, *, fused: bool) -> nn.Module:
    """The normalisation `norm` + activation; batch norm's gamma ~ N(1, 0.02), beta = 0."""
    layer = make_norm_act(norm, channels, activation, negative_slope, fused=fused)
    if isinstance(layer, BatchNormAct):
        nn.init.normal_(layer.weight, 1.0, 0.02)
    return layer


class DCGANGenerator(nn.Module):
    def __init__(self, z_dim: int, width: int, shape: tuple[int, int, int], norm: str):
        super().__init__()
        channels, side, _ = shape
        start, n = layout(side)
        widths = [width * 2**i for i in reversed(range(n))]  # [2^(n-1) w, ..., 2w, w]
        spectral = norm == "spectral"

        def relu(c: int) -> nn.Module:  # one fused kernel; a generator is differentiated only once
            return norm_act(c, "relu", 0.0, norm, fused=True)

        def up(c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> nn.Module:
            return conv(c_in, c_out, kernel, stride, padding, transpose=True, spectral=spectral)

        layers = [up(z_dim, widths[0], start, 1, 0),  # (B, z_dim, 1, 1) -> (B, 2^(n-1) w, s, s)
                  relu(widths[0])]
        for c_in, c_out in pairwise(widths):
            layers += [up(c_in, c_out, 4, 2, 1),  # (B, c_in, h, h) -> (B, c_out, 2h, 2h)
                       relu(c_out)]
        layers.append(up(width, channels, 4, 2, 1))  # (B, w, H/2, H/2) -> (B, C, H, H)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(z[:, :, None, None]))  # (B, z_dim) -> (B, C, H, W) in [-1, 1]


class DCGANDiscriminator(nn.Module):
    def __init__(self, width: int, shape: tuple[int, int, int], norm: str, spectral: bool):
        super().__init__()
        channels, side, _ = shape
        start, n = layout(side)
        widths = [width * 2**i for i in range(n)]  # [w, 2w, ..., 2^(n-1) w]

        def leaky(c: int) -> nn.Module:  # twice differentiable: penalties differentiate through D
            return norm_act(c, "leaky_relu", 0.2, norm, fused=False)

        layers = [conv(channels, width, 4, 2, 1, spectral=spectral),  # (B, C, H, H) -> (B, w, H/2, H/2)
                  BiasAct(width, "leaky_relu", 0.2)]  # no normalisation of the input layer
        for c_in, c_out in pairwise(widths):
            layers += [conv(c_in, c_out, 4, 2, 1, spectral=spectral),  # (B, c_in, h, h) -> (B, c_out, h/2, h/2)
                       leaky(c_out)]
        layers.append(conv(widths[-1], 1, start, 1, 0, spectral=spectral))  # (B, 2^(n-1) w, s, s) -> (B, 1, 1, 1)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(len(x))  # (B, C, H, W) -> (B,) logits


def make_dcgan(info: DataInfo, *, width: int = 32, z_dim: int = 100, g_batchnorm: bool = True,
               d_batchnorm: bool = True, spectral_norm: bool = False, pack: int = 1, g_norm: str = "auto",
               d_norm: str = "auto") -> GANModel:
    params = {"g_batchnorm": g_batchnorm, "d_batchnorm": d_batchnorm, "spectral_norm": spectral_norm,
              "g_norm": g_norm, "d_norm": d_norm, "pack": pack}
    problem = fits(info, **params)
    if problem:
        raise ValueError(f"dcgan cannot model {info.domain} data of shape {info.shape}: {problem}")
    g, d, d_spectral = norms(**params)
    return GANModel(
        generator=DCGANGenerator(z_dim, width, info.shape, g),
        discriminator=DCGANDiscriminator(width, packed_shape(info.shape, pack), d, d_spectral),
        z_dim=z_dim,
        pack=pack,
    )


@hookimpl
def register_models(register):
    register(ModelSpec("dcgan", "DCGAN (Radford et al. 2016): strided convolutions, BN, ReLU / LeakyReLU",
                       make_dcgan, PARAMS, family="gan", domains=("image",), fits=fits, weights=weights))
