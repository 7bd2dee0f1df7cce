"""The plugin API: the versions a plugin declares, deprecated contracts that keep working,
contracts checked before any work, qualified names that cannot collide, and the release record."""

import importlib
import re
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from click.testing import CliRunner
from rich.console import Console

import genbench
import genbench.cli
import genbench.cli.list
from genbench import PLUGIN_API, ConfigError, PluginError, kernels
from genbench.api import compat, contracts, versions
from genbench.api.registry import load_plugins
from genbench.cli import cli, main
from genbench.results.store import Store
from genbench.run.environment import environment
from genbench.run.runner import run_cell
from genbench.suite.config import load
from genbench.suite.plan import expand

ROOT = Path(__file__).parents[2]
TINY_MLP = '{ name = "mlp", hidden = 16, depth = 1, z_dim = 4 }'
SUITE = """
[train]
steps = 20
batch_size = 32

[eval]
every = 20
metrics = [{{ name = "modes", n_samples = 200 }}]

[matrix]
datasets = [{{ name = "ring8", n_train = 512, n_test = 64 }}]
models = [{models}]
objectives = [{objectives}]
"""


def suite(tmp_path, objectives: str, models: str = TINY_MLP, name: str = "suite.toml") -> str:
    path = tmp_path / name
    path.write_text(SUITE.format(objectives=objectives, models=models))
    return str(path)


def genbench_list(monkeypatch, *args: str):
    """`genbench list ARGS` in this process, 1000 columns wide (rich fixes a console's width when
    COLUMNS is set as it is imported, as it is in pytest-xdist's workers: 80)."""
    monkeypatch.setattr(genbench.cli.list, "console", Console(width=1000))
    monkeypatch.setattr(genbench.cli.list, "errors", Console(stderr=True, width=1000))
    result = CliRunner().invoke(cli, ["list", *args])
    assert result.exit_code == 0, result.output
    return result


