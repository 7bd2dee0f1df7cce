"""Binarised image datasets for models with binary visible units (RBMs) and Bernoulli likelihoods
(the IWAE metric): `digits-bin` and `mnist5k-bin`, the same splits as `digits` and `mnist5k`.

    binarize = "threshold":  x_bin = 1 where the [0, 1] pixel exceeds 1/2
    binarize = "stochastic": x_bin ~ Bernoulli([0, 1] pixel), drawn once from a fixed seed
                             (Salakhutdinov & Murray 2008), so every cell sees the same bits

Images stay in data space, {-1, 1} (0 -> -1, 1 -> 1). `Data.extras["binarize"]` (and
`DataInfo.extras`) says the data is binary and how it was made, so a metric needing binary data
(rbm-loglik) can refuse other data before any work. They are separate datasets rather than a
parameter of `digits` and `mnist5k` so that those datasets' parameters, and with them the ids of
every existing cell, stay as they were.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from genbench import Data, DataInfo, DatasetSpec, Param, hookimpl

from . import digits, mnist5k

STOCHASTIC_SEED = 0  # the one fixed draw of the stochastic binarisation
MODES = ("threshold", "stochastic")


def binarize_images(x: torch.Tensor, mode: str, generator: torch.Generator) -> torch.Tensor:
    """Images (N, ...) in [-1, 1] -> binary images (N, ...) in {-1, 1}."""
    p = (x + 1) / 2  # (N, ...) in [0, 1]
    if mode == "threshold":
        bits = p > 0.5
    else:
        bits = torch.rand(x.shape, generator=generator) < p
    return bits.float() * 2 - 1


def binarized(data: Data, mode: str) -> Data:
    """data with its train and test images binarised; the splits' draws are independent and fixed."""
    generator = torch.Generator().manual_seed(STOCHASTIC_SEED)
    return Data(binary_info(data.info), binarize_images(data.train, mode, generator),
                None if data.test is None else binarize_images(data.test, mode, generator),
                data.train_labels, data.test_labels, {**data.extras, "binarize": mode})


def binary_info(info: DataInfo) -> DataInfo:
    """The DataInfo of the binarised dataset: the source's, with "binarize" among its extras."""
    return replace(info, extras=(*info.extras, "binarize"))


PARAMS = {"binarize": Param("threshold", "how pixels become bits: threshold at 1/2, or one fixed Bernoulli draw "
                            "with the pixel's intensity", choices=MODES)}


def digits_bin_info(n_train: int, binarize: str) -> DataInfo:
    return binary_info(digits.digits_info(n_train))


def mnist5k_bin_info(n_train: int, binarize: str) -> DataInfo:
    return binary_info(mnist5k.mnist5k_info(n_train))


def digits_bin(n_train: int, binarize: str) -> Data:
    return binarized(digits.digits(n_train), binarize)


def mnist5k_bin(n_train: int, binarize: str) -> Data:
    return binarized(mnist5k.mnist5k(n_train), binarize)


@hookimpl
def register_datasets(register):
    register(DatasetSpec("digits-bin", "digits binarised (threshold or stochastic), pixels in {-1, 1}", digits_bin,
                         {**digits.PARAMS, **PARAMS}, info=digits_bin_info))
    register(DatasetSpec("mnist5k-bin", "mnist5k binarised (threshold or stochastic), pixels in {-1, 1}",
                         mnist5k_bin, {**mnist5k.PARAMS, **PARAMS}, info=mnist5k_bin_info))
