"""Code versions per component: an edit to one module of an editable plugin changes the code
versions of the cells whose components run that module (defined in it, or importing it), and no
others; the same for genbench's built-in modules; `genbench run` re-runs those cells alone; a
store's whole-package hashes from an older genbench re-run a cell once, only if the package
changed; `show` summarises per-cell sources without calling unchanged code mixed."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from genbench.api.registry import load_plugins
from genbench.run.code_version import CodeReader, cell_code_versions, code_changes, source_hash, summarize
from genbench.suite import config, plan

PLUGIN = "genbench_objective_pair"
DIST = "genbench-objective-pair"
PLUGIN_DIR = Path(__file__).parents[1] / "plugins" / PLUGIN
BUILTIN_SUITES = Path(__file__).parents[2] / "genbench" / "suite" / "builtin"
SUITE = """
[suite]
name = "pair"
seeds = [0]
[train]
steps = 4
batch_size = 32
[eval]
every = 4
metrics = [{ name = "modes", n_samples = 100 }]
[matrix]
datasets = [{ name = "ring8", n_train = 128, n_test = 32 }]
models = [{ name = "mlp", hidden = 8, depth = 1, z_dim = 2 }]
objectives = ["pair-hinge", "pair-squares", "nonsaturating"]
"""


@pytest.fixture
def plugin(install_plugin, monkeypatch, tmp_path):
    """The two-objective plugin installed editable from a working copy (returned: its folder),
    imported afresh from there, and forgotten afterwards."""
    site = install_plugin(PLUGIN, editable=True)
    shutil.copytree(PLUGIN_DIR, site / PLUGIN, ignore=shutil.ignore_patterns("__pycache__"))
    forget = [name for name in sys.modules if name == PLUGIN or name.startswith(PLUGIN + ".")]
    for name in forget:
        monkeypatch.delitem(sys.modules, name)
    yield site / PLUGIN
    for name in [n for n in sys.modules if n == PLUGIN or n.startswith(PLUGIN + ".")]:
        del sys.modules[name]


def code_by_objective(suite: Path, registry) -> dict[str, dict]:
    """objective name -> the code versions of its cell, read now."""
    cells = plan.expand(config.load(str(suite), registry), registry)
    return {cell.component("objective").name: cell_code_versions(cell, registry) for cell in cells}


def edit(path: Path) -> None:
    path.write_text(path.read_text() + "\n# an edit\n")


def test_an_edit_re_runs_the_components_defined_in_or_importing_the_module(plugin, tmp_path):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    registry = load_plugins()  # the plugin imported once, as in a run: its files are read anew
    assert not registry.problems, registry.problems
    before = code_by_objective(suite, registry)
    hinge, squares = before["pair-hinge"][DIST], before["pair-squares"][DIST]
    assert hinge["version"] == "0.1" and hinge["package"] == PLUGIN
    assert set(hinge["modules"]) == {PLUGIN, f"{PLUGIN}.hinge", f"{PLUGIN}.margins"}  # + registering
    assert set(squares["modules"]) == {PLUGIN, f"{PLUGIN}.squares"}
    assert DIST not in before["nonsaturating"]
    # GANLoss comes from genbench's built-in module: it counts under genbench
    assert "genbench.plugins.objectives.gan" in before["pair-squares"]["genbench"]["modules"]

    for module, changed in [("hinge", "pair-hinge"), ("margins", "pair-hinge"), ("squares", "pair-squares")]:
        edit(plugin / f"{module}.py")
        after = code_by_objective(suite, registry)
        changes = {objective: code_changes(before[objective], after[objective]) for objective in after}
        assert changes.pop(changed) == [f"{DIST} 0.1: {PLUGIN}.{module} changed"]
        assert not any(changes.values()), (module, changes)  # every other cell stays
        before = after

    edit(plugin / "__init__.py")  # the registering module: both objectives it registers
    after = code_by_objective(suite, registry)
    assert [objective for objective in after if code_changes(before[objective], after[objective])] == \
        ["pair-hinge", "pair-squares"]


def test_a_built_in_helper_module_re_runs_the_cells_of_its_importers(registry, monkeypatch, tmp_path):
    cells = [plan.expand(config.load(str(BUILTIN_SUITES / f"{name}.toml"), registry), registry)[0]
             for name in ("gan-smoke", "rbm-smoke")]
    before = [cell_code_versions(cell, registry)["genbench"]["modules"] for cell in cells]
    assert all("genbench.plugins.families.common" in modules for modules in before)  # both families import it
    assert ["genbench.plugins.families.diffaugment" in modules for modules in before] == [True, False]

    recorded = [cell_code_versions(cell, registry) for cell in cells]

    def changed(module: str) -> list[list[str]]:
        """The code changes of each cell with `module`'s file edited (a copy found in its place)."""
        loaded = sys.modules[module]
        copy = tmp_path / f"{module}.py"
        copy.write_text(Path(loaded.__file__).read_text() + "\n# an edit\n")
        with monkeypatch.context() as patch:
            patch.setattr(loaded, "__spec__", importlib.util.spec_from_file_location(module, copy))
            return [code_changes(before, cell_code_versions(cell, registry))
                    for cell, before in zip(cells, recorded, strict=True)]

    version = recorded[0]["genbench"]["version"]
    assert changed("genbench.plugins.families.diffaugment") == [
        [f"genbench {version}: genbench.plugins.families.diffaugment changed"], []]
    assert changed("genbench.plugins.families.common") == [
        [f"genbench {version}: genbench.plugins.families.common changed"]] * 2


