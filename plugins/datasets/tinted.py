"""Digits with a sensitive attribute: `digits-tinted` and `mnist5k-tinted`, the same splits as
`digits` and `mnist5k`, in colour. Each image gets a binary attribute s, shown as its tint
(s = 0 blue, s = 1 red), and s goes with the binary task y = [digit >= 5] at a set rate:

    s = y with probability `rate`, else 1 - y      (one fixed draw per split, seed 0)

so rate = 0.5 makes s independent of y and rate = 1 makes s a copy of it. The tint multiplies
the grey image's [0, 1] intensity by (0.5, 0.5, 1) or (1, 0.5, 0.5): a model that reconstructs
x must see s, and a classifier reads s off the raw pixels perfectly. Images (3, H, W) in
[-1, 1]; labels are the digits 0..9; s is in Data.extras (see sensitive.py).
"""

from __future__ import annotations

from dataclasses import replace

import torch

from genbench import Data, DataInfo, DatasetSpec, Param, hookimpl

from . import digits, mnist5k
from .sensitive import SENSITIVE, TEST_SENSITIVE, binary_task, with_sensitive

DRAW_SEED = 0  # the one fixed draw of s
TINTS = torch.tensor([[0.5, 0.5, 1.0], [1.0, 0.5, 0.5]])  # (2, 3): the RGB factor of s = 0 (blue) and s = 1 (red)
PARAMS = {"rate": Param(0.8, "P(s = y), y = 1 for digits 5..9: how strongly the tint goes with the task "
                        "(0.5 = independent)", min=0.0, max=1.0)}


def draw_sensitive(labels: torch.Tensor, n_classes: int, rate: float, generator: torch.Generator) -> torch.Tensor:
    """s (N,) int64 in {0, 1}: the task y where a uniform draw falls below `rate`, else 1 - y."""
    y = binary_task(labels, n_classes)  # (N,)
    agree = torch.rand(len(y), generator=generator) < rate  # (N,)
    return torch.where(agree, y, 1 - y)


def tint(images: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Grey images (N, 1, H, W) in [-1, 1] and s (N,) -> RGB images (N, 3, H, W) in [-1, 1]."""
    unit = (images + 1) / 2  # (N, 1, H, W) in [0, 1]
    return unit * TINTS[s][:, :, None, None] * 2 - 1  # (N, 3, H, W)


def tinted_info(info: DataInfo) -> DataInfo:
    return with_sensitive(replace(info, shape=(3, *info.shape[1:])))


def tinted(data: Data, rate: float) -> Data:
    """data's grey images tinted by a sensitive attribute drawn with P(s = y) = rate."""
    generator = torch.Generator().manual_seed(DRAW_SEED)
    k = data.info.n_classes
    s_train = draw_sensitive(data.train_labels, k, rate, generator)
    s_test = draw_sensitive(data.test_labels, k, rate, generator)
    return Data(tinted_info(data.info), tint(data.train, s_train), tint(data.test, s_test),
                data.train_labels, data.test_labels, {**data.extras, SENSITIVE: s_train, TEST_SENSITIVE: s_test})


def digits_tinted_info(n_train: int, rate: float) -> DataInfo:
    return tinted_info(digits.digits_info(n_train))


def mnist5k_tinted_info(n_train: int, rate: float) -> DataInfo:
    return tinted_info(mnist5k.mnist5k_info(n_train))


def digits_tinted(n_train: int, rate: float) -> Data:
    return tinted(digits.digits(n_train), rate)


def mnist5k_tinted(n_train: int, rate: float) -> Data:
    return tinted(mnist5k.mnist5k(n_train), rate)


@hookimpl
def register_datasets(register):
    register(DatasetSpec("digits-tinted", "digits tinted blue or red by a sensitive s, s = (digit >= 5) "
                         "with probability rate",
                         digits_tinted, {**digits.PARAMS, **PARAMS}, info=digits_tinted_info))
    register(DatasetSpec("mnist5k-tinted", "mnist5k tinted blue or red by a sensitive s, "
                         "s = (digit >= 5) with probability rate", mnist5k_tinted, {**mnist5k.PARAMS, **PARAMS},
                         info=mnist5k_tinted_info))
