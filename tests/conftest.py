"""Shared fixtures: real entry-point plugin installs, tiny suite files, a CLI runner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from genbench.api.registry import load_plugins

PLUGIN_DIR = Path(__file__).parent / "plugins"
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


@pytest.fixture
def genbench_cli():
    """genbench_cli(*args, pythonpath=None): the CLI in a fresh process, as a user runs it."""

    def run(*args: str, pythonpath: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        env = dict(os.environ, COLUMNS="200", OMP_NUM_THREADS="1")  # tiny models: threads only contend
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
