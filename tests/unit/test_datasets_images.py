"""The image datasets: the bundled real sets (mnist5k, digits, patches32) and the file loaders
(mnist, cifar10, imagefolder, npz), which read small files written here in the real formats."""

import gzip
import pickle
import socket
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from genbench import DataError, GenbenchError
from genbench.suite.config import load
from genbench.plugins.datasets.images import stratified_order
from genbench.plugins.datasets.patches import PHOTOS, SIZE, crops, cut
from genbench.api.registry import load_plugins


def load_dataset(registry, name, **params):
    """The dataset built through its spec, after checking it against the spec's info."""
    spec = registry.get("dataset", name)
    params = {key: param.default for key, param in spec.params.items()} | params
    info = spec.data_info(params)
    data = spec.factory(**params)
    assert data.info == info and info.domain == "image"
    return data


def check_images(data, n_train, n_test, shape, n_classes, real=True):
    """Shapes, dtypes and ranges every image dataset promises."""
    assert data.train.shape == (n_train, *shape) and data.train.dtype == torch.float32
    assert data.info.shape == shape and data.info.n_classes == n_classes
    splits = [(data.train, data.train_labels)]
    if n_test:
        assert data.test.shape == (n_test, *shape) and data.test.dtype == torch.float32
        splits.append((data.test, data.test_labels))
    else:
        assert data.test is None
    for images, labels in splits:
        assert images.min() >= -1 and images.max() <= 1
        if real:  # real pictures use the whole range: black and white pixels both occur
            assert images.min() < -0.99 and images.max() > 0.99
        if n_classes is not None:
            assert labels.dtype == torch.int64 and labels.shape == (len(images),)
            assert labels.min() >= 0 and labels.max() < n_classes


def scaled(pixels):
    """0..255 -> [-1, 1], computed independently of the loaders."""
    return torch.from_numpy(pixels / 127.5 - 1).float()


def assert_same(a, b):
    for field in ("train", "test", "train_labels", "test_labels"):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None and y is None) or torch.equal(x, y), field


