"""cifar10: CIFAR-10 read from its "python version" batches, in a directory given by `path`.

`path` is the cifar-10-batches-py directory unpacked from cifar-10-python.tar.gz (or the
directory holding it). Each of data_batch_1..data_batch_5 (train, 50,000 images) and test_batch
(test, 10,000) is a pickled dict: b"data" (N, 3072) uint8, each row the 1024 red, then green,
then blue pixels of a 32x32 image in row-major order, and b"labels", N ints 0..9. Unpickling can
run code, so read only batches from a source you trust. Images (3, 32, 32), pixels 0..255
scaled to [-1, 1]. `info` checks that the six files exist, the factory reads them.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from genbench import Data, DataError, DataInfo, DatasetSpec, hookimpl

from .images import N_TRAIN_PARAM, image_data, path_param, required_path

FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
SOURCE = (
    "the cifar-10-batches-py directory (data_batch_1..data_batch_5 and test_batch) unpacked from "
    "CIFAR-10's \"python version\" tarball cifar-10-python.tar.gz, https://www.cs.toronto.edu/~kriz/cifar.html"
)
INFO = DataInfo(domain="image", shape=(3, 32, 32), n_classes=10)


def cifar_error(problem: str) -> DataError:
    return DataError(f"cifar10: {problem}; fix: set path = {SOURCE}.")


def batches_directory(path: str) -> Path:
    """The directory of the six batches: `path` itself, or its cifar-10-batches-py subdirectory."""
    directory = required_path("cifar10", path, SOURCE)
    if (directory / "cifar-10-batches-py").is_dir():
        directory = directory / "cifar-10-batches-py"
    if not directory.is_dir():
        raise cifar_error(f"directory {directory} does not exist")
    for name in FILES["train"] + FILES["test"]:
        if not (directory / name).is_file():
            raise cifar_error(f"no {name} in {directory}")
    return directory


def cifar_info(path: str, n_train: int) -> DataInfo:
    batches_directory(path)
    return INFO


def read_batch(file: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 3, 32, 32) uint8, labels (N,)) of one pickled batch."""
    try:
        with open(file, "rb") as stream:
            batch = pickle.load(stream, encoding="bytes")
    except Exception as exc:  # a damaged pickle fails in many ways (EOFError, UnpicklingError, ...)
        raise cifar_error(f"{file} is not a readable CIFAR-10 batch ({type(exc).__name__}: {exc})") from None
    wrong = f'{file} is not a CIFAR-10 batch (a dict of b"data", N x 3072 uint8, and b"labels", N ints)'
    if not isinstance(batch, dict) or not isinstance(batch.get(b"data"), np.ndarray):
        raise cifar_error(wrong)
    pixels, labels = batch[b"data"], np.asarray(batch.get(b"labels", []))
    if (pixels.dtype != np.uint8 or pixels.ndim != 2 or pixels.shape[1] != 3072
            or labels.dtype.kind not in "iu" or labels.shape != (len(pixels),)):
        raise cifar_error(wrong)
    if np.any((labels < 0) | (labels > 9)):
        raise cifar_error(f"{file} holds labels outside 0..9")
    return pixels.reshape(-1, *INFO.shape), labels.astype(np.int64)  # rows are R, G, B planes


def read_split(directory: Path, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 3, 32, 32) uint8, labels (N,)) of the named batches, in order."""
    batches = [read_batch(directory / name) for name in names]
    return np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])


def cifar10(path: str, n_train: int) -> Data:
    directory = batches_directory(path)
    train, test = read_split(directory, FILES["train"]), read_split(directory, FILES["test"])
    return image_data(INFO, 255, *train, *test, n_train=n_train)


@hookimpl
def register_datasets(register):
    register(DatasetSpec("cifar10", "CIFAR-10 from its python-pickle batches (cifar-10-batches-py), 3x32x32",
                         cifar10, {"path": path_param("the cifar-10-batches-py directory"), "n_train": N_TRAIN_PARAM},
                         info=cifar_info))
