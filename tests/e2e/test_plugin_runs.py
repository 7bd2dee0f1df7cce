"""Installed plugins through `genbench run`, in worker processes that load them from their entry
points: a family with its domain, and a kernel backend."""

import io
import json
import sqlite3

from PIL import Image

COUNTING_SUITE_LINE = 'objectives = ["nonsaturating"]\nkernels = ["counting"]\n'

SUITE = """
[suite]
name = "toy-family"
seeds = [0]

[train]
steps = 40
batch_size = 64

[eval]
every = 20

[matrix]
datasets = ["toy-blob"]
models = ["gaussian"]
objectives = ["nll"]
"""


def test_run_and_show_a_suite_of_the_plugin_family(install_plugin, invoke_genbench, tmp_path):
    """Needs the core that reads families and domains from the registry (the open-core runner)."""
    site = install_plugin("genbench_toy_family", dist="genbench-toy-family")
    suite, out = tmp_path / "toy.toml", tmp_path / "out"
    suite.write_text(SUITE)
    ran = invoke_genbench("run", str(suite), "--out", str(out), pythonpath=site)
    assert ran.returncode == 0, ran.stdout + ran.stderr

    shown = invoke_genbench("show", str(out), pythonpath=site)
    assert shown.returncode == 0, shown.stderr
    assert "Gaussian NLL" in shown.stdout  # the family's statistic, by its display label
    pictures = [path.read_bytes() for path in out.rglob("*.png")]
    assert pictures and all(p.startswith(b"\x89PNG") for p in pictures)
    with Image.open(io.BytesIO(pictures[0])) as image:
        assert image.size == (96, 96)  # drawn by the plugin's domain


def test_plugin_backend_through_the_cli(install_plugin, write_suite, tmp_path, invoke_genbench):
    site = install_plugin("genbench_counting_kernels", dist="genbench-counting")
    suite, out = write_suite(), tmp_path / "out"
    suite.write_text(suite.read_text().replace('objectives = ["nonsaturating"]\n', COUNTING_SUITE_LINE))
    ran = invoke_genbench("run", str(suite), "--out", str(out), pythonpath=site)
    assert ran.returncode == 0, ran.stderr
    assert "2 done" in ran.stdout and "counting ran discriminator_loss, generator_loss" in ran.stdout
    with sqlite3.connect(out / "results.sqlite") as db:
        envs = [json.loads(row[0]) for row in db.execute("SELECT env FROM cells")]
    assert all(env["kernel_ops"]["generator_loss"] == "counting" for env in envs)
    listed = invoke_genbench("list", "--kind", "kernel", pythonpath=site)
    assert "counting" in listed.stdout and "genbench-counting" in listed.stdout
