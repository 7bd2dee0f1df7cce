"""Hostile suites are refused before any work: `genbench run` exits 2 with one line that names
the key and the fix, and writes no results folder (issue 24). Sizes are checked against the data
and memory, data files are read at --dry-run, and a huge plan is refused before it is made."""

from __future__ import annotations

import pickle
import sys
import time

import numpy as np
import pytest

from genbench import ConfigError, DataInfo
from genbench.api.result import error_headline
from genbench.cli import main
from genbench.suite import sizes
from genbench.suite.config import MAX_CELLS, load

BASE = """
[suite]
name = "hostile"
seeds = [0]
[train]
device = "cpu"
{train}
[eval]
every = 2
metrics = [{metrics}]
[matrix]
datasets = [{dataset}]
models = [{model}]
objectives = ["nonsaturating"]
"""
RING = '{ name = "ring8", n_train = 512, n_test = 64 }'
MLP = '{ name = "mlp", hidden = 8, depth = 1, z_dim = 2 }'
MODES = '{ name = "modes", n_samples = 100 }'
SMALL = "steps = 4\nbatch_size = 8"


def suite(dataset: str = RING, model: str = MLP, metrics: str = MODES, train: str = SMALL) -> str:
    return BASE.format(dataset=dataset, model=model, metrics=metrics, train=train)