def network_disabled(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


# ---- the shared helpers ------------------------------------------------------------------------


def test_stratified_order_prefixes_keep_class_proportions():
    labels = np.repeat(np.arange(3), [50, 30, 20])  # (100,), proportions 0.5 / 0.3 / 0.2
    order = stratified_order(labels, 100)
    assert sorted(order) == list(range(100)) and np.array_equal(order, stratified_order(labels, 100))
    for k in (1, 7, 10, 33, 100):
        counts = np.bincount(labels[order[:k]], minlength=3)
        assert np.all(np.abs(counts - k * np.array([0.5, 0.3, 0.2])) <= 1), (k, counts)
    assert not np.array_equal(stratified_order(None, 100), np.arange(100))


# ---- the bundled real datasets -----------------------------------------------------------------


@pytest.mark.slow
def test_mnist5k_real_digits_fixed_stratified_split(registry):
    data = load_dataset(registry, "mnist5k")
    check_images(data, 4000, 1000, (1, 28, 28), 10)
    assert torch.bincount(data.train_labels).tolist() == [400] * 10
    assert torch.bincount(data.test_labels).tolist() == [100] * 10
    assert_same(data, load_dataset(registry, "mnist5k"))
    small = load_dataset(registry, "mnist5k", n_train=500)
    assert torch.bincount(small.train_labels).tolist() == [50] * 10
    assert torch.equal(small.test, data.test)  # the subset leaves the test split alone
    full = {row.numpy().tobytes() for row in data.train}
    assert all(row.numpy().tobytes() in full for row in small.train)
    with pytest.raises(ValueError, match="above the maximum"):
        registry.get("dataset", "mnist5k").params["n_train"].check(4001)


def test_digits_fixed_stratified_split(registry):
    data = load_dataset(registry, "digits")
    check_images(data, 1437, 360, (1, 8, 8), 10)
    assert set(torch.bincount(data.test_labels).tolist()) <= {35, 36, 37}
    assert_same(data, load_dataset(registry, "digits"))
    assert load_dataset(registry, "digits", n_train=100).train.shape == (100, 1, 8, 8)


def test_patches32_photos_are_bundled_and_load_without_network(monkeypatch):
    network_disabled(monkeypatch)
    for name, photo in PHOTOS.items():
        image = photo()
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, name
        assert min(image.shape[:2]) >= 4 * SIZE, name


def test_patches32_shapes_balance_and_determinism(registry, monkeypatch):
    network_disabled(monkeypatch)
    data = load_dataset(registry, "patches32", n_train=1000, n_test=250)
    check_images(data, 1000, 250, (3, 32, 32), len(PHOTOS))
    assert torch.bincount(data.train_labels).tolist() == [200] * 5
    assert torch.bincount(data.test_labels).tolist() == [50] * 5
    assert_same(data, load_dataset(registry, "patches32", n_train=1000, n_test=250))
    fewer_test = load_dataset(registry, "patches32", n_train=1000, n_test=100)
    assert torch.equal(fewer_test.train, data.train)  # n_test draws from its own stream
    assert not torch.equal(load_dataset(registry, "patches32", n_train=1000, n_test=250, data_seed=1).train,
                           data.train)
    train = {row.numpy().tobytes() for row in data.train}
    textured = [row for row in data.test if row.std() > 0]  # flat patches (astronaut's black corner) recur
    assert len(textured) > 240 and not any(row.numpy().tobytes() in train for row in textured)


def test_patch_crops_stay_in_their_columns_and_flip():
    photo = np.broadcast_to(np.arange(200, dtype=np.uint8)[None, :, None], (40, 200, 3)).copy()  # value = column
    rng = np.random.default_rng(0)
    patches = crops(photo, 50, (10, 60), False, rng)  # (50, 3, 32, 32)
    assert patches.shape == (50, 3, 32, 32)
    assert patches.min() >= 10 and patches.max() < 60
    assert np.all(np.diff(patches.astype(int), axis=3) == 1)  # unflipped: columns increase
    flipped = crops(photo, 200, (0, 200), True, rng)
    decreasing = np.all(np.diff(flipped.astype(int), axis=3) == -1, axis=(1, 2, 3))
    assert 50 < decreasing.sum() < 150  # about half mirrored
    test_patches, labels = cut([photo], 30, True, False, 0)
    assert test_patches.min() >= 160 and labels.tolist() == [0] * 30  # the right-most 20%: columns 160..199
    train_patches, _ = cut([photo], 30, False, False, 0)
    assert train_patches.max() < 160


# ---- mnist: IDX files --------------------------------------------------------------------------

IDX_NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def write_idx(path, array, gz=False):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if gz else open
    with opener(f"{path}.gz" if gz else path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def tiny_images(n, shape, seed):
    images = np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)
    images[0].flat[0], images[0].flat[1] = 0, 255  # both ends of the range occur
    return images


@pytest.fixture
def mnist_dir(tmp_path):
    def write(gz=False):
        directory = tmp_path / ("gz" if gz else "plain")
        directory.mkdir()
        arrays = [tiny_images(20, (28, 28), 0), np.arange(20) % 10, tiny_images(10, (28, 28), 1), np.arange(10)]
        for name, array in zip(IDX_NAMES, arrays, strict=True):
            write_idx(directory / name, array, gz)
        return directory, arrays

    return write


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_idx_files(registry, mnist_dir, gz):
    directory, (x, y, x_test, y_test) = mnist_dir(gz)
    data = load_dataset(registry, "mnist", path=str(directory))
    check_images(data, 20, 10, (1, 28, 28), 10)
    assert torch.allclose(data.train, scaled(x[:, None]), atol=1e-6)  # order kept
    assert data.train_labels.tolist() == y.tolist() and data.test_labels.tolist() == y_test.tolist()
    assert torch.allclose(data.test[:, 0], scaled(x_test), atol=1e-6)
    assert_same(data, load_dataset(registry, "mnist", path=str(directory)))
    assert sorted(load_dataset(registry, "mnist", path=str(directory), n_train=10).train_labels.tolist()) == list(range(10))


def mnist_error(registry, path, build=False):
    spec = registry.get("dataset", "mnist")
    with pytest.raises(DataError) as raised:
        spec.factory(path=str(path), n_train=0) if build else spec.data_info({"path": str(path), "n_train": 0})
    message = str(raised.value)
    assert all(name in message for name in IDX_NAMES) and "MNIST distribution" in message
    return message


def test_mnist_missing_or_malformed_files_are_data_errors_from_info(registry, mnist_dir, tmp_path):
    assert "mnist needs a path" in mnist_error(registry, "")
    assert "does not exist" in mnist_error(registry, tmp_path / "nowhere")
    directory, (x, *_) = mnist_dir(False)
    (directory / "t10k-labels-idx1-ubyte").unlink()
    assert "no t10k-labels-idx1-ubyte (or t10k-labels-idx1-ubyte.gz) in" in mnist_error(registry, directory)
    write_idx(directory / "t10k-labels-idx1-ubyte", np.arange(9))
    assert "holds 10 images but" in mnist_error(registry, directory)
    images = directory / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    assert f"{images} has 15,596 bytes, its header promises 15,696 (truncated" in mnist_error(registry, directory)
    images.write_bytes(b"\x00\x00\x08\x01" + bytes(100))
    assert f"{images} is not an IDX file of 3-d unsigned bytes" in mnist_error(registry, directory)


def test_mnist_truncated_gzip_is_a_data_error_when_loading(registry, mnist_dir):
    directory, _ = mnist_dir(True)
    images = directory / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:-2000])
    registry.get("dataset", "mnist").data_info({"path": str(directory), "n_train": 0})  # the header is intact
    assert str(images) in mnist_error(registry, directory, build=True)


