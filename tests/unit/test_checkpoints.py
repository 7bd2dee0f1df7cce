"""Checkpoints: retention modes; a checkpoint file is data, never code; a family without trainer
state runs unchecked (tests/e2e/test_checkpoint_resume.py: a cell killed mid-run resumes from
its last eval step with the numbers of an uninterrupted run)."""

import os
from pathlib import Path

import pytest
import torch

from genbench.suite import config

from genbench.suite import plan
from genbench.run.checkpoints import Checkpoints
from genbench.api.registry import load_plugins
from genbench.run.runner import run_cell
from resume_suite import RESUME_SUITE


@pytest.fixture(scope="module")
def gan_cell(tmp_path_factory):
    """One tiny GAN cell (3 eval steps) and the registry it was planned with."""
    registry = load_plugins(entry_points=False)
    path = tmp_path_factory.mktemp("suite") / "suite.toml"
    path.write_text(RESUME_SUITE.replace(', "kill-switch"', ""))
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