def test_an_older_genbench_whole_package_hash_re_runs_only_if_the_package_changed(registry, write_suite):
    cell = plan.expand(config.load(str(write_suite()), registry), registry)[0]
    current = cell_code_versions(cell, registry)
    version = current["genbench"]["version"]
    unchanged = {"genbench": {"version": version, "source": source_hash("genbench")}}  # as recorded before
    assert code_changes(unchanged, current) == []
    changed = {"genbench": {"version": version, "source": "0" * 64}}
    [change] = code_changes(changed, current, CodeReader())
    assert change.startswith(f"genbench {version} (source 00000000) -> {version} (source ")
    assert change.endswith("(the whole package's hash, recorded by an older genbench)")


def test_show_names_one_source_per_version_unless_a_module_differs_between_cells():
    def entry(**modules):
        return {"p": {"version": "0.1", "source": "x" * 64, "package": "p", "modules": modules}}

    same = summarize([entry(**{"p": "1", "p.a": "2"}), entry(**{"p": "1", "p.b": "3"})])
    [(name, text)] = same
    assert name == "p" and text.startswith("0.1 (source ") and text.endswith(") (2 cells)")
    assert summarize([entry(**{"p.a": "2"}), entry(**{"p.a": "4"}), {"p": {"version": "0.2", "source": None}}]) \
        == [("p", "0.1 (source differs between cells: p.a) (2 cells), 0.2 (1 cells)")]
    assert summarize([{"p": {"version": "0.1", "source": "abcdef12" + "0" * 56}}]) == \
        [("p", "0.1 (source abcdef12) (1 cells)")]  # an older genbench's whole-package hash


def test_a_run_re_runs_only_the_cells_of_the_edited_module(plugin, invoke_genbench, tmp_path):
    suite, out = tmp_path / "suite.toml", tmp_path / "out"
    suite.write_text(SUITE)

    def run() -> str:
        ran = invoke_genbench("run", str(suite), "--out", str(out), "--executor", "local", "--threads", "1",
                              pythonpath=plugin.parent)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        return " ".join((ran.stdout + ran.stderr).split())

    run()
    edit(plugin / "squares.py")
    text = run()
    assert f"re-running 1 cells whose plugin code changed: {DIST} 0.1: {PLUGIN}.squares changed" in text
    assert "skipped 2 cells already in the store" in text
