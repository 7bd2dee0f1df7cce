"""The FID Inception-v3 network (TensorFlow's 2015-12-05 graph) with torch-fidelity's preprocessing.

The same layers, weights layout and forward pass as torch-fidelity's FeatureExtractorInceptionV3
(Apache-2.0, itself adapted from pytorch-fid), written out here in plain PyTorch because that
package imports torchvision, which does not import beside a CPU build of torch (and then breaks
torchmetrics' image metrics too), and because its loader unpickles with weights_only=False.
The input path is the one the published TensorFlow FIDs use: uint8 pixels, resized to 299x299
with TensorFlow 1's bilinear resize (align_corners=False: source = target * in/out, no half-pixel
offset, no antialiasing), then scaled to [-1, 1) by (x - 128) / 128. torchmetrics'
NoTrainInceptionV3 resizes with antialiased bilinear unless antialias=False is given, which
changes 28x28 and 32x32 inputs by about 20% and the FIDs with them.

tests/unit/test_metric_fidelity.py checks the features against torch-fidelity's own module when its
files are present, and the resize against a hand-computed case.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SIZE = 299  # the network's input side


def resize_like_tensorflow1(x: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """x (N, C, H, W) float -> (N, C, size, size): TF1 resize_bilinear with align_corners=False.

    Target pixel t samples the source at t * in/out (floor and next, clamped to the last pixel).
    torch-fidelity's interpolate_bilinear_2d_like_tensorflow1x(method='slow') in the same order
    of operations, so the result is bit-identical to it on the CPU."""

    def grid(n_in: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        position = torch.arange(size, dtype=x.dtype, device=x.device) * torch.tensor(n_in / size, dtype=torch.float32)
        low = position.long()
        return low, (low + 1).clamp_max(n_in - 1), position - low.float()

    y_lo, y_hi, dy = grid(x.shape[2])
    x_lo, x_hi, dx = grid(x.shape[3])
    top, bottom = x[:, :, y_lo, :], x[:, :, y_hi, :]  # (N, C, size, W)
    top = top[:, :, :, x_lo] + (top[:, :, :, x_hi] - top[:, :, :, x_lo]) * dx  # (N, C, size, size)
    bottom = bottom[:, :, :, x_lo] + (bottom[:, :, :, x_hi] - bottom[:, :, :, x_lo]) * dx
    return top + (bottom - top) * dy.view(-1, 1)


class Conv(nn.Module):
    """Convolution without bias, batch norm (eps 1e-3), ReLU: torch-fidelity's BasicConv2d."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def avg_pool(x: torch.Tensor) -> torch.Tensor:
    """3x3 average pool, stride 1, padding not counted (as TensorFlow)."""
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, in_channels: int, pool_features: int):
        super().__init__()
        self.branch1x1 = Conv(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = Conv(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = Conv(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = Conv(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = Conv(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = Conv(96, 96, kernel_size=3, padding=1)
        self.branch_pool = Conv(in_channels, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(avg_pool(x)),
        ], 1)


class InceptionB(nn.Module):
    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = Conv(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = Conv(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = Conv(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = Conv(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, kernel_size=3, stride=2),
        ], 1)


class InceptionC(nn.Module):
    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = Conv(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = Conv(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = Conv(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = Conv(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = Conv(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = Conv(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = Conv(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = Conv(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = Conv(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = Conv(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        double = self.branch7x7dbl_3(self.branch7x7dbl_2(self.branch7x7dbl_1(x)))
        return torch.cat([
            self.branch1x1(x),
            self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
            self.branch7x7dbl_5(self.branch7x7dbl_4(double)),
            self.branch_pool(avg_pool(x)),
        ], 1)


class InceptionD(nn.Module):
    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = Conv(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = Conv(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = Conv(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = Conv(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = Conv(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = Conv(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seven = self.branch7x7x3_2(self.branch7x7x3_1(x))
        return torch.cat([
            self.branch3x3_2(self.branch3x3_1(x)),
            self.branch7x7x3_4(self.branch7x7x3_3(seven)),
            F.max_pool2d(x, kernel_size=3, stride=2),
        ], 1)


class InceptionE(nn.Module):
    """The last two blocks; the TensorFlow graph pools the second one's branch with max, not average."""

    def __init__(self, in_channels: int, max_pool: bool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = Conv(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = Conv(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = Conv(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = Conv(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = Conv(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = Conv(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = Conv(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = Conv(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = Conv(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        single = self.branch3x3_1(x)
        double = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.max_pool else avg_pool(x)
        return torch.cat([
            self.branch1x1(x),
            self.branch3x3_2a(single), self.branch3x3_2b(single),
            self.branch3x3dbl_3a(double), self.branch3x3dbl_3b(double),
            self.branch_pool(pooled),
        ], 1)


class FIDInceptionV3(nn.Module):
    """uint8 images (N, 3, H, W) -> 2048 pool features and 1008 logits without bias ("logits_unbiased",
    what torch-fidelity's Inception Score uses). State dict keys as torch-fidelity's and pytorch-fid's
    weights files (Conv2d_1a_3x3.conv.weight, ..., fc.bias)."""

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = Conv(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = Conv(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = Conv(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = Conv(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = Conv(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if pixels.dtype != torch.uint8 or pixels.dim() != 4 or pixels.shape[1] != 3:
            raise ValueError(f"expected uint8 images (N, 3, H, W), got {pixels.dtype} {tuple(pixels.shape)}")
        x = resize_like_tensorflow1(pixels.float())  # (N, 3, 299, 299) in [0, 255]
        x = (x - 128) / 128
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))  # (N, 64, 147, 147)
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # (N, 64, 73, 73)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))  # (N, 192, 71, 71)
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # (N, 192, 35, 35)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)  # ... (N, 768, 17, 17) ... (N, 2048, 8, 8)
        features = F.adaptive_avg_pool2d(x, 1).flatten(1)  # (N, 2048)
        return features, features.mm(self.fc.weight.T)  # (N, 2048), (N, 1008)
