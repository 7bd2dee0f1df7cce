"""Shared fixtures: real entry-point plugin installs, tiny suite files, the CLI in this process
(invoke_genbench, for the fast tier) and in a fresh one (genbench_cli, for tests/e2e)."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import click
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from rich.console import Console

import genbench
from genbench.api.registry import load_plugins

PLUGIN_DIR = Path(__file__).parent / "plugins"
# A width inherited here would be fixed into genbench's rich consoles when genbench.cli is imported
# (pytest-xdist's workers start with COLUMNS=80, LINES=24); each test sets the width it needs, so
# nothing imports genbench.cli before this.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)
MAIN = Path(genbench.__file__).parent / "__main__.py"
torch.set_num_threads(1)  # the test models are tiny: more threads only contend on 2 cores


@pytest.fixture
def install_plugin(tmp_path, monkeypatch):
    """install_plugin(module, dist=..., version="0.1", editable=False) writes a *.dist-info with a
    `genbench` entry point for tests/plugins/<module>.py into a directory on sys.path, as pip
    would (replacing an earlier version of it; editable: with PEP 610's direct_url.json). Returns
    the directory (for PYTHONPATH in subprocesses; it comes before tests/plugins)."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    monkeypatch.syspath_prepend(str(site))

    def install(module: str, dist: str | None = None, version: str = "0.1", editable: bool = False) -> Path:
        dist = dist or module.replace("_", "-")
        for earlier in site.glob(f"{dist.replace('-', '_')}-*.dist-info"):
            shutil.rmtree(earlier)
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[genbench]\n{module} = {module}\n")
        if editable:
            url = {"url": site.as_uri(), "dir_info": {"editable": True}}
            (info / "direct_url.json").write_text(json.dumps(url))
        return site

    return install


@pytest.fixture(scope="session")
def registry():
    return load_plugins(entry_points=False)


_CIFAR_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


@pytest.fixture
def local_files(tmp_path, monkeypatch):
    """HOME with ~/data/cifar10/cifar-10-batches-py holding six 4-image CIFAR-10 batches, and
    GENBENCH_CACHE with an (empty) Inception weights file: what sngan-cifar10 expects on disk.
    Returns HOME."""
    from genbench.plugins.metrics.extractors import INCEPTION_FILE  # the plugins load when a test needs them

    home = tmp_path / "home"
    batches = home / "data" / "cifar10" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in _CIFAR_BATCHES:
        batch = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": [0, 1, 2, 3]}
        (batches / name).write_bytes(pickle.dumps(batch))
    cache = tmp_path / "cache"
    (cache / "inception").mkdir(parents=True)
    (cache / "inception" / INCEPTION_FILE).write_bytes(b"")  # planning checks that it exists, no more
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GENBENCH_CACHE", str(cache))
    return home


TINY_SUITE = """
[suite]
name = "tiny"
seeds = [0, 1]

[train]
steps = 20
batch_size = 32

[eval]
every = 10
metrics = [{{ name = "modes", n_samples = 200 }}]

[matrix]
datasets = [{{ name = "ring8", n_train = 512, n_test = 64 }}]
models = [{{ name = "mlp", hidden = 16, depth = 1, z_dim = 4 }}]
objectives = {objectives}
"""


@pytest.fixture
def write_suite(tmp_path):
    """write_suite(text=None, **format) -> path of a suite file (the tiny suite by default)."""

    def write(text: str | None = None, name: str = "suite.toml", objectives='["nonsaturating"]') -> Path:
        path = tmp_path / name
        body = TINY_SUITE.format(objectives=objectives) if text is None else textwrap.dedent(text)
        path.write_text(body)
        return path

    return write


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # what rich writes for bold and the like
CLI_ENV = {"COLUMNS": "200", "OMP_NUM_THREADS": "1"}  # tiny models: threads only contend


@pytest.fixture
def invoke_genbench(monkeypatch):
    """invoke_genbench(*args, pythonpath=None): the CLI in this process, through click's CliRunner
    and genbench's own entry point (`main`: its exit codes and error messages), as genbench_cli
    runs it in a fresh one: environment CLI_ENV, stdout and stderr pipes (plain text, 200
    columns), a CompletedProcess back. For what the CLI prints and returns; a test that needs a
    process of its own (workers, signals, a fresh import) uses genbench_cli, in tests/e2e.
    pythonpath: a folder from install_plugin (it is on sys.path already) or another to import from.
    columns: the width rich reads from COLUMNS; terminal: stdout taken for a terminal (escape
    codes stripped from what comes back), else a pipe."""

    from genbench.cli import main  # imported here, after the width cleared above

    def invoke(*args: str, pythonpath: Path | None = None, columns: int = 200,
               terminal: bool = False) -> subprocess.CompletedProcess:
        if pythonpath is not None:
            monkeypatch.syspath_prepend(str(PLUGIN_DIR))
            monkeypatch.syspath_prepend(str(pythonpath))
        env = {**CLI_ENV, "COLUMNS": str(columns)}
        if terminal:  # rich then takes the pipe for a terminal; NO_COLOR keeps the text plain
            env.update(FORCE_COLOR="1", NO_COLOR="1")
        with CliRunner().isolation(env=env) as (stdout, stderr, _), monkeypatch.context() as patch:
            patch.setattr(sys, "argv", [str(MAIN), *args])  # click names the program from these two:
            patch.setattr(sys.modules["__main__"], "__package__", "genbench")  # "python -m genbench"
            patch.setattr(click.formatting, "FORCED_WIDTH", None)  # help text: the width from COLUMNS
            fresh_consoles(patch)
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            except Exception:  # what the interpreter does with an uncaught exception
                traceback.print_exc()
                code = 1
            sys.stdout.flush()  # as the interpreter does at exit
            sys.stderr.flush()
        out, err = stdout.getvalue().decode(), stderr.getvalue().decode()
        if terminal:
            out, err = ANSI.sub("", out), ANSI.sub("", err)
        return subprocess.CompletedProcess(["genbench", *args], code, out, err)

    return invoke


def fresh_consoles(patch: pytest.MonkeyPatch) -> None:
    """Replace genbench's module-level rich consoles with new ones, made now, as a fresh process
    makes them at import: on the current sys.stdout/stderr and environment (width, colours);
    the sessions' Screens (a pair of them) too."""
    from genbench.run.session import Screen

    for name, module in list(sys.modules.items()):
        if name == "genbench" or name.startswith("genbench."):
            for attr, value in list(vars(module).items()):
                if type(value) is Console and value.file in (sys.stdout, sys.stderr):
                    patch.setattr(module, attr, Console(stderr=value.stderr))
                elif type(value) is Screen:
                    patch.setattr(module, attr, Screen(Console(), Console(stderr=True)))


@pytest.fixture
def genbench_cli():
    """genbench_cli(*args, pythonpath=None): the CLI in a fresh process, as a user runs it."""

    def run(*args: str, pythonpath: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        env = dict(os.environ, **CLI_ENV)
        if pythonpath is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), str(PLUGIN_DIR)])
        return subprocess.run([sys.executable, "-m", "genbench", *args], capture_output=True,
                              text=True, env=env, timeout=timeout)

    return run


HOST_READS = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__", "cpu", "numpy")


@pytest.fixture
def host_reads(monkeypatch):
    """The list of (method, calling module) of every read from a tensor to the host from now on."""
    reads = []
    for name in HOST_READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if not caller.startswith("torch.optim"):
                reads.append((_name, caller))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return reads


BLOCKER = """
import importlib.abc, sys

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)
        return None

sys.meta_path.insert(0, Blocker())
"""


@pytest.fixture
def env_without(tmp_path):
    """env_without(*modules): the environment for a Python subprocess in which importing these
    modules fails as if they were not installed (a sitecustomize on PYTHONPATH blocks them)."""

    def env(*modules: str) -> dict:
        site = tmp_path / "blocker"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(BLOCKER.format(blocked=set(modules)))
        return dict(os.environ, PYTHONPATH=str(site), COLUMNS="200", OMP_NUM_THREADS="1")

    return env
