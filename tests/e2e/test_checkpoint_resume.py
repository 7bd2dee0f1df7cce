"""Checkpoints across real processes: a cell killed mid-run (the driver, or only its worker)
resumes from its last eval step with the numbers of an uninterrupted run; `--checkpoints none`
writes none."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from genbench.run.checkpoints import Checkpoints
from genbench.suite import config, plan
from genbench.results.store import Store
from resume_suite import RESUME_SUITE

PLUGIN_DIR = Path(__file__).parents[1] / "plugins"


def run_genbench(*args, site: Path, **env) -> subprocess.CompletedProcess:
    """The CLI in a fresh process with the test plugins importable and extra environment."""
    environment = dict(os.environ, COLUMNS="200", OMP_NUM_THREADS="1", **env,
                       PYTHONPATH=os.pathsep.join([str(site), str(PLUGIN_DIR)]))
    return subprocess.run([sys.executable, "-m", "genbench", *args], capture_output=True, text=True,
                          env=environment, timeout=300)


def same_value(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b  # bit for bit, NaN included


def stored(out: Path) -> dict[str, dict]:
    """Model family -> what the store holds of its cell: status, env, metric rows, pictures."""
    store = Store(out, create=False)
    try:
        cells = {}
        for cell in store.cells():
            family = "gan" if cell.axes["model"].startswith("mlp") else "autoencoder"
            pictures = [(a["step"], (out / a["path"]).read_bytes()) for a in store.artifacts(cell.cell_id)]
            cells[family] = {"id": cell.cell_id, "status": cell.status, "env": cell.row["env"],
                             "metrics": store.metrics(cell.cell_id), "pictures": pictures}
        return cells
    finally:
        store.close()


def test_killed_cells_resume_from_their_last_checkpoint_with_identical_numbers(tmp_path, install_plugin):
    site = install_plugin("genbench_kill_switch")
    suite = tmp_path / "suite.toml"
    suite.write_text(RESUME_SUITE)
    reference, interrupted, markers = tmp_path / "reference", tmp_path / "interrupted", tmp_path / "markers"
    markers.mkdir()
    done = run_genbench("run", str(suite), "--out", str(reference), site=site)
    assert done.returncode == 0, done.stderr

    kill = {"GENBENCH_KILL_AT": "20", "GENBENCH_KILL_DIR": str(markers)}
    # In the driver's own process (--executor local) the GAN cell kills the whole run at step 20.
    first = run_genbench("run", str(suite), "--out", str(interrupted), "--executor", "local", site=site, **kill)
    assert first.returncode == -9, first.stderr
    gan_id = stored(interrupted)["gan"]["id"]
    assert stored(interrupted)["gan"]["status"] == "running"
    assert Checkpoints.of_results(interrupted).steps(gan_id) == [10]
    # In a worker (the default) the autoencoder cell kills only its worker: that cell fails, the run goes on.
    second = run_genbench("run", str(suite), "--out", str(interrupted), site=site, **kill)
    assert second.returncode == 1 and "SIGKILL" in second.stderr, second.stderr
    assert stored(interrupted)["gan"]["status"] == "done"
    assert stored(interrupted)["autoencoder"]["status"] == "failed"
    third = run_genbench("run", str(suite), "--out", str(interrupted), site=site, **kill)
    assert third.returncode == 0, third.stderr
    assert sorted(p.name for p in markers.iterdir()) == ["AEModel-seed0", "GANModel-seed0"]

    expected, got = stored(reference), stored(interrupted)
    for family in ("gan", "autoencoder"):
        assert got[family]["status"] == "done"
        assert '"resumed_from_step": 10' in got[family]["env"], "the cell must resume, not restart from 0"
        assert '"resumed_from_step": null' in expected[family]["env"]
        rows, reference_rows = got[family]["metrics"], expected[family]["metrics"]
        assert [(r["step"], r["name"]) for r in rows] == [(r["step"], r["name"]) for r in reference_rows]
        is_train = [r["provenance"].get("source") == "train" for r in rows]
        assert {r["step"] for r, train in zip(rows, is_train, strict=True) if not train} == {10, 20, 30}
        assert {r["step"] for r, train in zip(rows, is_train, strict=True) if train} == {4, 8, 10, 12, 16, 20, 24,
                                                                                          28, 30}
        for row, reference_row in zip(rows, reference_rows, strict=True):
            assert same_value(row["value"], reference_row["value"]), (family, row, reference_row)
            assert row["provenance"] == reference_row["provenance"]
        assert got[family]["pictures"] == expected[family]["pictures"]
        # retention "last" (the default): only the final step's checkpoint stays
        assert Checkpoints.of_results(interrupted).steps(got[family]["id"]) == [30]


def test_run_with_checkpoints_none_writes_none(tmp_path, write_suite, invoke_genbench):
    out = tmp_path / "out"
    result = invoke_genbench("run", str(write_suite()), "--out", str(out), "--checkpoints", "none")
    assert result.returncode == 0, result.stderr
    assert not (out / "checkpoints").exists()
    store = Store(out, create=False)
    assert all('"retention": "none"' in c.row["env"] for c in store.cells())
    store.close()


@pytest.mark.parametrize("executor", ["local", "process"])
def test_a_cell_whose_checkpoint_cannot_be_read_fails_alone(tmp_path, write_suite, genbench_cli, registry, executor):
    """A planted file where a pending cell's checkpoint would be: that cell fails naming it (exit
    1), the others run; the Dask executor's case is in test_dask_executor.py."""
    suite, out = write_suite(), tmp_path / "out"
    first = genbench_cli("run", str(suite), "--out", str(out), "--executor", executor, "--only", "seed0")
    assert first.returncode == 0, first.stderr
    [pending] = plan.select(plan.expand(config.load(str(suite), registry), registry), ("seed1",))
    planted = Checkpoints.of_results(out).path(pending.cell_id, 10)
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"not a checkpoint")
    ran = genbench_cli("run", str(suite), "--out", str(out), "--executor", executor)
    assert ran.returncode == 1, ran.stderr
    assert f"seed1: genbench.api.errors.DataError: checkpoint {planted} cannot be read safely" in \
        " ".join(ran.stderr.split())
    store = Store(out, create=False)
    try:
        assert {c.seed: c.status for c in store.cells()} == {0: "done", 1: "failed"}
    finally:
        store.close()
