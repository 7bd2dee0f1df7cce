"""npz: images (and labels) from one .npz file given by `path`, as numpy.savez writes it.

Arrays: x, the training images, (N, H, W) (grey), (N, H, W, C) or (N, C, H, W) with C = 1 or 3
(a last axis of 1 or 3 is taken as channels first); optional y, integer labels 0..K-1 (N,);
optional x_test and y_test in the same forms (no test split without x_test). Values: uint8 is
taken as 0..255 and float (16, 32 or 64 bit) as [0, 1] (anything outside, NaN and inf are errors),
both scaled to [-1, 1]. `info` reads the array headers and the labels (to count classes);
`check` reads the whole file before any work (every entry's CRC, the images' values); the
factory reads the images.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from genbench import Data, DataError, DataInfo, DatasetSpec, hookimpl

from .images import N_TRAIN_PARAM, image_data, path_param, required_path, with_sizes

ARRAYS = ("x", "y", "x_test", "y_test")
MAX_ARRAY_BYTES = 8 << 30  # one array, as its header declares it (checked before numpy allocates it)
SOURCE = (
    "an .npz file (numpy.savez) with images x: (N, H, W), (N, H, W, C) or (N, C, H, W), C = 1 or 3, "
    "uint8 0..255 or float in [0, 1]; optional integer labels y (N,); optional x_test, y_test"
)


def npz_error(problem: str) -> DataError:
    return DataError(f"npz: {problem}; fix: set path = {SOURCE}.")


def layout(shape: tuple[int, ...], file: Path, name: str) -> tuple[str, tuple[int, int, int]]:
    """("NHW" | "NHWC" | "NCHW", the (C, H, W) of one image) for an image array's shape."""
    if len(shape) == 3:
        return "NHW", (1, shape[1], shape[2])
    if len(shape) == 4 and shape[3] in (1, 3):
        return "NHWC", (shape[3], shape[1], shape[2])
    if len(shape) == 4 and shape[1] in (1, 3):
        return "NCHW", (shape[1], shape[2], shape[3])
    raise npz_error(f"{name} in {file} has shape {shape}, not images with 1 or 3 channels")


def npy_header(archive: zipfile.ZipFile, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) of array `name` in an open .npz, from its .npy header alone; the bytes it
    declares are checked against the archive's own size of the entry and a bound."""
    with archive.open(f"{name}.npy") as stream:
        major, _ = np.lib.format.read_magic(stream)
        read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(stream)
    if dtype.hasobject:
        raise ValueError(f"array {name} holds Python objects (a pickle), which genbench never loads")
    declared = math.prod(shape) * dtype.itemsize
    if declared > min(MAX_ARRAY_BYTES, archive.getinfo(f"{name}.npy").file_size):
        raise ValueError(f"array {name}'s header declares {declared:,} bytes, more than the file holds "
                         f"or {MAX_ARRAY_BYTES:,}")
    return shape, dtype


def headers(path: str) -> tuple[Path, dict[str, tuple[tuple[int, ...], np.dtype]]]:
    """(the file, name -> (shape, dtype) of each of ARRAYS it holds), with x present."""
    file = required_path("npz", path, SOURCE)
    if not file.is_file():
        raise npz_error(f"file {file} does not exist")
    try:
        with zipfile.ZipFile(file) as archive:
            names = [n.removesuffix(".npy") for n in archive.namelist()]
            found = {n: npy_header(archive, n) for n in ARRAYS if n in names}
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise npz_error(f"{file} is not a readable .npz ({exc})") from None
    if "x" not in found:
        raise npz_error(f"{file} has no array x (it holds {', '.join(names) or 'nothing'})")
    return file, found


def npz_info(path: str, n_train: int) -> DataInfo:
    file, found = headers(path)
    _, shape = layout(found["x"][0], file, "x")
    for name in ("x", "x_test"):
        if name in found and found[name][0][0] == 0:
            raise npz_error(f"{name} in {file} holds no images")
    for name, (_, dtype) in found.items():
        if name.startswith("x") and dtype != np.uint8 and dtype.kind != "f":
            raise npz_error(f"{name} in {file} has dtype {dtype}; images must be uint8 or float")
        if name.startswith("y") and dtype.kind not in "iu":
            raise npz_error(f"{name} in {file} has dtype {dtype}; labels must be integers")
    if "x_test" in found and layout(found["x_test"][0], file, "x_test")[1] != shape:
        raise npz_error(f"x_test in {file} holds images of another shape than x's {shape}")
    if "x_test" in found and found["x_test"][1] != found["x"][1]:
        raise npz_error(f"x and x_test in {file} differ in dtype; store both as uint8 or both as float")
    for x, y in (("x", "y"), ("x_test", "y_test")):
        if y in found and (x not in found or found[y][0] != found[x][0][:1]):
            raise npz_error(f"{y} in {file} must hold one label per image of {x}")
    n_test = found["x_test"][0][0] if "x_test" in found else 0
    label_arrays = [y for y in ("y", "y_test") if y in found]
    n_classes = None
    if label_arrays:
        with np.load(file, allow_pickle=False) as arrays:  # labels are small: read them to count the classes
            labels = np.concatenate([arrays[y] for y in label_arrays])
        if labels.min() < 0:
            raise npz_error(f"{file} holds negative labels; labels are class indices 0..K-1")
        n_classes = int(labels.max()) + 1
    info = DataInfo(domain="image", shape=shape, n_classes=n_classes)
    return with_sizes(info, "npz", found["x"][0][0], n_test, n_train)


def npz_check(path: str, n_train: int) -> None:
    """The whole file read once (DatasetSpec.check: before any work): every entry's CRC, and
    the images' values as the factory checks them."""
    file, found = headers(path)
    try:
        with zipfile.ZipFile(file) as archive:
            damaged = archive.testzip()
        if damaged is not None:
            raise npz_error(f"{file} is damaged: its entry {damaged} fails its CRC check")
        with np.load(file, allow_pickle=False) as arrays:
            for name in ("x", "x_test"):
                if name in found:
                    images(arrays[name], file, name)
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        raise npz_error(f"{file} is not a readable .npz ({exc})") from None


def images(x: np.ndarray, file: Path, name: str) -> np.ndarray:
    """(N, C, H, W) images of array x, whose values are checked to be in range."""
    order, _ = layout(x.shape, file, name)
    if order == "NHW":
        x = x[:, None]  # (N, 1, H, W)
    elif order == "NHWC":
        x = x.transpose(0, 3, 1, 2)  # (N, C, H, W)
    if x.dtype != np.uint8 and not (np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1):
        raise npz_error(f"{name} in {file} holds floats outside [0, 1]; store uint8 0..255 or floats in [0, 1]")
    return x


def npz(path: str, n_train: int) -> Data:
    info = npz_info(path, n_train)
    file, found = headers(path)
    with np.load(file, allow_pickle=False) as arrays:
        x = images(arrays["x"], file, "x")
        x_test = images(arrays["x_test"], file, "x_test") if "x_test" in found else None
        y, y_test = (arrays[name] if name in found else None for name in ("y", "y_test"))
    return image_data(info, 255 if x.dtype == np.uint8 else 1, x, y, x_test, y_test, n_train)


@hookimpl
def register_datasets(register):
    register(DatasetSpec("npz", "images (and labels) from an .npz file: x, y, x_test, y_test", npz,
                         {"path": path_param("the .npz file"), "n_train": N_TRAIN_PARAM}, info=npz_info,
                         check=npz_check))
