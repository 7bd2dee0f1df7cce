"""imagefolder: images in a directory tree root/<class>/<image>.png|jpg|jpeg, given by `path`.

Classes are the sorted subdirectory names (label i = the i-th); files with other suffixes and
hidden folders are ignored. Each image is converted to grey (channels = 1) or RGB (channels = 3),
scaled so its shorter side is `size` and centre-cropped to size x size. A fixed stratified
`test_fraction` of the images is the test split (none at 0). Images (channels, size, size),
pixels 0..255 scaled to [-1, 1]. `info` lists the tree, the factory reads the images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from genbench import Data, DataError, DataInfo, DatasetSpec, Param, hookimpl

from .images import N_TRAIN_PARAM, image_data, path_param, required_path, stratified_split, with_sizes

SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_PIXELS = 1 << 26  # 67 million pixels (8192 x 8192): checked from the header, before decoding
SOURCE = "a directory with one subdirectory of .png/.jpg/.jpeg images per class"
PARAMS = {
    "path": path_param("root directory, one subdirectory per class"),
    "size": Param(32, "side of the square images after resizing and centre-cropping", min=1),
    "channels": Param(3, "1 (grey) or 3 (RGB)", choices=(1, 3)),
    "test_fraction": Param(0.1, "share of the images held out as the fixed stratified test split", min=0.0, max=0.9),
    "n_train": N_TRAIN_PARAM,
}


def folder_error(problem: str) -> DataError:
    return DataError(f"imagefolder: {problem}; fix: set path = {SOURCE}.")


def class_files(path: str) -> dict[str, list[Path]]:
    """class name -> its image files, both sorted; DataError for a missing root or an empty class."""
    root = required_path("imagefolder", path, SOURCE)
    if not root.is_dir():
        raise folder_error(f"directory {root} does not exist")
    folders = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not folders:
        raise folder_error(f"{root} has no class subdirectories")
    files = {}
    for folder in folders:
        files[folder.name] = sorted(f for f in folder.iterdir() if f.suffix.lower() in SUFFIXES)
        if not files[folder.name]:
            raise folder_error(f"class folder {folder} holds no {'/'.join(SUFFIXES)} files")
    return files


def folder_info(path: str, size: int, channels: int, test_fraction: float, n_train: int) -> DataInfo:
    files = class_files(path)
    total = sum(len(group) for group in files.values())
    n_test = round(test_fraction * total)
    info = DataInfo(domain="image", shape=(channels, size, size), n_classes=len(files))
    return with_sizes(info, "imagefolder", total - n_test, n_test, n_train)


def read_image(file: Path, size: int, channels: int) -> np.ndarray:
    """(channels, size, size) uint8: the image scaled so its shorter side is `size`, centre-cropped."""
    try:
        with Image.open(file) as image:  # lazy: reads the header, decodes nothing yet
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise folder_error(f"{file} is {width} x {height} pixels, more than {MAX_PIXELS:,}; "
                                   "shrink it (or remove it)")
            image = ImageOps.fit(image.convert("L" if channels == 1 else "RGB"), (size, size),
                                 Image.Resampling.BICUBIC)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:  # unidentified, truncated, bombs
        raise folder_error(f"{file} is not a readable image ({exc})") from None
    pixels = np.asarray(image)  # (size, size) or (size, size, 3)
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)


def imagefolder(path: str, size: int, channels: int, test_fraction: float, n_train: int) -> Data:
    info = folder_info(path, size, channels, test_fraction, n_train)
    files = class_files(path)
    pixels = np.stack([read_image(f, size, channels) for group in files.values() for f in group])  # (N, C, S, S)
    labels = np.concatenate([np.full(len(group), i) for i, group in enumerate(files.values())])  # (N,)
    n_test = round(test_fraction * len(labels))
    train, test = stratified_split(labels, n_test)
    if n_test == 0:
        return image_data(info, 255, pixels[train], labels[train], n_train=n_train)
    return image_data(info, 255, pixels[train], labels[train], pixels[test], labels[test], n_train)


@hookimpl
def register_datasets(register):
    register(DatasetSpec("imagefolder", "images in root/<class>/*.png|jpg, resized and centre-cropped",
                         imagefolder, PARAMS, info=folder_info))