def test_n_train_above_the_training_set_is_a_data_error(registry, mnist_dir):
    directory, _ = mnist_dir(False)
    with pytest.raises(DataError, match="n_train = 21 is more than the 20 training images"):
        load_dataset(registry, "mnist", path=str(directory), n_train=21)


def test_suite_validation_rejects_a_missing_mnist_path_before_any_work(tmp_path):
    suite = tmp_path / "suite.toml"
    suite.write_text(f"""
[matrix]
datasets = [{{ name = "mnist", path = "{tmp_path / 'no-mnist-here'}" }}]
models = ["mlp"]
objectives = ["nonsaturating"]
""")
    with pytest.raises(GenbenchError) as raised:
        load(str(suite), load_plugins(entry_points=False))
    assert isinstance(raised.value, DataError)
    assert "no-mnist-here" in str(raised.value) and "train-images-idx3-ubyte" in str(raised.value)


# ---- cifar10: python-pickle batches ------------------------------------------------------------

CIFAR_NAMES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


@pytest.fixture
def cifar_dir(tmp_path):
    directory = tmp_path / "cifar-10-batches-py"
    directory.mkdir()
    batches = {}
    for i, name in enumerate(CIFAR_NAMES):
        batch = {b"data": tiny_images(4, (3072,), i), b"labels": [(4 * i + j) % 10 for j in range(4)],
                 b"batch_label": name.encode(), b"filenames": [b"x.png"] * 4}
        (directory / name).write_bytes(pickle.dumps(batch))
        batches[name] = batch
    return directory, batches


def test_cifar10_reads_pickle_batches(registry, cifar_dir):
    directory, batches = cifar_dir
    data = load_dataset(registry, "cifar10", path=str(directory))
    check_images(data, 20, 4, (3, 32, 32), 10)
    row = batches["data_batch_1"][b"data"][1]  # (3072,): red, green, blue planes
    assert torch.allclose(data.train[1, 0], scaled(row[:1024].reshape(32, 32)), atol=1e-6)
    assert torch.allclose(data.train[1, 2], scaled(row[2048:].reshape(32, 32)), atol=1e-6)
    assert data.train_labels.tolist() == [i % 10 for i in range(20)]
    assert data.test_labels.tolist() == batches["test_batch"][b"labels"]
    assert_same(data, load_dataset(registry, "cifar10", path=str(directory.parent)))  # the parent works too


def cifar_error(registry, path, build=False):
    spec = registry.get("dataset", "cifar10")
    with pytest.raises(DataError) as raised:
        spec.factory(path=str(path), n_train=0) if build else spec.data_info({"path": str(path), "n_train": 0})
    message = str(raised.value)
    assert "cifar-10-batches-py" in message and "python version" in message and "cifar-10-python.tar.gz" in message
    return message


