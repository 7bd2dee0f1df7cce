"""mnist: MNIST read from the IDX files of its distribution, in a directory given by `path`.

The directory holds train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
and t10k-labels-idx1-ubyte, each plain or gzipped (.gz). Fashion-MNIST ships in files of the
same names and format, so it loads too. The IDX format is parsed here: 2 zero bytes, a type code
(0x08 = unsigned byte), the number of dimensions, each dimension as a big-endian uint32, then
the data. Train 60,000 / test 10,000 as distributed; images (1, 28, 28), pixels 0..255 scaled to
[-1, 1]; labels 0..9. `info` checks the four files and their headers, the factory reads them.
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np

from genbench import Data, DataError, DataInfo, DatasetSpec, hookimpl

from .images import N_TRAIN_PARAM, image_data, path_param, required_path, with_sizes

FILES = {  # split -> (images, labels)
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SOURCE = (
    "the directory holding the four IDX files of the MNIST distribution, train-images-idx3-ubyte, "
    "train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each may be .gz), "
    "from http://yann.lecun.com/exdb/mnist/ or one of its mirrors"
)
UNSIGNED_BYTE = 0x08  # the IDX type code MNIST uses
HEADER_BYTES = {3: 16, 1: 8}  # ndim -> magic number + dimensions
MAX_BYTES = 1 << 30  # data bytes one IDX file may promise (MNIST's largest holds 47 MB)


def mnist_error(problem: str) -> DataError:
    return DataError(f"mnist: {problem}; fix: set path = {SOURCE}.")


def idx_file(directory: Path, name: str) -> Path:
    """directory/name or directory/name.gz, whichever exists."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise mnist_error(f"no {name} (or {name}.gz) in {directory}")


def read_bytes(stream, file: Path, n: int = -1) -> bytes:
    """n bytes of the stream (n = -1: the rest); DataError when it cannot be read."""
    try:
        return stream.read(n)
    except (OSError, EOFError) as exc:  # gzip: not a gzip file, or cut short
        raise mnist_error(f"{file} cannot be read ({exc})") from None


def read_header(stream, file: Path, ndim: int) -> tuple[int, ...]:
    """The dimensions in the IDX header at the start of the stream."""
    magic = read_bytes(stream, file, 4)
    if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] != UNSIGNED_BYTE or magic[3] != ndim:
        raise mnist_error(f"{file} is not an IDX file of {ndim}-d unsigned bytes (magic number {magic.hex()})")
    dims = read_bytes(stream, file, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise mnist_error(f"{file} is truncated inside its header")
    dims = tuple(int(d) for d in np.frombuffer(dims, dtype=">u4"))
    if math.prod(dims) > MAX_BYTES:
        raise mnist_error(f"{file} promises {' x '.join(map(str, dims))} = {math.prod(dims):,} bytes in its header, "
                          f"more than an image set of this kind holds ({MAX_BYTES:,} at most; corrupt)")
    return dims


def open_idx(file: Path):
    return gzip.open(file) if file.suffix == ".gz" else open(file, "rb")


def idx_dims(file: Path, ndim: int) -> tuple[int, ...]:
    """The dimensions of an IDX file, from its header (and, for a plain file, its size)."""
    with open_idx(file) as stream:
        dims = read_header(stream, file, ndim)
    if file.suffix != ".gz" and file.stat().st_size != HEADER_BYTES[ndim] + math.prod(dims):
        raise mnist_error(f"{file} has {file.stat().st_size:,} bytes, its header promises "
                          f"{HEADER_BYTES[ndim] + math.prod(dims):,} (truncated or corrupt)")
    return dims


def read_idx(file: Path, ndim: int) -> np.ndarray:
    """The uint8 array of an IDX file, of the dimensions its header gives (checked against a
    bound before anything is read: a gzip file is not read past what its header promises)."""
    with open_idx(file) as stream:
        dims = read_header(stream, file, ndim)
        body = read_bytes(stream, file, math.prod(dims) + 1)
    if len(body) != math.prod(dims):
        raise mnist_error(f"{file} holds {'more' if len(body) > math.prod(dims) else f'{len(body):,}'} data bytes, "
                          f"its header promises {math.prod(dims):,} (truncated or corrupt)")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def mnist_files(path: str) -> dict[str, tuple[Path, Path]]:
    """split -> (images file, labels file), once their headers are checked to agree."""
    directory = required_path("mnist", path, SOURCE)
    if not directory.is_dir():
        raise mnist_error(f"directory {directory} does not exist")
    files = {split: (idx_file(directory, images), idx_file(directory, labels))
             for split, (images, labels) in FILES.items()}
    sizes = set()
    for images, labels in files.values():
        n_images, rows, cols = idx_dims(images, 3)
        (n_labels,) = idx_dims(labels, 1)
        if n_images != n_labels:
            raise mnist_error(f"{images} holds {n_images:,} images but {labels} {n_labels:,} labels")
        sizes.add((rows, cols))
    if len(sizes) > 1:
        raise mnist_error(f"the train and t10k images differ in size: {sorted(sizes)}")
    return files


def mnist_info(path: str, n_train: int) -> DataInfo:
    files = mnist_files(path)
    available, rows, cols = idx_dims(files["train"][0], 3)
    n_test = idx_dims(files["test"][0], 3)[0]
    info = DataInfo(domain="image", shape=(1, rows, cols), n_classes=10)
    return with_sizes(info, "mnist", available, n_test, n_train)


def read_split(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 1, 28, 28) uint8, labels (N,)) of one split."""
    pixels, classes = read_idx(images, 3), read_idx(labels, 1)  # (N, 28, 28), (N,)
    if np.any(classes > 9):
        raise mnist_error(f"{labels} holds label {classes.max()}; MNIST labels are 0..9")
    return pixels[:, None], classes


def mnist(path: str, n_train: int) -> Data:
    info = mnist_info(path, n_train)
    files = mnist_files(path)
    return image_data(info, 255, *read_split(*files["train"]), *read_split(*files["test"]), n_train=n_train)


@hookimpl
def register_datasets(register):
    register(DatasetSpec("mnist", "MNIST from its four IDX files in a directory (plain or .gz), 1x28x28", mnist,
                         {"path": path_param("directory of the four MNIST IDX files"), "n_train": N_TRAIN_PARAM},
                         info=mnist_info))
