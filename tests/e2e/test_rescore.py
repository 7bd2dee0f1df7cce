"""genbench rescore: a metric added to finished cells from their checkpoints equals the value the
run records with that metric in its suite; what it refuses, and what it skips and why."""

import math
import os
import shutil
import subprocess
import sys

import pytest
import torch

from genbench.suite import config

from genbench.suite import plan
from genbench.run.checkpoints import Checkpoints
from genbench.api.registry import load_plugins
from genbench.run.runner import run_cell
from genbench.results.store import Store

# A GAN cell (points) and a VAE cell (images), run without metrics; rescore adds them.
SUITE = """
[suite]
name = "later"
seeds = [0]
[train]
steps = 20
batch_size = 32
[eval]
every = 10
metrics = {metrics}
[[matrix]]
datasets = [{{ name = "ring8", n_train = 512, n_test = 64 }}]
models = [{{ name = "mlp", hidden = 16, depth = 1, z_dim = 4 }}]
objectives = ["nonsaturating"]
[[matrix]]
datasets = [{{ name = "digits", n_train = 256 }}]
models = [{{ name = "ae-deep", hidden = [32], code_dim = 4, variational = true }}]
objectives = ["vae"]
"""
MODES = '{ name = "modes", n_samples = 200 }'
RECONSTRUCTION = '{ name = "reconstruction", n = 50 }'


def genbench(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="250", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "genbench", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A results folder of the suite run without metrics, and one run with --checkpoints none."""
    folder = tmp_path_factory.mktemp("runs")
    suite = folder / "suite.toml"
    suite.write_text(SUITE.format(metrics="[]"))
    for out, extra in (("out", ()), ("no-checkpoints", ("--checkpoints", "none"))):
        result = genbench("run", str(suite), "--out", str(folder / out), *extra)
        assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture
def out(finished, tmp_path):
    """A copy of the finished folder this test may change."""
    return shutil.copytree(finished / "out", tmp_path / "out")


def final_rows(out, metric: str) -> dict[str, list[dict]]:
    """cell path -> the rows of `metric` the store holds."""
    store = Store(out, create=False)
    try:
        return {"/".join(c.axes.values()): [r for r in store.metrics(c.cell_id) if r["provenance"].get("metric") == metric]
                for c in store.cells()}
    finally:
        store.close()


def test_rescore_adds_the_values_the_run_records_with_the_metric_in_its_suite(out, tmp_path):
    modes = genbench("rescore", str(out), "--metric", MODES)
    assert modes.returncode == 0, modes.stderr
    assert "skipped:" in modes.stderr and "digits" in modes.stderr and "not autoencoder on image" in modes.stderr
    reconstruction = genbench("rescore", str(out), "--metric", RECONSTRUCTION, "--only", "vae")
    assert reconstruction.returncode == 0, reconstruction.stderr

    # the same cells trained in this process with both metrics in the suite
    registry = load_plugins(entry_points=False)
    suite = tmp_path / "with-metrics.toml"
    suite.write_text(SUITE.format(metrics=f"[{MODES}, {RECONSTRUCTION}]"))
    expected = {}
    for cell in plan.expand(config.load(str(suite), registry), registry):
        result = run_cell(cell, registry)
        assert result.status == "done", result.error
        expected["/".join(cell.group)] = {(m.name, m.step): m.value for m in result.metrics
                                          if m.step == 20 and m.provenance.get("source") != "train"}

    rescored = {**final_rows(out, "modes"), **{k: v for k, v in final_rows(out, "reconstruction").items() if v}}
    assert len(rescored) == 2
    for path, rows in rescored.items():
        assert rows and {(r["name"], r["step"]) for r in rows} <= set(expected[path])
        for row in rows:
            value = expected[path][row["name"], row["step"]]
            assert (math.isnan(value) and math.isnan(row["value"])) or row["value"] == value, (path, row, value)
            assert row["provenance"]["rescored"] is True and row["provenance"]["seed"] == 0
            assert "higher_is_better" in row["provenance"]["outputs"][row["name"]]  # as the report reads it
    assert {"hq_pct", "modes"} <= {r["name"] for r in rescored[next(p for p in rescored if "ring8" in p)]}
    assert "recon_mse" in {r["name"] for r in rescored[next(p for p in rescored if "digits" in p)]}

    shown = genbench("show", str(out))
    assert shown.returncode == 0 and "hq_pct" in shown.stdout and "recon_mse" in shown.stdout


def test_rescore_refuses_what_it_cannot_score_before_any_work(out):
    unknown = genbench("rescore", str(out), "--metric", "modez")
    assert unknown.returncode == 2 and "unknown metric 'modez'" in unknown.stderr and "modes" in unknown.stderr
    wrong_family = genbench("rescore", str(out), "--metric", RECONSTRUCTION, "--only", "ring8")
    assert wrong_family.returncode == 2 and "can score none of the selected cells" in wrong_family.stderr
    assert "not gan on points" in wrong_family.stderr
    assert final_rows(out, "reconstruction") == {p: [] for p in final_rows(out, "reconstruction")}


def test_rescore_refuses_values_a_cell_has_unless_replace(out):
    assert genbench("rescore", str(out), "--metric", MODES).returncode == 0
    first = final_rows(out, "modes")
    again = genbench("rescore", str(out), "--metric", '{ name = "modes", n_samples = 300 }')
    assert again.returncode == 2 and "--replace" in again.stderr and "modes" in again.stderr
    assert final_rows(out, "modes") == first
    replaced = genbench("rescore", str(out), "--metric", '{ name = "modes", n_samples = 300 }', "--replace")
    assert replaced.returncode == 0, replaced.stderr
    rows = next(r for r in final_rows(out, "modes").values() if r)
    assert len(rows) == 3 and all(r["provenance"]["params"] == {"n_samples": 300} for r in rows)


def test_cells_without_a_checkpoint_are_listed_as_skipped_with_the_reason(finished):
    result = genbench("rescore", str(finished / "no-checkpoints"), "--metric", MODES)
    message = " ".join(result.stderr.split())  # the terminal wraps long lines
    assert result.returncode == 2
    assert "no checkpoint of its final step 20" in message and "--checkpoints none" in message


def test_a_hostile_final_checkpoint_fails_that_cell_and_runs_no_code(out, tmp_path):
    store = Store(out, create=False)
    gan = next(c.cell_id for c in store.cells() if "ring8" in c.axes["dataset"])
    store.close()
    marker = tmp_path / "pwned"

    class RunsCode:
        def __reduce__(self):
            return os.mkdir, (str(marker),)

    path = Checkpoints.of_results(out).path(gan, 20)
    torch.save({"trainer": RunsCode()}, path)
    result = genbench("rescore", str(out), "--metric", MODES)
    assert result.returncode == 1
    said = " ".join(result.stderr.split())  # rich wraps long lines at the terminal's width
    assert "failed:" in said and "cannot be read safely" in said
    assert not marker.exists()
