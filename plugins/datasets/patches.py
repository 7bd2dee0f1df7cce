"""patches32: 32x32 colour patches cut from photographs bundled with scikit-image, no download.

A small natural-image set standing in for CIFAR-10 offline. The five colour photographs in
PHOTOS are files inside the scikit-image package itself (no pooch, no network): astronaut,
chelsea (a cat), coffee (a cup), rocket (a launch) and the left view of stereo_motorcycle.
Label = index of the source photo in PHOTOS, so n_classes = 5; patches take the photos in turn,
so the classes are balanced (within one).

Each patch is a crop at a uniform random position, drawn from a generator seeded by
`data_seed`, mirrored left-right with probability 1/2 when `flip` is on. Train and test never
overlap: test patches are cut from the right-most 20% of each photo's columns, train patches
from the rest. Images (3, 32, 32): pixels 0..255 scaled to [-1, 1].
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np

from genbench import Data, DataInfo, DatasetSpec, Param, hookimpl

from .images import image_data

SIZE = 32
TEST_COLUMNS = 0.2  # share of each photo's width (on the right) that only test patches use


def bundled_photo(name: str) -> np.ndarray:
    """An (H, W, 3) uint8 photo bundled with scikit-image (imported here, when a photo is loaded:
    registering the dataset does not load it)."""
    from skimage import data

    return data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()


PHOTOS = {name: functools.partial(bundled_photo, name)  # name -> loader of its photo
          for name in ("astronaut", "chelsea", "coffee", "rocket", "motorcycle")}
INFO = DataInfo(domain="image", shape=(3, SIZE, SIZE), n_classes=len(PHOTOS))
PARAMS = {
    "n_train": Param(10_000, "training patches", min=1),
    "n_test": Param(2_000, "test patches (from parts of the photos no training patch touches)", min=1),
    "flip": Param(True, "mirror each patch left-right with probability 1/2"),
    "data_seed": Param(0, "seed of the crop positions and flips", min=0),
}


def crops(photo: np.ndarray, count: int, columns: tuple[int, int], flip: bool,
          rng: np.random.Generator) -> np.ndarray:
    """`count` random SIZE x SIZE patches (count, 3, SIZE, SIZE) of an (H, W, 3) photo, each
    lying within the columns [start, stop)."""
    start, stop = columns
    windows = np.lib.stride_tricks.sliding_window_view(photo, (SIZE, SIZE), axis=(0, 1))  # (H-31, W-31, 3, 32, 32)
    top = rng.integers(0, photo.shape[0] - SIZE + 1, count)  # (count,)
    left = rng.integers(start, stop - SIZE + 1, count)  # (count,)
    patches = windows[top, left]  # (count, 3, 32, 32), a copy
    if flip:
        mirror = rng.random(count) < 0.5  # (count,)
        patches[mirror] = patches[mirror][..., ::-1]
    return patches


def cut(photos: list[np.ndarray], count: int, test: bool, flip: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(patches (count, 3, 32, 32) uint8, labels (count,)) from the train or test part of each photo."""
    rng = np.random.default_rng([seed, int(test)])  # separate streams: n_test leaves train alone
    labels = np.arange(count) % len(photos)  # (count,), the photos in turn
    patches = np.empty((count, 3, SIZE, SIZE), dtype=np.uint8)
    for label, photo in enumerate(photos):
        width = photo.shape[1]
        boundary = width - round(TEST_COLUMNS * width)
        patches[labels == label] = crops(photo, int((labels == label).sum()),
                                         (boundary, width) if test else (0, boundary), flip, rng)
    return patches, labels


def patches_info(n_train: int, n_test: int, flip: bool, data_seed: int) -> DataInfo:
    return replace(INFO, n_train=n_train, n_test=n_test)


def patches32(n_train: int, n_test: int, flip: bool, data_seed: int) -> Data:
    photos = [load() for load in PHOTOS.values()]  # each (H, W, 3) uint8
    x_train, y_train = cut(photos, n_train, False, flip, data_seed)
    x_test, y_test = cut(photos, n_test, True, flip, data_seed)
    return image_data(patches_info(n_train, n_test, flip, data_seed), 255, x_train, y_train, x_test, y_test)


@hookimpl
def register_datasets(register):
    register(DatasetSpec("patches32", "32x32 colour patches of 5 photos bundled with scikit-image, 3x32x32",
                         patches32, PARAMS, info=patches_info))
