"""A kernel backend from an installed plugin runs a suite cell end to end, with its ops counted
and the reference filling in the ops it lacks."""

import json
import sqlite3

from genbench.suite.config import load
from genbench.suite.plan import expand
from genbench.api.registry import load_plugins
from genbench.run.runner import run_cell

COUNTING_SUITE_LINE = 'objectives = ["nonsaturating"]\nkernels = ["counting"]\n'


def test_plugin_backend_runs_its_ops_and_falls_back_to_the_reference(install_plugin, write_suite):
    install_plugin("genbench_counting_kernels", dist="genbench-counting")
    registry = load_plugins()
    assert registry.origin("kernel", "counting").distribution == "genbench-counting"
    suite = write_suite()
    suite.write_text(suite.read_text().replace('objectives = ["nonsaturating"]\n', COUNTING_SUITE_LINE))
    cell = expand(load(str(suite), registry), registry)[0]
    import genbench_counting_kernels as plugin

    before = dict(plugin.CALLS)
    result = run_cell(cell, registry)
    assert result.status == "done", result.error
    assert plugin.CALLS["generator_loss"] - before["generator_loss"] == 20  # one G step per step
    assert plugin.CALLS["discriminator_loss"] - before["discriminator_loss"] == 20  # k = 1
    ops = result.env["kernel_ops"]
    assert ops["generator_loss"] == "counting" and ops["discriminator_loss"] == "counting"
    assert ops["bias_act"] == "reference"  # the MLP's layers: an op the plugin does not provide


def test_plugin_backend_through_the_cli(install_plugin, write_suite, tmp_path, genbench_cli):
    site = install_plugin("genbench_counting_kernels", dist="genbench-counting")
    suite, out = write_suite(), tmp_path / "out"
    suite.write_text(suite.read_text().replace('objectives = ["nonsaturating"]\n', COUNTING_SUITE_LINE))
    ran = genbench_cli("run", str(suite), "--out", str(out), pythonpath=site)
    assert ran.returncode == 0, ran.stderr
    assert "2 done" in ran.stdout and "counting ran discriminator_loss, generator_loss" in ran.stdout
    with sqlite3.connect(out / "results.sqlite") as db:
        envs = [json.loads(row[0]) for row in db.execute("SELECT env FROM cells")]
    assert all(env["kernel_ops"]["generator_loss"] == "counting" for env in envs)
    listed = genbench_cli("list", "--kind", "kernel", pythonpath=site)
    assert "counting" in listed.stdout and "genbench-counting" in listed.stdout
