"""Every hook is documented in docs/plugin_hooks.md and exercised through a real entry point."""

import inspect
import re
from pathlib import Path

import pytest

from genbench import ConfigError

from genbench.api import hookspecs
from genbench.suite.config import load
from genbench.api.registry import HOOK_KINDS, load_plugins

DOCS = Path(__file__).parents[2] / "docs" / "plugin_hooks.md"
HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("register_")]


def test_hook_table_matches_hookspecs():
    assert sorted(HOOKS) == sorted(HOOK_KINDS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook):
    assert re.search(rf"^## {hook}\(register\)$", DOCS.read_text(), re.MULTILINE), f"document {hook} in {DOCS}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook):
    assert f"test_hook_{hook}" in globals(), f"add test_hook_{hook} to {__file__}"


@pytest.fixture
def every_hook(install_plugin):
    install_plugin("genbench_every_hook_plugin", dist="genbench-every-hook")
    registry = load_plugins()
    assert registry.problems == []
    return registry


def registered_by_plugin(registry, kind, name):
    origin = registry.origin(kind, name)
    return origin.plugin == "genbench_every_hook_plugin" and origin.distribution == "genbench-every-hook"


def test_hook_register_datasets(every_hook):
    assert registered_by_plugin(every_hook, "dataset", "ring8-copy")
    data = every_hook.get("dataset", "ring8-copy").factory(n_train=100, n_test=10, data_seed=0)
    assert data.train.shape == (100, 2)


def test_hook_register_models(every_hook):
    assert registered_by_plugin(every_hook, "model", "linear-gan")
    info = every_hook.get("dataset", "ring8").info
    assert every_hook.get("model", "linear-gan").factory(info).z_dim == 2


def test_hook_register_objectives(every_hook):
    assert registered_by_plugin(every_hook, "objective", "lsgan-lite")
    import torch

    loss = every_hook.get("objective", "lsgan-lite").factory().generator_loss(None, torch.ones(4))
    assert loss.item() == 0.0  # 0.5 (1 - 1)^2


def test_hook_register_optimizers(every_hook, tmp_path):
    assert registered_by_plugin(every_hook, "optimizer", "sgd-lite")
    suite = tmp_path / "s.toml"
    suite.write_text('[matrix]\ndatasets = ["ring8"]\nmodels = ["mlp"]\nobjectives = ["saturating"]\n'
                     'optimizers = ["adam", { name = "sgd-lite", momentum = 0.5 }]\n')
    from genbench.suite.plan import expand

    cells = expand(load(str(suite), every_hook), every_hook)
    assert [c.component("optimizer").label for c in cells] == ["adam", "sgd-lite(momentum=0.5)"]
    import torch

    params = [torch.nn.Parameter(torch.zeros(2))]
    optimizer = every_hook.get("optimizer", "sgd-lite").factory(params, lr=0.1, **cells[1].component("optimizer").kwargs())
    assert optimizer.defaults["momentum"] == 0.5 and optimizer.defaults["lr"] == 0.1


def test_hook_register_metrics(every_hook):
    assert registered_by_plugin(every_hook, "metric", "mean-norm")
    assert every_hook.get("metric", "mean-norm").outputs["mean_norm"].higher_is_better is False


def test_hook_register_kernels(every_hook, tmp_path):
    assert registered_by_plugin(every_hook, "kernel", "never")
    assert every_hook.get("kernel", "never").available() == "it is a test backend"
    suite = tmp_path / "s.toml"
    suite.write_text('[matrix]\ndatasets = ["ring8"]\nmodels = ["mlp"]\nobjectives = ["saturating"]\n'
                     'kernels = ["never"]\n')
    with pytest.raises(ConfigError, match="kernel backend 'never' is not usable here: it is a test backend"):
        load(str(suite), every_hook)


def test_hook_register_families(every_hook):
    assert registered_by_plugin(every_hook, "family", "frozen")
    from genbench import TrainSetup

    setup = TrainSetup(None, None, None, None, {"steps": 3}, 0, None)
    steps = list(every_hook.get("family", "frozen").factory(setup))
    assert [s.step for s in steps] == [1, 2, 3]
    assert every_hook.get("family", "frozen").statistics["zero"].label == "always zero"


def test_hook_register_domains(every_hook):
    assert registered_by_plugin(every_hook, "domain", "blank")
    import torch

    domain = every_hook.get("domain", "blank")
    assert domain.factory(torch.zeros(domain.picture_samples, 2), None).startswith(b"\x89PNG")


def test_hook_register_executors(install_plugin, write_suite, tmp_path, invoke_genbench):
    site = install_plugin("genbench_every_hook_plugin", dist="genbench-every-hook")
    out = tmp_path / "out"
    ran = invoke_genbench("run", str(write_suite()), "--out", str(out), "--executor", "serial", pythonpath=site)
    assert ran.returncode == 0, ran.stderr
    assert "2 done" in ran.stdout
    unknown = invoke_genbench("run", str(write_suite()), "--out", str(out), "--executor", "seriall", pythonpath=site)
    assert unknown.returncode == 2 and "Did you mean: serial" in unknown.stderr


def test_hook_register_reporters(write_suite, tmp_path, invoke_genbench, every_hook):
    from genbench.suite.plan import expand
    from genbench.results.store import Store

    cells = expand(load(str(write_suite()), every_hook), every_hook)
    Store(tmp_path / "out").record_suite("tiny", "suite.toml", "", cells)
    shown = invoke_genbench("export", str(tmp_path / "out"), "--format", "cell-count",
                         pythonpath=tmp_path / "site")  # where the every_hook fixture installed the plugin
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == "cells: 2\n"