def test_cifar10_missing_or_malformed_batches_are_data_errors(registry, cifar_dir, tmp_path):
    assert "does not exist" in cifar_error(registry, tmp_path / "nowhere")
    directory, _ = cifar_dir
    test_batch = directory / "test_batch"
    content = test_batch.read_bytes()
    test_batch.unlink()
    assert "no test_batch in" in cifar_error(registry, directory)
    test_batch.write_bytes(content[: len(content) // 2])
    registry.get("dataset", "cifar10").data_info({"path": str(directory), "n_train": 0})
    assert f"{test_batch} is not a readable CIFAR-10 batch" in cifar_error(registry, directory, build=True)
    test_batch.write_bytes(pickle.dumps({b"labels": [1, 2]}))
    assert f"{test_batch} is not a CIFAR-10 batch" in cifar_error(registry, directory, build=True)


class RunsCode:
    """Unpickled by plain pickle, this calls `function(*args)`: a crafted batch file."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def test_cifar10_batches_are_data_a_crafted_pickle_never_runs(registry, cifar_dir, tmp_path):
    import builtins
    import os

    directory, batches = cifar_dir
    marker = tmp_path / "pwned"
    test_batch = directory / "test_batch"
    for payload in (RunsCode(os.system, f"touch {marker}"), RunsCode(builtins.open, str(marker), "w"),
                    RunsCode(builtins.exec, f"open({str(marker)!r}, 'w')"),
                    {**batches["test_batch"], b"data": RunsCode(os.system, f"touch {marker}")}):
        test_batch.write_bytes(pickle.dumps(payload, protocol=2))
        message = cifar_error(registry, directory, build=True)
        assert f"{test_batch} is not a readable CIFAR-10 batch" in message
        assert "which a CIFAR-10 batch never holds" in message
        assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar10_reads_batches_of_every_pickle_protocol(registry, cifar_dir, protocol):
    directory, batches = cifar_dir
    for name, batch in batches.items():
        (directory / name).write_bytes(pickle.dumps(batch, protocol=protocol))
    data = load_dataset(registry, "cifar10", path=str(directory))
    assert data.test_labels.tolist() == batches["test_batch"][b"labels"]


@pytest.mark.parametrize("change, fragment", [
    ({b"extra": b"x"}, "is not a CIFAR-10 batch"),
    ({b"data": np.zeros((4, 3072), dtype=np.float32)}, "b\"data\" is float32 (4, 3072)"),
    ({b"data": np.zeros((4, 3071), dtype=np.uint8)}, "(4, 3071)"),
    ({b"labels": [1, 2, 3]}, "not a list of 4 ints"),
    ({b"labels": [1, 2, 3, "4"]}, "not a list of 4 ints"),
    ({b"labels": np.arange(4)}, "not a list of 4 ints"),
    ({b"labels": [1, 2, 3, 10]}, "labels outside 0..9"),
    ({b"labels": [1, 2, 3, -1]}, "labels outside 0..9"),
    ({b"filenames": [b"a.png"]}, "b\"filenames\" is malformed"),
    ({b"batch_label": 3}, "b\"batch_label\" or"),
])
def test_cifar10_batches_hold_only_what_cifar10_has(registry, cifar_dir, change, fragment):
    directory, batches = cifar_dir
    test_batch = directory / "test_batch"
    test_batch.write_bytes(pickle.dumps({**batches["test_batch"], **change}))
    message = cifar_error(registry, directory, build=True)
    assert str(test_batch) in message and fragment in message


def test_cifar10_batch_sizes_are_checked_before_reading(registry, cifar_dir, monkeypatch):
    from genbench.plugins.datasets import cifar10

    directory, batches = cifar_dir
    monkeypatch.setattr(cifar10, "MAX_BATCH_BYTES", 1000)
    assert "more than a CIFAR-10 batch" in cifar_error(registry, directory, build=True)
    monkeypatch.setattr(cifar10, "MAX_BATCH_BYTES", 10**6)
    # an array whose pickle asks numpy for more elements than a batch holds is refused before allocation
    huge = RunsCode(np.zeros(1).__reduce__()[0], np.ndarray, (10**7, 3072), b"b")
    (directory / "test_batch").write_bytes(pickle.dumps({b"data": huge}, protocol=2))
    assert "plain ndarray of bounded size" in cifar_error(registry, directory, build=True)


# ---- imagefolder -------------------------------------------------------------------------------


@pytest.fixture
def image_tree(tmp_path):
    root = tmp_path / "pictures"
    for name, colour, suffix in (("cat", (255, 0, 0), ".png"), ("dog", (0, 0, 255), ".jpg")):
        (root / name).mkdir(parents=True)
        for i in range(4):
            image = np.zeros((20, 40, 3), dtype=np.uint8)  # (H, W, 3): the centre 20x20 has the colour
            image[:, 10:30] = colour
            Image.fromarray(image).save(root / name / f"{i}{suffix}", quality=100)
    (root / "dog" / "notes.txt").write_text("not an image")
    (root / ".cache").mkdir()
    return root


def test_imagefolder_reads_resizes_and_centre_crops(registry, image_tree):
    data = load_dataset(registry, "imagefolder", path=str(image_tree), size=16, test_fraction=0.25)
    check_images(data, 6, 2, (3, 16, 16), 2, real=False)
    assert data.test_labels.sort().values.tolist() == [0, 1]  # one test image per class
    cats = torch.cat([data.train[data.train_labels == 0], data.test[data.test_labels == 0]])  # (4, 3, 16, 16)
    centre = cats[:, :, 2:-2, 2:-2]  # away from the crop edges, where bicubic sees the black border
    assert torch.allclose(centre[:, 0], torch.tensor(1.0), atol=0.02)
    assert torch.allclose(centre[:, 1:], torch.tensor(-1.0), atol=0.02)
    dogs = data.train[data.train_labels == 1]
    assert torch.allclose(dogs[:, 2, 2:-2, 2:-2], torch.tensor(1.0), atol=0.05)  # jpeg: near, not exact
    assert_same(data, load_dataset(registry, "imagefolder", path=str(image_tree), size=16, test_fraction=0.25))
    grey = load_dataset(registry, "imagefolder", path=str(image_tree), size=8, channels=1, test_fraction=0.0)
    check_images(grey, 8, 0, (1, 8, 8), 2, real=False)


def folder_error(registry, path, build=False, **params):
    spec = registry.get("dataset", "imagefolder")
    params = {key: param.default for key, param in spec.params.items()} | {"path": str(path)} | params
    with pytest.raises(DataError) as raised:
        spec.factory(**params) if build else spec.data_info(params)
    message = str(raised.value)
    assert "one subdirectory of .png/.jpg/.jpeg images per class" in message
    return message


def test_imagefolder_missing_or_malformed_trees_are_data_errors(registry, image_tree, tmp_path):
    assert "does not exist" in folder_error(registry, tmp_path / "nowhere")
    (tmp_path / "flat").mkdir()
    assert "has no class subdirectories" in folder_error(registry, tmp_path / "flat")
    (image_tree / "empty").mkdir()
    assert f"class folder {image_tree / 'empty'} holds no" in folder_error(registry, image_tree)
    (image_tree / "empty").rmdir()
    broken = image_tree / "cat" / "1.png"
    broken.write_bytes(broken.read_bytes()[:60])  # truncated
    assert f"{broken} is not a readable image" in folder_error(registry, image_tree, build=True)
    broken.write_bytes(b"this is not a png")
    assert f"{broken} is not a readable image" in folder_error(registry, image_tree, build=True)


# ---- npz ---------------------------------------------------------------------------------------


def test_npz_layouts_scaling_and_labels(registry, tmp_path):
    grey = tiny_images(12, (6, 5), 0)  # (N, H, W) uint8
    np.savez(tmp_path / "grey.npz", x=grey, y=np.arange(12) % 3)
    data = load_dataset(registry, "npz", path=str(tmp_path / "grey.npz"))
    check_images(data, 12, 0, (1, 6, 5), 3)
    assert torch.allclose(data.train[:, 0], scaled(grey), atol=1e-6)
    assert_same(data, load_dataset(registry, "npz", path=str(tmp_path / "grey.npz")))

    colour = tiny_images(8, (6, 5, 3), 1) / 255.0  # (N, H, W, C) float in [0, 1]
    colour_test = tiny_images(4, (3, 6, 5), 2) / 255.0  # (N, C, H, W) float in [0, 1]
    np.savez(tmp_path / "colour.npz", x=colour, y=np.arange(8) % 2, x_test=colour_test, y_test=np.arange(4))
    data = load_dataset(registry, "npz", path=str(tmp_path / "colour.npz"), n_train=4)
    check_images(data, 4, 4, (3, 6, 5), 4)
    assert torch.allclose(data.test, torch.from_numpy(colour_test * 2 - 1).float(), atol=1e-6)
    assert sorted(data.train_labels.tolist()) == [0, 0, 1, 1]

    np.savez(tmp_path / "unlabelled.npz", x=tiny_images(5, (1, 4, 4), 3))  # (N, 1, H, W)
    data = load_dataset(registry, "npz", path=str(tmp_path / "unlabelled.npz"))
    assert data.info.n_classes is None and data.train_labels is None and data.train.shape == (5, 1, 4, 4)


def npz_error(registry, path, build=False):
    spec = registry.get("dataset", "npz")
    with pytest.raises(DataError) as raised:
        spec.factory(path=str(path), n_train=0) if build else spec.data_info({"path": str(path), "n_train": 0})
    message = str(raised.value)
    assert "an .npz file (numpy.savez) with images x" in message
    return message


def test_npz_missing_or_malformed_files_are_data_errors(registry, tmp_path):
    assert f"file {tmp_path / 'none.npz'} does not exist" in npz_error(registry, tmp_path / "none.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    assert "is not a readable .npz" in npz_error(registry, tmp_path / "text.npz")
    np.savez(tmp_path / "a.npz", images=np.zeros((2, 4, 4)))
    assert "has no array x (it holds images)" in npz_error(registry, tmp_path / "a.npz")
    np.savez(tmp_path / "a.npz", x=np.zeros((2, 5, 5, 5)))
    assert "not images with 1 or 3 channels" in npz_error(registry, tmp_path / "a.npz")
    np.savez(tmp_path / "a.npz", x=np.zeros((2, 4, 4), dtype=np.int32))
    assert "images must be uint8 or float" in npz_error(registry, tmp_path / "a.npz")
    np.savez(tmp_path / "a.npz", x=np.zeros((2, 4, 4), dtype=np.uint8), y=np.array([0, 1, 2]))
    assert "y in" in npz_error(registry, tmp_path / "a.npz")
    np.savez(tmp_path / "a.npz", x=np.full((2, 4, 4), 2.0))
    registry.get("dataset", "npz").data_info({"path": str(tmp_path / "a.npz"), "n_train": 0})
    assert "holds floats outside [0, 1]" in npz_error(registry, tmp_path / "a.npz", build=True)


# ---- every loader treats its file as hostile: sizes are checked before allocation -------------


def test_mnist_header_dimensions_are_bounded_before_reading(registry, mnist_dir):
    directory, _ = mnist_dir(True)
    images = directory / "train-images-idx3-ubyte.gz"
    with gzip.open(images, "wb") as stream:  # promises 4e9 x 4e9 x 4e9 bytes, holds a few
        stream.write(b"\0\0\x08\x03" + struct.pack(">III", 4_000_000_000, 4_000_000_000, 4_000_000_000) + b"\0" * 64)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz promises .* bytes in its header.*fix: set path"):
        registry.get("dataset", "mnist").data_info({"path": str(directory), "n_train": 0})
    with gzip.open(images, "wb") as stream:  # a gzip that holds more than its header promises
        stream.write(b"\0\0\x08\x03" + struct.pack(">III", 20, 28, 28) + b"\0" * (20 * 28 * 28 + 10))
    with pytest.raises(DataError, match=r"holds more data bytes, its header promises 15,680"):
        registry.get("dataset", "mnist").factory(path=str(directory), n_train=0)


def test_npz_arrays_are_checked_from_their_headers_before_loading(registry, tmp_path):
    import zipfile

    file = tmp_path / "data.npz"
    np.savez(file, x=np.zeros((4, 8, 8), dtype=np.uint8), y=np.array([0, 1, None, 2], dtype=object))
    with pytest.raises(DataError, match=r"array y holds Python objects.*fix: set path"):
        registry.get("dataset", "npz").data_info({"path": str(file), "n_train": 0})
    header = b"\x93NUMPY\x01\x00" + b"v\x00" + (
        "{'descr': '|u1', 'fortran_order': False, 'shape': (100000000, 64, 64), }".ljust(117) + "\n").encode()
    with zipfile.ZipFile(file, "w") as archive:  # a header that promises 400 GB in a tiny file
        archive.writestr("x.npy", header + b"\0" * 64)
    with pytest.raises(DataError, match=r"header declares 409,600,000,000 bytes, more than the file holds"):
        registry.get("dataset", "npz").data_info({"path": str(file), "n_train": 0})


def test_imagefolder_image_size_is_checked_before_decoding(registry, image_tree, monkeypatch):
    from genbench.plugins.datasets import imagefolder

    monkeypatch.setattr(imagefolder, "MAX_PIXELS", 20 * 40 - 1)
    with pytest.raises(DataError, match=r"0.png is 40 x 20 pixels, more than 799; shrink it.*fix: set path"):
        registry.get("dataset", "imagefolder").factory(path=str(image_tree), size=8, channels=3,
                                                       test_fraction=0.0, n_train=0)
