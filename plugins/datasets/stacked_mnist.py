"""stacked-mnist: three mnist5k digits as the red, green and blue channels, 1,000 modes.

The stacked MNIST of Metz et al. 2017 (Unrolled GAN), used by VEEGAN and PacGAN (Table 2) to
count mode collapse: every (red, green, blue) digit triple is a mode. Each channel's digit is
drawn uniformly at random, apart, from mnist5k's 4,000 train digits for the train split and from
its 1,000 test digits for the test split, once, from `data_seed`.
Images (3, 28, 28) in [-1, 1]; label 100 * red digit + 10 * green digit + blue digit, in 0..999.
extras["digits"] is the mnist5k Data the channels come from: the `modes` metric trains its
per-channel digit classifier on it.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from genbench import Data, DataInfo, DatasetSpec, Param, hookimpl

from .mnist5k import mnist5k

CHANNELS = 3
INFO = DataInfo(domain="image", shape=(CHANNELS, 28, 28), n_classes=10**CHANNELS, extras=("digits",))
PARAMS = {
    "n_train": Param(10_000, "stacked training images", min=1, max=200_000),
    "n_test": Param(2_000, "stacked test images", min=1, max=200_000),
    "data_seed": Param(0, "seed of the one-off draw of the digit triples", min=0),
}


def stack(images: torch.Tensor, labels: torch.Tensor, n: int,
          generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n images (n, 3, H, W), each channel a random digit of images (N, 1, H, W), and their
    labels (n,): the channels' digits read as one base-10 number (red first)."""
    which = torch.randint(len(images), (n, CHANNELS), generator=generator)  # (n, 3)
    stacked = images[which].flatten(1, 2)  # (n, 3, 1, H, W) -> (n, 3, H, W)
    digits = labels[which]  # (n, 3)
    return stacked, digits @ torch.tensor([100, 10, 1])  # (n, 3, H, W), (n,)


def stacked_info(n_train: int, n_test: int, data_seed: int) -> DataInfo:
    return replace(INFO, n_train=n_train, n_test=n_test)


def stacked_mnist(n_train: int, n_test: int, data_seed: int) -> Data:
    digits = mnist5k(0)
    generator = torch.Generator().manual_seed(data_seed)
    train, train_labels = stack(digits.train, digits.train_labels, n_train, generator)
    test, test_labels = stack(digits.test, digits.test_labels, n_test, generator)
    return Data(info=stacked_info(n_train, n_test, data_seed), train=train, test=test, train_labels=train_labels,
                test_labels=test_labels, extras={"digits": digits})


@hookimpl
def register_datasets(register):
    register(DatasetSpec("stacked-mnist", "three mnist5k digits as the colour channels, 1,000 modes, 3x28x28",
                         stacked_mnist, PARAMS, info=stacked_info))
