"""digits: scikit-learn's 1,797 handwritten digits (8x8, the UCI optdigits test set), no download.

Fixed stratified split: 1,437 train / 360 test (35 to 37 per class), the same everywhere.
Images (1, 8, 8): the 0..16 pixel counts scaled to [-1, 1]; labels 0..9.
"""

from __future__ import annotations

from dataclasses import replace

from genbench import Data, DataInfo, DatasetSpec, Param, hookimpl

from .images import image_data, stratified_split

N_TEST = 360
N_TRAIN = 1_437
INFO = DataInfo(domain="image", shape=(1, 8, 8), n_classes=10)
PARAMS = {
    "n_train": Param(0, f"training images, a fixed stratified subset (0 = all {N_TRAIN:,})", min=0, max=N_TRAIN),
}


def digits_info(n_train: int) -> DataInfo:
    return replace(INFO, n_train=n_train or N_TRAIN, n_test=N_TEST)


def digits(n_train: int) -> Data:
    from sklearn.datasets import load_digits  # imported here: scikit-learn takes ~1.5 s to import

    bunch = load_digits()
    pixels = bunch.images.reshape(-1, *INFO.shape)  # (1797, 1, 8, 8) float64 in 0..16
    labels = bunch.target  # (1797,)
    train, test = stratified_split(labels, N_TEST)
    return image_data(digits_info(n_train), 16, pixels[train], labels[train], pixels[test], labels[test], n_train)


@hookimpl
def register_datasets(register):
    register(DatasetSpec("digits", "scikit-learn's 1,797 8x8 digits, 1,437/360 split, 1x8x8", digits, PARAMS,
                         info=digits_info))
