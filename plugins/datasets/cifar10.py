"""cifar10: CIFAR-10 read from its "python version" batches, in a directory given by `path`.

`path` is the cifar-10-batches-py directory unpacked from cifar-10-python.tar.gz (or the
directory holding it). Each of data_batch_1..data_batch_5 (train, 50,000 images) and test_batch
(test, 10,000) is a pickled dict: b"data" (N, 3072) uint8, each row the 1024 red, then green,
then blue pixels of a 32x32 image in row-major order, b"labels", N ints 0..9, and optionally
b"batch_label" (bytes) and b"filenames" (N bytes). The batches are data, never code: they are
unpickled by a restricted unpickler that knows only how to rebuild numpy arrays and dtypes and
the plain containers, so a crafted file cannot run anything, and a file is size-checked before it
is read. Images (3, 32, 32), pixels 0..255 scaled to [-1, 1]. `info` checks that the six files
exist; `check` reads them all before any work (so `genbench run --dry-run` refuses a crafted or
damaged batch), and the factory reads them again.
"""

from __future__ import annotations

import _codecs
import io
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np

from genbench import Data, DataError, DataInfo, DatasetSpec, hookimpl

from .images import N_TRAIN_PARAM, image_data, path_param, required_path, with_sizes

FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
SOURCE = (
    "the cifar-10-batches-py directory (data_batch_1..data_batch_5 and test_batch) unpacked from "
    "CIFAR-10's \"python version\" tarball cifar-10-python.tar.gz, https://www.cs.toronto.edu/~kriz/cifar.html"
)
INFO = DataInfo(domain="image", shape=(3, 32, 32), n_classes=10)
KEYS = {b"data", b"labels", b"batch_label", b"filenames"}
MAX_BATCH_BYTES = 256 << 20  # a real batch is 31 MB (10,000 images); a bigger file is not one
MAX_IMAGES = MAX_BATCH_BYTES // 3072


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
    """INFO, once the six files are found; how many images they hold is known only once read
    (n_train when the suite sets it)."""
    batches_directory(path)
    return replace(INFO, n_train=n_train or None)


class _NdarrayType:
    """What the pickle gets for numpy.ndarray: an argument _reconstruct accepts, never callable."""


_ARRAY_CLASS = _NdarrayType()
_RECONSTRUCT = np.zeros(1).__reduce__()[0]  # numpy's _reconstruct (numpy.core or numpy._core)
_FROMBUFFER = np.zeros(1).__reduce_ex__(5)[0]  # numpy's _frombuffer, used by pickle protocol 5


def _reconstruct(subtype, shape, typecode):
    """numpy's _reconstruct for plain ndarrays of at most MAX_BATCH_BYTES elements (a pickle
    calls it with shape (0,), then fills the array from its state)."""
    if (subtype is not _ARRAY_CLASS or not isinstance(shape, tuple) or len(shape) > 2
            or not all(type(d) is int and 0 <= d <= MAX_BATCH_BYTES for d in shape)
            or int(np.prod(shape)) > MAX_BATCH_BYTES):
        raise pickle.UnpicklingError("an array other than a plain ndarray of bounded size")
    return _RECONSTRUCT(np.ndarray, shape, typecode)


def _frombuffer(buffer, dtype, shape, order):
    """numpy's _frombuffer for arrays of protocol 5 pickles: a view of bytes already read."""
    if not isinstance(buffer, (bytes, bytearray, pickle.PickleBuffer)) or not isinstance(dtype, np.dtype):
        raise pickle.UnpicklingError("an array other than a plain ndarray")
    return _FROMBUFFER(buffer, dtype, shape, order)


SAFE_GLOBALS = {  # everything a CIFAR-10 batch pickle names, from Python 2 cPickle or Python 3
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): _ARRAY_CLASS,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _codecs.encode,  # bytes, as Python 3 pickles them with protocol 2
}


class BatchUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds only numpy arrays, dtypes and the built-in containers: any
    other global (os.system, builtins.eval, a class's constructor) is an UnpicklingError."""

    def find_class(self, module: str, name: str):
        try:
            return SAFE_GLOBALS[module, name]
        except KeyError:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a CIFAR-10 batch never holds "
                                         "(refused: unpickling it could run code)") from None


def read_batch(file: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 3, 32, 32) uint8, labels (N,)) of one pickled batch, read as data only."""
    try:
        size = file.stat().st_size
        if size > MAX_BATCH_BYTES:
            raise cifar_error(f"{file} has {size:,} bytes, more than a CIFAR-10 batch ({MAX_BATCH_BYTES:,} at most)")
        with open(file, "rb") as stream:
            content = stream.read(MAX_BATCH_BYTES + 1)
        batch = BatchUnpickler(io.BytesIO(content), encoding="bytes").load()
    except DataError:
        raise
    except Exception as exc:  # a damaged or hostile pickle fails in many ways (EOFError, UnpicklingError, ...)
        raise cifar_error(f"{file} is not a readable CIFAR-10 batch ({type(exc).__name__}: {exc})") from None
    wrong = (f'{file} is not a CIFAR-10 batch (a dict of b"data", N x 3072 uint8, b"labels", N ints 0..9, '
             'and optionally b"batch_label" and b"filenames")')
    if not isinstance(batch, dict) or not isinstance(batch.get(b"data"), np.ndarray) or not set(batch) <= KEYS:
        raise cifar_error(wrong)
    pixels, labels = batch[b"data"], batch.get(b"labels")
    if pixels.dtype != np.uint8 or pixels.ndim != 2 or pixels.shape[1] != 3072 or len(pixels) > MAX_IMAGES:
        raise cifar_error(f"{wrong}: b\"data\" is {pixels.dtype} {pixels.shape}")
    if not isinstance(labels, list) or len(labels) != len(pixels) or not all(type(y) is int for y in labels):
        raise cifar_error(f'{wrong}: b"labels" is not a list of {len(pixels)} ints')
    if not isinstance(batch.get(b"batch_label", b""), bytes) or not (
            b"filenames" not in batch or (isinstance(batch[b"filenames"], list) and len(batch[b"filenames"]) ==
                                          len(pixels) and all(isinstance(f, bytes) for f in batch[b"filenames"]))):
        raise cifar_error(f'{wrong}: b"batch_label" or b"filenames" is malformed')
    if any(not 0 <= y <= 9 for y in labels):
        raise cifar_error(f"{file} holds labels outside 0..9")
    return pixels.reshape(-1, *INFO.shape), np.array(labels, dtype=np.int64)  # rows are R, G, B planes


def read_split(directory: Path, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 3, 32, 32) uint8, labels (N,)) of the named batches, in order."""
    batches = [read_batch(directory / name) for name in names]
    return np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])


def cifar10(path: str, n_train: int) -> Data:
    directory = batches_directory(path)
    train, test = read_split(directory, FILES["train"]), read_split(directory, FILES["test"])
    return image_data(cifar_info(path, n_train), 255, *train, *test, n_train=n_train)


def cifar_check(path: str, n_train: int) -> None:
    """Every batch read through the restricted unpickler and checked as the factory reads it,
    and n_train within the training images (DatasetSpec.check: before any work)."""
    directory = batches_directory(path)
    available = sum(len(read_batch(directory / name)[1]) for name in FILES["train"])
    read_batch(directory / FILES["test"][0])
    with_sizes(INFO, "cifar10", available, 0, n_train)


@hookimpl
def register_datasets(register):
    register(DatasetSpec("cifar10", "CIFAR-10 from its python-pickle batches (cifar-10-batches-py), 3x32x32",
                         cifar10, {"path": path_param("the cifar-10-batches-py directory"), "n_train": N_TRAIN_PARAM},
                         info=cifar_info, check=cifar_check))