def genbench_run(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """`genbench run ARGS` in this process, through the entry point: (exit code, stderr)."""
    monkeypatch.setattr(sys, "argv", ["genbench", "run", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return exited.value.code, " ".join(capsys.readouterr().err.split())  # unwrapped


def assert_refused(tmp_path, monkeypatch, capsys, text: str, fragments: list[str], *flags: str) -> None:
    """The suite is refused with exit 2, one error naming every fragment and a fix, no store."""
    path, out = tmp_path / "suite.toml", tmp_path / "out"
    path.write_text(text)
    for run in (("--dry-run",), ()):  # the run only once the dry run was refused: a miss would really train
        code, stderr = genbench_run(monkeypatch, capsys, str(path), "--out", str(out), *run, *flags)
        assert code == 2, stderr
        assert stderr.startswith("error: ") and stderr.count("error:") == 1 and "fix:" in stderr, stderr
        for fragment in fragments:
            assert fragment in stderr, (fragment, stderr)
        assert not out.exists()


HOSTILE = {  # what a suite sets -> fragments of the one line that refuses it
    "batch larger than the dataset": (suite(train="steps = 4\nbatch_size = 4096"),
                                      ["matrix.datasets (ring8(", "batch_size = 4,096", "512 training examples"]),
    "hidden = 10^9": (suite(model='{ name = "mlp", hidden = 1000000000, depth = 1, z_dim = 2 }'),
                      ["cannot fit dataset", "weights (depth = 1, hidden = 1000000000", "more than this machine's"]),
    "hidden = 1e9": (suite(model='{ name = "mlp", hidden = 1e9 }'), ["models[0] (mlp).hidden: expected int"]),
    "z_dim = 10^9": (suite(model='{ name = "mlp", z_dim = 1000000000 }'), ["z_dim = 1000000000", "GiB"]),
    "dcgan width = 10^6": (suite(dataset='{ name = "digits" }', model='{ name = "dcgan", width = 10000000 }',
                                 metrics=""), ["dcgan(width=10000000)", "weights (width = 10000000)"]),
    "n_train = 10^12": (suite(dataset='{ name = "ring8", n_train = 1000000000000 }'),
                        ["datasets[0] (ring8).n_train: 1000000000000 is above the maximum 2147483647"]),
    "n_train = 1e12": (suite(dataset='{ name = "ring8", n_train = 1e12 }'), ["(ring8).n_train: expected int"]),
    "n_train = 10^9 points": (suite(dataset='{ name = "ring8", n_train = 1000000000 }', train=f'{SMALL}\nmax_memory = "1GiB"'),
                              ["loading 1,000,000,000 + 2,500 examples", "the suite's max_memory of 1.0 GiB"]),
    "n_train beyond the data": (suite(dataset='{ name = "digits", n_train = 5000 }', metrics=""),
                                ["digits).n_train: 5000 is above the maximum 1437"]),
    "n_samples = 1e30": (suite(metrics='{ name = "modes", n_samples = 1e30 }'),
                         ["eval.metrics[0] (modes).n_samples: expected int, got float 1e+30"]),
    "n_samples = 10^30": (suite(metrics=f'{{ name = "modes", n_samples = {10**30} }}'),
                          ["(modes).n_samples: 1000000000000000000000000000000 is above the maximum"]),
    "n_samples beyond memory": (suite(metrics='{ name = "modes", n_samples = 200000000 }',
                                      train=f'{SMALL}\nmax_memory = "1GiB"'),
                                ["eval.metrics (modes(n_samples=200000000)).n_samples", "200,000,000 examples", "lower n_samples"]),
    "every = 1e30": (suite().replace("every = 2", "every = 1e30"), ["eval.every: expected int, got float 1e+30"]),
    "every = 10^30": (suite().replace("every = 2", f"every = {10**30}"), ["eval.every", "above the maximum 1000000000"]),
    "steps = 10^12": (suite(train="steps = 1000000000000\nbatch_size = 8"), ["train.steps", "maximum"]),
    "an empty matrix without metrics": ('matrix = []\n[suite]\nname = "empty"\n', ["matrix: the suite has no [matrix]"]),
}


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_suite_is_refused_before_any_work(tmp_path, monkeypatch, capsys, kind):
    text, fragments = HOSTILE[kind]
    assert_refused(tmp_path, monkeypatch, capsys, text, fragments)
    assert "--only" not in capsys.readouterr().err


def test_a_million_cells_are_refused_in_well_under_a_second(tmp_path, registry, monkeypatch, capsys):
    seeds = ", ".join(map(str, range(1000)))
    models = ", ".join(f'{{ name = "mlp", hidden = {i + 1}, depth = 1, z_dim = 2 }}' for i in range(1000))
    path = tmp_path / "million.toml"
    path.write_text(suite(model=models).replace("seeds = [0]", f"seeds = [{seeds}]"))
    started = time.perf_counter()
    with pytest.raises(ConfigError) as refused:
        load(str(path), registry)
    assert time.perf_counter() - started < 1.0
    message = str(refused.value)
    assert "the suite plans 1,000,000 cells ((1 x 1000 x 1 x 1 x 1) axis combinations x 1000 seeds)" in message
    assert f"more than the cap of {MAX_CELLS:,}" in message and "--max-cells 1000000" in message
    assert "\n" not in message
    assert_refused(tmp_path, monkeypatch, capsys, path.read_text(), ["1,000,000 cells"])


def test_max_cells_raises_and_lowers_the_cap(tmp_path, registry, monkeypatch, capsys):
    path = tmp_path / "suite.toml"
    path.write_text(suite().replace("seeds = [0]", "seeds = [0, 1, 2]"))
    assert len(load(str(path), registry, max_cells=3).seeds) == 3
    with pytest.raises(ConfigError, match="plans 3 cells"):
        load(str(path), registry, max_cells=2)
    trials = suite() + "[search]\ntrials = 4\ntrain.lr = { uniform = [1e-4, 1e-3] }\n"
    assert_refused(tmp_path, monkeypatch, capsys, trials, ["plans 4 cells", "x 4 trials", "--max-cells 4"],
                   "--max-cells", "3")


def test_a_searched_batch_size_is_checked_against_the_data(tmp_path, registry):
    path = tmp_path / "suite.toml"
    path.write_text(suite() + "[search]\ntrials = 2\ntrain.batch_size = { choice = [8, 1024] }\n")
    with pytest.raises(ConfigError, match="batch_size = 1,024 .* 512 training examples"):
        load(str(path), registry)


# --- data files, read at --dry-run -------------------------------------------------------------

def npz_suite(path, metrics: str = "") -> str:
    return suite(dataset=f'{{ name = "npz", path = "{path}" }}', metrics=metrics)


def images(n: int = 16, side: int = 8) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, side, side), dtype=np.uint8)


def corrupt_crc(path) -> None:
    """Flip the last pixel of the stored (uncompressed) x.npy: the zip's CRC no longer matches,
    which only reading the whole entry finds (its header is intact)."""
    x = images(64, 32)
    np.savez(path, x=x)
    data = bytearray(path.read_bytes())
    data[data.find(x.tobytes()) + x.nbytes - 1] ^= 0xFF
    path.write_bytes(bytes(data))


def unit(x: np.ndarray, dtype=np.float32) -> np.ndarray:
    return (x / 255).astype(dtype)


NPZ = {  # name -> (writer of the file, fragments)
    "a bad CRC": (corrupt_crc, ["entry x.npy fails its CRC check"]),
    "NaN pixels": (lambda p: np.savez(p, x=np.where(images() > 200, np.nan, unit(images()))), ["floats outside [0, 1]"]),
    "inf pixels": (lambda p: np.savez(p, x=np.where(images() > 200, np.inf, unit(images()))), ["floats outside [0, 1]"]),
    "pixels above 1": (lambda p: np.savez(p, x=unit(images()) * 3), ["floats outside [0, 1]"]),
    "float16 with NaN": (lambda p: np.savez(p, x=np.where(images() > 200, np.nan, unit(images(), np.float16))),
                         ["floats outside [0, 1]"]),
    "complex pixels": (lambda p: np.savez(p, x=unit(images(), np.complex64)), ["dtype complex64"]),
    "zero images": (lambda p: np.savez(p, x=np.zeros((0, 8, 8), np.uint8)), ["x in", "holds no images"]),
    "zero test images": (lambda p: np.savez(p, x=images(), x_test=np.zeros((0, 8, 8), np.uint8)),
                         ["x_test in", "holds no images"]),
    "huge labels": (lambda p: np.savez(p, x=images(), y=np.arange(16) * 10**8),
                    ["has 1,500,000,001 classes", "more than the 65,536"]),
    "negative labels": (lambda p: np.savez(p, x=images(), y=np.arange(16) - 1), ["negative labels"]),
    "fewer images than a batch": (lambda p: np.savez(p, x=images(4)), ["batch_size = 8", "4 training examples"]),
}


@pytest.mark.parametrize("kind", NPZ)
def test_a_hostile_npz_is_refused_at_dry_run(tmp_path, monkeypatch, capsys, kind):
    write, fragments = NPZ[kind]
    write(tmp_path / "data.npz")
    text = npz_suite(tmp_path / "data.npz")
    assert_refused(tmp_path, monkeypatch, capsys, text, ["npz(path=", *fragments])


def test_one_pixel_images_are_refused_by_the_metric_that_cannot_take_them(tmp_path, monkeypatch, capsys):
    np.savez(tmp_path / "data.npz", x=images(side=1), y=np.arange(16) % 10)
    assert_refused(tmp_path, monkeypatch, capsys, npz_suite(tmp_path / "data.npz", '"fid"'),
                   ["metric 'fid' cannot score", "images of 1x1 are too small for the 'lenet' classifier"])


def test_float16_images_in_range_load_as_float32(tmp_path, registry):
    np.savez(tmp_path / "data.npz", x=unit(images(), np.float16))
    path = tmp_path / "suite.toml"
    path.write_text(npz_suite(tmp_path / "data.npz"))
    load(str(path), registry)
    data = registry.get("dataset", "npz").factory(path=str(tmp_path / "data.npz"), n_train=0)
    assert data.train.dtype.is_floating_point and data.train.shape == (16, 1, 8, 8)
    assert data.info.n_train == 16 and float(data.train.abs().max()) <= 1


class RunsCode:
    """Unpickled by plain pickle, this calls `function(*args)`: a crafted batch file."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def test_a_crafted_cifar_batch_is_refused_at_dry_run_and_runs_nothing(tmp_path, monkeypatch, capsys):
    directory, marker = tmp_path / "cifar-10-batches-py", tmp_path / "pwned"
    directory.mkdir()
    for i in range(1, 6):
        batch = {b"data": np.zeros((4, 3072), np.uint8), b"labels": [0, 1, 2, 3]}
        (directory / f"data_batch_{i}").write_bytes(pickle.dumps(batch))
    crafted = {b"data": np.zeros((4, 3072), np.uint8), b"labels": RunsCode(__import__("os").mkdir, str(marker))}
    (directory / "test_batch").write_bytes(pickle.dumps(crafted))
    text = suite(dataset=f'{{ name = "cifar10", path = "{directory}" }}', metrics="").replace("batch_size = 8",
                                                                                             "batch_size = 4")
    assert_refused(tmp_path, monkeypatch, capsys, text, ["cifar10(path=", "test_batch is not a readable CIFAR-10 "
                   "batch", "posix.mkdir", "refused: unpickling it could run code"])
    assert not marker.exists()


# --- the pieces ------------------------------------------------------------------------------

def test_weights_of_every_built_in_model_are_a_tight_lower_bound_of_what_it_builds(registry):
    """ModelSpec.weights against the networks the factory really builds (the reference): never
    more, and within 5%."""
    import torch

    infos = [DataInfo("points", (2,)), DataInfo("image", (1, 28, 28), 10), DataInfo("image", (3, 32, 32), 10),
             DataInfo("image", (1, 8, 8), 10), DataInfo("tabular", (20,), 2, ("sensitive", "test_sensitive"))]
    variants = {"mlp": [{"maxout": 3, "pack": 2, "d_hidden": 7, "d_depth": 3}], "dcgan": [{"pack": 3, "width": 5}],
                "sngan-cnn": [{"num_classes": 10, "width": 8}, {"num_classes": 10, "d_head": "acgan", "width": 8}],
                "resnet": [{"num_classes": 10, "width": 16}], "ae-deep": [{"variational": True, "hidden": (30, 20)}],
                "ae-conv": [{"variational": True}], "ae-linear": [{"variational": True}]}
    checked = set()
    for name in registry.names("model"):
        spec = registry.get("model", name)
        assert spec.weights is not None, f"built-in model {name} declares no weights"
        for variant in [{}, *variants.get(name, [])]:
            params = {key: param.default for key, param in spec.params.items()} | variant
            for info in infos:
                if (spec.domains and info.domain not in spec.domains) or (spec.fits and spec.fits(info, **params)):
                    continue
                model = spec.factory(info, **params)
                modules = [model] if isinstance(model, torch.nn.Module) else \
                    [m for m in vars(model).values() if isinstance(m, torch.nn.Module)]
                built = sum(p.numel() for p in {id(p): p for m in modules for p in m.parameters()}.values())
                estimate = spec.weights(info, **params)
                assert 0.95 * built <= estimate <= built, (name, info.shape, variant, estimate, built)
                checked.add(name)
    assert checked == set(registry.names("model"))


def test_sizes_are_lower_bounds_in_bytes():
    info = DataInfo("image", (3, 32, 32), n_train=100, n_test=10)
    assert sizes.example_bytes(info) == 3 * 32 * 32 * 4 and sizes.data_bytes(info) == 110 * 3 * 32 * 32 * 4
    assert sizes.training_bytes(10) == 80
    assert sizes.too_big("x", 2**30, (2**30, "a budget")) is None
    assert sizes.too_big("x", 2**30 + 1, (2**30, "a budget")) == "x needs at least 1.0 GiB, more than a budget"
    total, what = sizes.memory_budget(None)
    assert total > 2**28 and "this machine's" in what
    assert sizes.memory_budget(2**30) == (2**30, "the suite's max_memory of 1.0 GiB")


def test_every_dataset_info_gives_the_sizes_its_factory_loads(registry):
    for name, params in [("ring8", {"n_train": 30, "n_test": 5}), ("digits", {"n_train": 0}),
                         ("digits", {"n_train": 100}), ("digits-bin", {}), ("digits-tinted", {}),
                         ("mnist5k", {"n_train": 50}), ("stacked-mnist", {"n_train": 20, "n_test": 7}),
                         ("patches32", {"n_train": 10, "n_test": 5})]:
        spec = registry.get("dataset", name)
        resolved = {key: param.default for key, param in spec.params.items()} | params
        info, data = spec.data_info(resolved), spec.factory(**resolved)
        assert (info.n_train, info.n_test) == (len(data.train), len(data.test)), name
        assert data.info == info, name


@pytest.mark.parametrize("error, headline", [
    ('Traceback (most recent call last):\n  File "x.py", line 1, in f\n    g()\n'
     'TypeError: randn(): failed to unpack with error "Overflow when unpacking long\nframe #0: c10::Error\n"',
     'TypeError: randn(): failed to unpack with error "Overflow when unpacking long'),
    ("timeout: the cell ran longer than its limit of 5 s\nlast lines of the worker's output:\nstep 3",
     "timeout: the cell ran longer than its limit of 5 s"),
    ('Traceback (most recent call last):\n  File "a"\nKeyError: 1\n\nDuring handling of the above exception, '
     'another exception occurred:\n\nTraceback (most recent call last):\n  File "b"\nValueError: bad', "ValueError: bad"),
    ("", "(no error message)"),
    (None, "(no error message)"),
])
def test_a_failed_cells_headline_is_its_exceptions_first_line_never_a_lone_quote(error, headline):
    assert error_headline(error) == headline
