"""Normalisation and class conditioning shared by the GAN models.

Normalisation is a comparison axis (Kurach et al. 2019, "A Large-Scale Study on Regularization
and Normalization in GANs"): each network takes one of NORMS.

    none      bias + activation after each layer
    batch     batch norm (Ioffe & Szegedy 2015) + activation: BatchNormAct
    layer     layer norm (Ba et al. 2016) + activation: LayerNormAct. On a (B, C, H, W) map it
              normalises each example over all of C, H, W with a gain and bias per channel:
              GroupNorm(1, C), the layer norm of Gulrajani et al. 2017's code and of Kurach et
              al.'s compare_gan (begin_norm_axis=1, per-channel scale and offset)
    spectral  every weight of the network divided by its largest singular value (Miyato et al.
              2018): torch.nn.utils.parametrizations.spectral_norm, with bias + activation

Class conditioning (Miyato & Koyama 2018, "cGANs with Projection Discriminator"):
ConditionalBatchNormAct gives G's batch norm a gain and bias per class (de Vries et al. 2017);
FeatureDiscriminator ends D in psi(phi(x)) + <embed(y), phi(x)>, the projection head, or in
psi(phi(x)) beside an auxiliary classifier over phi(x) (ACGAN, Odena et al. 2017).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from genbench.kernels import functional as K
from torch import nn
from torch.nn.utils import parametrizations

from genbench import DataInfo, Param

from .layers import BatchNormAct, BiasAct

NORMS = ("none", "batch", "layer", "spectral")
NORM_HELP = ("none, batch (batch norm), layer (GroupNorm(1, C): over C, H, W per example) or spectral "
             "(spectral norm of every weight, Miyato et al. 2018)")
D_HEADS = ("projection", "acgan")
WEIGHTED = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)


def norm_param(default: str, network: str, auto: str = "") -> Param:
    """The `g_norm` / `d_norm` parameter: one of NORMS, with "auto" first when `auto` says how
    older boolean parameters decide it."""
    choices = ("auto", *NORMS) if auto else NORMS
    extra = f"; auto = {auto}" if auto else ""
    return Param(default, f"normalisation in {network}: {NORM_HELP}{extra}", choices=choices, id_if_default=False)


CONDITIONAL_PARAMS = {
    "num_classes": Param(0, "classes of a class-conditional GAN (conditional batch norm in G, labels to D); "
                         "0 = unconditional", min=0, id_if_default=False),
    "d_head": Param("projection", "D's class head when num_classes > 0: projection (Miyato & Koyama 2018) "
                    "or acgan (an auxiliary classifier over D's features, Odena et al. 2017)",
                    choices=D_HEADS, id_if_default=False),
}


def conditional_problem(info: DataInfo, num_classes: int, d_head: str, g_norm: str, pack: int) -> str | None:
    """Why these conditional options cannot be used together on this data, or None."""
    if num_classes == 0:
        return "d_head = 'acgan' needs a conditional model: set num_classes" if d_head == "acgan" else None
    if info.n_classes is None:
        return f"num_classes = {num_classes} needs labelled data, and this dataset has no class labels"
    if num_classes != info.n_classes:
        return (f"num_classes = {num_classes} but the dataset has {info.n_classes} classes: "
                f"set num_classes = {info.n_classes}")
    if g_norm != "batch":
        return f"a conditional generator conditions its batch norm: set g_norm = 'batch' (got {g_norm!r})"
    if pack > 1:
        return "a conditional discriminator judges one labelled image at a time: set pack = 1"
    return None


def spectral_norm_all(module: nn.Module) -> nn.Module:
    """Spectral normalisation of every linear, convolution and embedding weight in `module`
    (after their initialisation: the parametrization keeps the initialised weight as its
    original). Returns the module."""
    for layer in list(module.modules()):
        if isinstance(layer, WEIGHTED):
            parametrizations.spectral_norm(layer)
    return module


class LayerNormAct(nn.Module):
    """Layer norm over all features but the batch axis, a gain and bias per channel, then the
    activation: (B, C, ...) -> (B, C, ...). For (B, C, H, W) this is nn.GroupNorm(1, C); for
    (B, C) it is nn.LayerNorm(C). The bias and activation go through genbench.kernels."""

    def __init__(self, channels: int, activation: str, negative_slope: float, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.activation = activation
        self.negative_slope = negative_slope
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = F.group_norm(x, 1, self.weight, None, self.eps)  # (B, C, ...), scaled but not shifted
        return K.bias_act(z, self.bias, activation=self.activation, negative_slope=self.negative_slope)

    def extra_repr(self) -> str:
        return f"{len(self.bias)}, {self.activation}, negative_slope={self.negative_slope}"


class ConditionalBatchNormAct(nn.Module):
    """Batch norm with a gain and bias per class, then the activation (de Vries et al. 2017;
    Miyato & Koyama 2018's categorical conditional BN): (B, C, ...), labels (B,) -> (B, C, ...).
    Statistics as nn.BatchNorm2d's (batch ones in training mode, running ones in eval mode);
    gains start at 1 and biases at 0 for every class."""

    takes_labels = True

    def __init__(self, channels: int, num_classes: int, activation: str, negative_slope: float,
                 eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(num_classes, channels))
        self.shift = nn.Parameter(torch.zeros(num_classes, channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.activation = activation
        self.negative_slope = negative_slope
        self.eps = eps
        self.momentum = momentum

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        z = F.batch_norm(x, self.running_mean, self.running_var, None, None, self.training,
                         self.momentum, self.eps)  # (B, C, ...), normalised
        per_class = (len(x), x.shape[1]) + (1,) * (x.ndim - 2)
        z = z * self.gain[y].view(per_class) + self.shift[y].view(per_class)  # (B, C, ...)
        return F.leaky_relu(z, self.negative_slope) if self.activation == "leaky_relu" else F.relu(z)

    def extra_repr(self) -> str:
        return f"{self.gain.shape[1]}, classes={self.gain.shape[0]}, {self.activation}"


def norm_act(kind: str, channels: int, activation: str, negative_slope: float, *, fused: bool = False,
             num_classes: int = 0) -> nn.Module:
    """The layer after a bias-free linear map or convolution with `channels` outputs: its
    normalisation of kind `kind` (one of NORMS; spectral norm is on the weights, so here it is
    a bias), the bias and the activation. num_classes > 0 makes batch norm class-conditional.
    `fused` batch norm is one kernel call, differentiable once: right for a generator."""
    if kind == "batch" and num_classes:
        return ConditionalBatchNormAct(channels, num_classes, activation, negative_slope)
    if kind == "batch":
        return BatchNormAct(channels, activation, negative_slope, fused=fused)
    if kind == "layer":
        return LayerNormAct(channels, activation, negative_slope)
    return BiasAct(channels, activation, negative_slope)


def call(layer: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """layer(x, y) for a layer that takes labels (`takes_labels`), layer(x) otherwise."""
    return layer(x, y) if getattr(layer, "takes_labels", False) else layer(x)


class LabelledSequential(nn.Sequential):
    """nn.Sequential whose forward(x, y) hands the labels y to the layers that take them."""

    takes_labels = True

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self:
            x = call(layer, x, y)
        return x


class FeatureDiscriminator(nn.Module):
    """D(x, y) from a feature trunk phi: (B, *shape) -> (B, F) and a head on phi(x).

    Unconditional, or with an ACGAN head: D(x) = psi(phi(x)), psi linear (F -> 1), and `classes`
    (F -> num_classes) gives the auxiliary classifier's logits. Projection (Miyato & Koyama
    2018, eq. 3): D(x, y) = psi(phi(x)) + <embed(y), phi(x)>, embed a (num_classes, F) table.
    """

    def __init__(self, features: nn.Module, n_features: int, num_classes: int = 0,
                 head: str = "projection"):
        super().__init__()
        self.features = features
        self.psi = nn.Linear(n_features, 1)
        self.embed = nn.Embedding(num_classes, n_features) if num_classes and head == "projection" else None
        self.classes = nn.Linear(n_features, num_classes) if num_classes and head == "acgan" else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        phi = self.features(x)  # (B, F)
        out = self.psi(phi).squeeze(1)  # (B,)
        if self.embed is not None:
            if y is None:
                raise ValueError("a projection discriminator needs the labels: call it as D(x, y)")
            out = out + (self.embed(y) * phi).sum(1)  # + <embed(y), phi(x)>
        return out  # (B,) logits


class AuxiliaryClassifier(nn.Module):
    """ACGAN's classifier: D's own trunk and class head (the same module objects, so D's
    optimizer trains them), (B, *shape) -> (B, num_classes) class logits."""

    def __init__(self, discriminator: FeatureDiscriminator):
        super().__init__()
        self.features = discriminator.features
        self.classes = discriminator.classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classes(self.features(x))  # (B, F) -> (B, num_classes)


def classifier_of(discriminator: FeatureDiscriminator) -> AuxiliaryClassifier | None:
    """The auxiliary classifier of an ACGAN discriminator, None for any other."""
    return AuxiliaryClassifier(discriminator) if discriminator.classes is not None else None
