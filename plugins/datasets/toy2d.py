"""2D Gaussian mixtures, the standard mode-collapse test beds (VEEGAN, PacGAN, Unrolled GAN).

ring8: 8 modes on the unit circle at angles 2*pi*i/8, sd 0.01.
grid25: 25 modes on {-4, -2, 0, 2, 4}^2, sd 0.05.
The sample is drawn once from `data_seed`, so every cell sees the same data.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch

from genbench import Data, DataInfo, DatasetSpec, Param, hookimpl

INFO = DataInfo(domain="points", shape=(2,), extras=("modes", "sd"))
PARAMS = {
    "n_train": Param(50_000, "training points", min=1),
    "n_test": Param(2_500, "held-out points", min=1),
    "data_seed": Param(0, "seed of the one-off draw of the data", min=0),
}


def ring8_modes() -> torch.Tensor:
    angles = 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8  # (8,), no endpoint repeat
    return torch.stack([angles.cos(), angles.sin()], dim=1).float()  # (8, 2)


def grid25_modes() -> torch.Tensor:
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    xs, ys = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], dim=1)  # (25, 2)


def mixture_info(n_train: int, n_test: int, data_seed: int) -> DataInfo:
    return replace(INFO, n_train=n_train, n_test=n_test)


def mixture(modes: torch.Tensor, sd: float, n_train: int, n_test: int, data_seed: int) -> Data:
    """Equal-weight isotropic Gaussians at `modes` (K, 2) with standard deviation `sd`."""
    generator = torch.Generator().manual_seed(data_seed)
    n = n_train + n_test
    which = torch.randint(len(modes), (n,), generator=generator)  # (n,)
    points = modes[which] + sd * torch.randn(n, 2, generator=generator)  # (n, 2)
    return Data(
        info=mixture_info(n_train, n_test, data_seed),
        train=points[:n_train],
        test=points[n_train:],
        extras={"modes": modes, "sd": sd},
    )


def ring8(n_train: int, n_test: int, data_seed: int) -> Data:
    return mixture(ring8_modes(), 0.01, n_train, n_test, data_seed)


def grid25(n_train: int, n_test: int, data_seed: int) -> Data:
    return mixture(grid25_modes(), 0.05, n_train, n_test, data_seed)


@hookimpl
def register_datasets(register):
    register(DatasetSpec("ring8", "8 Gaussians on the unit circle, sd 0.01", ring8, PARAMS, info=mixture_info))
    register(DatasetSpec("grid25", "25 Gaussians on a 5x5 grid {-4..4}^2, sd 0.05", grid25, PARAMS, info=mixture_info))
