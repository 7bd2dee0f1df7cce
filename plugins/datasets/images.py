"""What the image datasets share: pixel scaling to [-1, 1], a stratified order for fixed splits
and subsets, assembling a Data, and the `path` parameter of the datasets read from disk. Not a
plugin itself (it registers nothing).

Every image dataset gives float32 images (N, C, H, W) in [-1, 1] and int64 labels.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from genbench import Data, DataError, DataInfo, Param


def to_unit_range(pixels: np.ndarray, top: float) -> torch.Tensor:
    """Pixels in [0, top] (any numeric dtype) -> float32 tensor in [-1, 1]: 0 -> -1, top -> 1."""
    scaled = np.asarray(pixels).astype(np.float32)  # a copy: the caller's array is left alone
    scaled /= np.float32(top / 2)  # in [0, 2]
    scaled -= 1
    return torch.from_numpy(scaled)


def stratified_order(labels: np.ndarray | None, n: int, seed: int = 0) -> np.ndarray:
    """A fixed permutation of range(n) in which every prefix has the class proportions of the
    whole (within one example per class), so the first k indices are a stratified sample of
    size k. Without labels it is a plain seeded permutation."""
    shuffled = np.random.default_rng(seed).permutation(n)  # (n,)
    if labels is None:
        return shuffled
    position = np.empty(n)  # how far into its own class each example comes, in (0, 1)
    for label in np.unique(labels):
        members = shuffled[labels[shuffled] == label]
        position[members] = (np.arange(len(members)) + 0.5) / len(members)
    return shuffled[np.argsort(position[shuffled], kind="stable")]


def stratified_split(labels: np.ndarray, n_test: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices): a fixed stratified split with n_test test examples."""
    order = stratified_order(labels, len(labels))
    return order[n_test:], order[:n_test]


def image_data(info: DataInfo, top: float, x_train: np.ndarray, y_train: np.ndarray | None,
               x_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
               n_train: int = 0) -> Data:
    """Data from pixel arrays (N, C, H, W) in [0, top] and integer labels (N,) or None; with
    n_train > 0, keep a fixed stratified subset of that many training examples."""
    if n_train:
        if n_train > len(x_train):
            raise DataError(f"n_train = {n_train} is more than the {len(x_train)} training images; "
                            f"fix: use n_train <= {len(x_train)}, or 0 for all of them.")
        keep = stratified_order(y_train, len(x_train))[:n_train]  # (n_train,)
        x_train = x_train[keep]
        y_train = None if y_train is None else y_train[keep]

    def labels(y: np.ndarray | None) -> torch.Tensor | None:
        return None if y is None else torch.from_numpy(np.array(y, dtype=np.int64))  # (N,), a copy

    return Data(
        info=info,
        train=to_unit_range(x_train, top),  # (N, C, H, W)
        test=None if x_test is None else to_unit_range(x_test, top),  # (M, C, H, W)
        train_labels=labels(y_train),
        test_labels=labels(y_test),
    )


N_TRAIN_PARAM = Param(0, "training images, a fixed stratified subset (0 = all)", min=0)


def with_sizes(info: DataInfo, dataset: str, available: int, n_test: int, n_train: int) -> DataInfo:
    """info with its splits' sizes: n_train of the `available` training images (0 = all of them)
    and n_test; DataError when there are fewer than n_train."""
    if n_train > available:
        raise DataError(f"{dataset}: n_train = {n_train:,} is more than the {available:,} training images; "
                        f"fix: use n_train <= {available:,}, or 0 for all of them.")
    return replace(info, n_train=n_train or available, n_test=n_test)


def path_param(what: str) -> Param:
    """The `path` parameter of a dataset read from disk: a string that must be set."""
    return Param("", f"required: {what}")


def required_path(dataset: str, path: str, expected: str) -> Path:
    """`path` as a Path (with ~ expanded), or DataError when it is not set."""
    if not path:
        raise DataError(f"{dataset} needs a path; fix: set path = {expected}.")
    return Path(path).expanduser()
