"""Checkpoints: a cell killed mid-run resumes from its last eval step with the numbers of an
uninterrupted run; retention modes; a checkpoint file is data, never code."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from genbench.suite import config

from genbench.suite import plan
from genbench.run.checkpoints import Checkpoints
from genbench.api.registry import load_plugins
from genbench.run.runner import run_cell
from genbench.results.store import Store

PLUGIN_DIR = Path(__file__).parent / "plugins"

# A GAN cell and an autoencoder cell, 30 steps each, checkpointed at steps 10, 20 and 30.
SUITE = """
[suite]
name = "resume"
seeds = [0]
[train]
steps = 30
batch_size = 32
[eval]
every = 10
metrics = [{ name = "modes", n_samples = 200 }, { name = "reconstruction", n = 50 }, "kill-switch"]
[[matrix]]
datasets = [{ name = "ring8", n_train = 512, n_test = 64 }]
models = [{ name = "mlp", hidden = 16, depth = 1, z_dim = 4 }]
objectives = ["nonsaturating"]
[[matrix]]
datasets = [{ name = "digits", n_train = 256 }]
models = [{ name = "ae-deep", hidden = [32], code_dim = 4, variational = true }]
objectives = ["vae"]
"""


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
    suite.write_text(SUITE)
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
        assert {r["step"] for r in rows} == {10, 20, 30}
        for row, reference_row in zip(rows, reference_rows, strict=True):
            assert same_value(row["value"], reference_row["value"]), (family, row, reference_row)
            assert row["provenance"] == reference_row["provenance"]
        assert got[family]["pictures"] == expected[family]["pictures"]
        # retention "last" (the default): only the final step's checkpoint stays
        assert Checkpoints.of_results(interrupted).steps(got[family]["id"]) == [30]


@pytest.fixture(scope="module")
def gan_cell(tmp_path_factory):
    """One tiny GAN cell (3 eval steps) and the registry it was planned with."""
    registry = load_plugins(entry_points=False)
    path = tmp_path_factory.mktemp("suite") / "suite.toml"
    path.write_text(SUITE.replace(', "kill-switch"', ""))
    cells = plan.expand(config.load(str(path), registry), registry)
    return next(c for c in cells if c.component("model").name == "mlp"), registry


def test_retention_all_keeps_every_eval_step_and_last_only_the_newest(tmp_path, gan_cell):
    cell, registry = gan_cell
    every = Checkpoints(tmp_path / "all", "all")
    result = run_cell(cell, registry, checkpoints=every)
    assert result.status == "done", result.error
    assert every.steps(cell.cell_id) == [10, 20, 30]
    assert result.env["checkpoints"]["saved_steps"] == [10, 20, 30]
    last = Checkpoints(tmp_path / "last", "last")
    assert run_cell(cell, registry, checkpoints=last).status == "done"
    assert last.steps(cell.cell_id) == [30]
    assert not list((tmp_path / "last" / cell.cell_id).glob(".*")), "no temporary file is left behind"
    # killed after the cell finished but before the driver stored it: the final checkpoint has it all
    again = run_cell(cell, registry, checkpoints=last)
    assert again.status == "done" and again.env["checkpoints"]["resumed_from_step"] == 30
    assert again.env["checkpoints"]["saved_steps"] == []
    assert [(m.step, m.name, repr(m.value)) for m in again.metrics] == \
        [(m.step, m.name, repr(m.value)) for m in result.metrics]
    assert [a.data for a in again.artifacts] == [a.data for a in result.artifacts]


def test_run_with_checkpoints_none_writes_none(tmp_path, write_suite, genbench_cli):
    out = tmp_path / "out"
    result = genbench_cli("run", str(write_suite()), "--out", str(out), "--checkpoints", "none")
    assert result.returncode == 0, result.stderr
    assert not (out / "checkpoints").exists()
    store = Store(out, create=False)
    assert all('"retention": "none"' in c.row["env"] for c in store.cells())
    store.close()


class RunsCode:
    """Unpickling this calls os.mkdir(marker): what a hostile checkpoint would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def test_a_hostile_checkpoint_fails_its_cell_clearly_and_runs_no_code(tmp_path, gan_cell):
    cell, registry = gan_cell
    checkpoints, marker = Checkpoints(tmp_path / "ck"), tmp_path / "pwned"
    path = checkpoints.path(cell.cell_id, 10)
    path.parent.mkdir(parents=True)
    torch.save({"format": 1, "trainer": RunsCode(marker)}, path)

    result = run_cell(cell, registry, checkpoints=checkpoints)
    assert result.status == "failed"
    last_line = result.error.strip().splitlines()[-1]
    assert "DataError" in last_line and str(path) in last_line and "cannot be read safely" in last_line
    assert f"delete {path}" in last_line
    assert not marker.exists(), "loading the checkpoint ran code"
    torch.load(path, weights_only=False)  # the file really is hostile: an unsafe load runs its code
    assert marker.exists()


@pytest.mark.parametrize("content", [b"not a checkpoint at all", "another cell's"])
def test_a_corrupt_or_foreign_checkpoint_fails_its_cell_naming_the_file(tmp_path, gan_cell, content):
    cell, registry = gan_cell
    checkpoints = Checkpoints(tmp_path / "ck")
    path = checkpoints.path(cell.cell_id, 20)
    path.parent.mkdir(parents=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save({"format": 1, "cell_id": "0123456789abcdef", "step": 20, "trainer": {}, "loop": {},
                    "rng": {}, "rng_at_eval": {}}, path)
    result = run_cell(cell, registry, checkpoints=checkpoints)
    assert result.status == "failed"
    assert str(path) in result.error and "it was not loaded" in result.error


def test_a_family_without_trainer_state_still_runs_and_says_it_was_not_checkpointed(tmp_path, install_plugin):
    install_plugin("genbench_toy_family", dist="genbench-toy-family")
    registry = load_plugins()
    path = tmp_path / "suite.toml"
    path.write_text("""
[suite]
name = "toy"
[train]
steps = 20
batch_size = 16
[eval]
every = 10
[matrix]
datasets = [{ name = "toy-blob", n = 64 }]
models = ["gaussian"]
objectives = ["nll"]
""")
    (cell,) = plan.expand(config.load(str(path), registry), registry)
    checkpoints = Checkpoints(tmp_path / "ck")
    result = run_cell(cell, registry, checkpoints=checkpoints)
    assert result.status == "done", result.error
    assert checkpoints.steps(cell.cell_id) == []
    assert "gaussian-fit" in result.env["checkpoints"]["unsupported"]


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
