"""Cells remember the code they ran, across fresh processes that import the plugin anew: a
plugin's new version, or changed source of an editable install (per module:
tests/unit/test_code_version_modules.py), re-runs its cells on resume
(others stay skipped); --reuse-stale keeps them; a stale *.egg-info earlier on sys.path does not
hide the installed distribution."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path


SUITE = """
[suite]
name = "code"
seeds = [0]
[train]
steps = 10
batch_size = 32
[eval]
every = 10
metrics = [{ name = "modes", n_samples = 100 }]
[matrix]
datasets = [{ name = "ring8", n_train = 256, n_test = 32 }, { name = "blobs", n = 256 }]
models = [{ name = "mlp", hidden = 8, depth = 1, z_dim = 2 }]
objectives = ["nonsaturating"]
"""
PLUGIN_DIR = Path(__file__).parents[1] / "plugins"
PLUGIN = "genbench_sample_plugin"
DIST = "genbench-sample-plugin"


def stored_code(out):
    """dataset name -> (the code versions its cell recorded, when it finished)."""
    with sqlite3.connect(out / "results.sqlite") as db:
        rows = db.execute("SELECT label, code, finished_at FROM cells JOIN cell_axes USING (cell_id) "
                          "WHERE axis='dataset'").fetchall()
    return {label.split("(")[0]: (json.loads(code), finished) for label, code, finished in rows}


def resumed_from(out) -> dict:
    """dataset name -> the step its stored result resumed from (None: trained from step 0)."""
    with sqlite3.connect(out / "results.sqlite") as db:
        rows = db.execute("SELECT label, env FROM cells JOIN cell_axes USING (cell_id) WHERE axis='dataset'")
        return {label.split("(")[0]: json.loads(env)["checkpoints"]["resumed_from_step"] for label, env in rows}


def run(genbench_cli, site, suite, out, *args):
    ran = genbench_cli("run", str(suite), "--out", str(out), "--threads", "1", *args, pythonpath=site)
    assert ran.returncode == 0, ran.stderr
    return " ".join(ran.stdout.split())  # rich wraps long lines


def test_a_new_plugin_version_re_runs_its_cells_and_reuse_stale_keeps_them(install_plugin, genbench_cli, tmp_path):
    suite, out = tmp_path / "suite.toml", tmp_path / "out"
    suite.write_text(SUITE)
    site = install_plugin(PLUGIN, version="0.1")
    run(genbench_cli, site, suite, out)
    first = stored_code(out)
    assert first["blobs"][0][DIST] == {"version": "0.1", "source": None}  # not editable: the version pins it
    assert DIST not in first["ring8"][0] and "genbench" in first["ring8"][0]

    install_plugin(PLUGIN, version="0.2")
    text = run(genbench_cli, site, suite, out)
    assert f"re-running 1 cells whose plugin code changed: {DIST} 0.1 -> 0.2" in text
    assert "skipped 1 cells already in the store" in text
    second = stored_code(out)
    assert second["blobs"][0][DIST]["version"] == "0.2" and second["blobs"][1] > first["blobs"][1]
    assert second["ring8"] == first["ring8"]  # untouched: none of its code changed
    assert resumed_from(out)["blobs"] is None  # retrained: its old code's final checkpoint was discarded

    install_plugin(PLUGIN, version="0.3")
    text = run(genbench_cli, site, suite, out, "--reuse-stale")
    assert f"kept 1 cells computed with older code (--reuse-stale): {DIST} 0.2 -> 0.3" in text
    assert "skipped 2 cells already in the store" in text
    assert stored_code(out) == second
    assert f"code, {DIST}: 0.2 (1 cells)" in text  # show says which code computed the table

    text = run(genbench_cli, site, suite, out)  # without the flag the stale cell re-runs after all
    assert f"{DIST} 0.2 -> 0.3" in text and stored_code(out)["blobs"][0][DIST]["version"] == "0.3"


def test_an_editable_plugin_whose_source_changes_re_runs_its_cells(install_plugin, genbench_cli, tmp_path):
    suite, out = tmp_path / "suite.toml", tmp_path / "out"
    suite.write_text(SUITE)
    site = install_plugin(PLUGIN, editable=True)
    source = site / f"{PLUGIN}.py"  # the plugin's working copy: site comes before tests/plugins
    source.write_text((PLUGIN_DIR / f"{PLUGIN}.py").read_text())
    run(genbench_cli, site, suite, out)
    before = stored_code(out)["blobs"][0][DIST]
    assert before["version"] == "0.1" and len(before["source"]) == 64

    text = run(genbench_cli, site, suite, out)
    assert "re-running" not in text and "skipped 2 cells already in the store" in text  # same source

    source.write_text(source.read_text() + "\n# an edit\n")
    text = run(genbench_cli, site, suite, out)
    after = stored_code(out)["blobs"][0][DIST]
    assert after["source"] != before["source"]
    assert f"re-running 1 cells whose plugin code changed: {DIST} 0.1: {PLUGIN} changed" in text
    assert "skipped 1 cells already in the store" in text


LOOKUP = """
import json, importlib.metadata
from genbench.run.code_version import find_distribution, is_editable
dist = find_distribution(%(dist)r)
print(json.dumps({"naive": importlib.metadata.version(%(dist)r), "found": [dist.version, is_editable(dist)]}))
"""


def lookup(cwd, site, dist):
    """[version, editable] of distribution `dist` as code versions find it, in a fresh interpreter
    whose sys.path starts with `cwd`."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(PLUGIN_DIR)]))
    out = subprocess.run([sys.executable, "-c", LOOKUP % {"dist": dist}], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


def test_a_stale_egg_info_on_sys_path_does_not_shadow_the_installed_distribution(install_plugin, tmp_path):
    site = install_plugin(PLUGIN, version="0.1", editable=True)
    neutral, source_tree = tmp_path / "elsewhere", tmp_path / "tree"
    for folder in (neutral, source_tree):
        folder.mkdir()
    for name in (PLUGIN, "genbench"):  # what setuptools leaves in a source tree, older than the install
        egg_info = source_tree / f"{name}.egg-info"
        egg_info.mkdir()
        (egg_info / "PKG-INFO").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.0.1\n")

    shadowed = lookup(source_tree, site, DIST)
    assert shadowed["naive"] == "0.0.1"  # importlib.metadata alone finds the egg-info first
    assert shadowed["found"] == ["0.1", True]  # the installed one, editable
    assert shadowed["found"] == lookup(neutral, site, DIST)["found"]
    own = lookup(source_tree, site, "genbench")
    assert own["naive"] == "0.0.1" and own["found"][0] != "0.0.1"
    assert own["found"] == lookup(neutral, site, "genbench")["found"]