def genbench_main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """`genbench ARGS` in this process, as the console script runs it: (exit code, stderr with
    its line wrapping undone)."""
    monkeypatch.setattr(sys, "argv", ["genbench", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, " ".join(capsys.readouterr().err.split())


def test_old_contract_plugin_runs_with_deprecation_warnings(install_plugin, tmp_path):
    install_plugin("genbench_old_contract_plugin", dist="genbench-old")
    path = suite(tmp_path, '"legacy-ns"', '{ name = "legacy-mlp", hidden = 16, depth = 1, z_dim = 4 }')
    out = tmp_path / "out"
    with pytest.warns(compat.PluginDeprecationWarning) as caught:
        result = CliRunner().invoke(cli, ["run", path, "--out", str(out), "--executor", "local"])
    assert result.exit_code == 0, result.output
    store = Store(str(out), create=False)
    assert list(store.statuses().values()) == ["done"]
    store.close()
    warned = [str(w.message) for w in caught]
    assert any("model 'legacy-mlp'" in m and "backend=" in m and "stops working in 3.0" in m
               and "genbench.kernels.functional" in m for m in warned)
    assert any("objective 'legacy-ns'" in m and "generator_loss(fake_logits)" in m
               and "write generator_loss(real_logits, fake_logits)" in m for m in warned)

    with pytest.warns(compat.PluginDeprecationWarning) as caught:
        registry = load_plugins()
        with kernels.use(registry.get("kernel", "eager").backend()):  # what 1.0 passed: the cell's backend
            objective = registry.build_objective("legacy-ns", {"k": 1})
    assert sum("generator_loss(fake_logits)" in str(w.message) for w in caught) == 1
    fake = torch.tensor([0.5, -1.0])
    assert objective.backend == "eager"
    assert torch.equal(objective.generator_loss(None, fake), kernels.generator_loss(fake, "nonsaturating"))


def test_incompatible_plugin_is_listed_with_its_changes_and_refused(install_plugin, tmp_path, monkeypatch, capsys):
    install_plugin("genbench_api1_plugin", dist="genbench-api1")
    listed = genbench_list(monkeypatch, "--kind", "objective")
    row = next(line for line in listed.stdout.splitlines() if "api1-gan" in line)
    assert "(refused: see below)" in row and "genbench-api1:api1-gan" in row
    problem = listed.stderr
    assert "plugin 'genbench_api1_plugin' (distribution 'genbench-api1')" in problem
    assert f"declares GENBENCH_PLUGIN_API = '>=1,<2', but this genbench provides plugin API {PLUGIN_API}" in problem
    assert "written for plugin API 1.0" in problem
    assert "[2.0] GAN objectives: generator_loss(real_logits, fake_logits) replaces" in problem
    assert "register_trainers" not in problem and "KernelSpec" not in problem  # it registers no family or kernel
    assert "Refused: objective api1-gan" in problem

    out = tmp_path / "out"
    code, err = genbench_main(monkeypatch, capsys, "run", suite(tmp_path, '"api1-gan"'), "--out", str(out))
    assert code == 2
    assert "matrix.objectives[0]: plugin 'genbench_api1_plugin'" in err and "Fix: update the plugin" in err
    assert not out.exists()  # refused before any work


def test_a_plugin_for_a_future_api_or_with_a_bad_declaration():
    future = versions.incompatibility(">=3", {"objective"})
    assert "no plugin API it names has been released" in future and "install the genbench" in future
    with pytest.raises(PluginError, match=r"declares GENBENCH_PLUGIN_API = 'two', which is not a version specifier"):
        versions.declared_range(SimpleNamespace(GENBENCH_PLUGIN_API="two"), "plugin 'p'")
    assert versions.compatible(">=2.1,<3") and not versions.compatible("~=2.0.0")


def test_factories_that_cannot_take_genbenchs_call_are_refused_before_work(install_plugin, tmp_path, monkeypatch,
                                                                           capsys):
    install_plugin("genbench_mismatched_plugin", dist="genbench-mismatched")
    registry = load_plugins()
    problems = " ".join(str(p) for p in registry.problems)
    assert ("objective 'seeded' of plugin 'genbench_mismatched_plugin' (distribution 'genbench-mismatched'): its "
            "factory requires 'seed', which genbench never passes") in problems
    assert "(genbench calls factory(**params)); fix:" in problems
    assert "metric 'constant'" in problems and "does not accept 'value', which genbench passes" in problems
    with pytest.raises(PluginError, match="requires 'seed'"):
        registry.get("objective", "seeded")

    out = tmp_path / "out"
    code, err = genbench_main(monkeypatch, capsys, "run", suite(tmp_path, '"seeded"'), "--out", str(out))
    assert code == 2 and "objective 'seeded' of plugin 'genbench_mismatched_plugin'" in err and "fix:" in err
    code, err = genbench_main(monkeypatch, capsys, "run", suite(tmp_path, '"generator-only"'), "--out", str(out))
    assert code == 2 and "objective 'generator-only' of plugin 'genbench_mismatched_plugin'" in err
    assert "family's objective contract: it has no discriminator_loss(), which the trainer calls with 2" in err
    assert not out.exists()


@pytest.mark.parametrize(("factory", "call", "expected"), [
    (lambda info, *, hidden: None, contracts.Call("factory", ("info",)), None),
    (lambda info, *, hidden, seed: None, contracts.Call("factory", ("info",)), "requires 'seed'"),
    (lambda info, **params: None, contracts.Call("factory", ("info",)), None),
    (lambda samples: None, contracts.Call("factory", ("samples", "data"), params=False),
     "takes 1 positional argument(s), genbench passes 2"),
    (lambda parameters, *, momentum: None, contracts.Call("factory", ("parameters",), ("lr",)),
     "does not accept 'lr', 'hidden'"),
])
def test_signature_check(factory, call, expected):
    found = contracts.mismatch(factory, call, {"hidden": 1})
    assert (found is None) if expected is None else expected in found.describe(call)


def test_two_distributions_one_name_each_usable_by_qualified_name(install_plugin, tmp_path, monkeypatch):
    builtin_id = expand(load(suite(tmp_path, '"rsgan"', name="before.toml"), load_plugins(entry_points=False)),
                        load_plugins(entry_points=False))[0].cell_id
    install_plugin("genbench_rsgan_plugin", dist="genbench-rsgan")
    registry = load_plugins()
    assert registry.origin("objective", "genbench:rsgan").distribution == "genbench"
    assert registry.origin("objective", "genbench-rsgan:rsgan").plugin == "genbench_rsgan_plugin"
    assert registry.origin("objective", "rsgan-exact").plugin == "genbench_rsgan_plugin"  # after its own collision
    [problem] = registry.problems  # the plugin's second rsgan, from the same distribution
    assert "registered objective 'rsgan'" in str(problem) and "same distribution" in str(problem)

    with pytest.raises(ConfigError, match=r"objective 'rsgan' is ambiguous: 2 distributions register it; fix: "
                                          r"name one of them, genbench-rsgan:rsgan or genbench:rsgan"):
        load(suite(tmp_path, '"rsgan"'), registry)
    cells = expand(load(suite(tmp_path, '"genbench:rsgan", "genbench-rsgan:rsgan", "rsgan-exact"'), registry),
                   registry)
    assert [c.component("objective").label for c in cells] == ["genbench:rsgan", "genbench-rsgan:rsgan", "rsgan-exact"]
    assert cells[0].cell_id == builtin_id  # the built-in keeps its id when a plugin takes its name
    assert len({c.cell_id for c in cells}) == 3
    assert run_cell(cells[1], registry).status == "done"

    listed = genbench_list(monkeypatch, "--kind", "objective")
    rows = [re.split(r"\s{2,}", line.strip()) for line in listed.stdout.splitlines()  # piped: plain columns
            if "rsgan" in line]  # kind, name, plugin, qualified name, then the description (prose last)
    assert ["objective", "genbench-rsgan:rsgan", "genbench_rsgan_plugin", "genbench-rsgan:rsgan",
            "RSGAN as this plugin writes it"] in rows
    assert ["objective", "rsgan-exact"] == rows[-1][:2] and rows[-1][-2] == "genbench-rsgan:rsgan-exact"
    assert ("note: objective 'rsgan' is registered by 2 distributions: suites name it genbench-rsgan:rsgan or "
            "genbench:rsgan") in listed.stderr


def test_moved_modules_still_import_with_a_warning(monkeypatch):
    monkeypatch.delitem(sys.modules, "genbench.executors", raising=False)
    with pytest.warns(compat.PluginDeprecationWarning, match=r"genbench.executors is deprecated .* import "
                                                              r"genbench.run.executors"):
        old = importlib.import_module("genbench.executors")
    from genbench.run.executors import ExecutorOptions

    assert old.ExecutorOptions is ExecutorOptions
    with pytest.warns(compat.PluginDeprecationWarning, match="genbench.report.ReportView"):
        from genbench.report import ReportView
    from genbench.results import ReportView as moved

    assert ReportView is moved


def test_version_is_printed_recorded_and_documented():
    printed = CliRunner().invoke(cli, ["--version"])
    assert printed.exit_code == 0 and f"{genbench.__version__} (plugin API {PLUGIN_API})" in printed.output
    assert environment(torch.device("cpu"))["plugin_api"] == PLUGIN_API

    docs = (ROOT / "docs" / "plugin_hooks.md").read_text()
    assert f"provides **plugin API {PLUGIN_API}**" in docs
    for release in versions.RELEASES:
        assert f"| {release.api} | {release.genbench} | {release.date} |" in docs, f"document {release} in {docs}"
    for deprecation in compat.DEPRECATIONS:
        assert re.search(rf"\| {re.escape(deprecation.since)} \| {re.escape(deprecation.removed_in)} \|", docs)

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    changelog = (ROOT / "CHANGELOG.md").read_text()
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.MULTILINE)
    assert released[0] == project["version"] == versions.RELEASES[-1].genbench
    assert f"Plugin API {PLUGIN_API}." in changelog and "## [Unreleased]" in changelog
    assert "(CHANGELOG.md)" in (ROOT / "README.md").read_text()
