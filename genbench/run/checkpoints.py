"""Checkpoint files: what a cell needs to continue from an eval step, saved and read back safely.

A cell's checkpoints live in <out>/checkpoints/<cell_id>/step<NNNNNNN>.pt. Each is one dict:
format, cell_id, step, `trainer` (what the family's TrainStep.state() returned), `loop` (the
runner's TrainingLoop state) and the global RNG states (`rng`: after the eval step's metrics, to
continue training; `rng_at_eval`: before them, to score again as the run did). Files are written
whole or not at all (a temporary file, fsync, rename, fsync of the folder) and read only with
torch.load(weights_only=True), which builds tensors, dicts, lists, tuples, str, int, float, bool
and None and refuses anything else: a hostile file cannot run code. A file that does not read as
a checkpoint of that cell and step is a DataError naming it and the fix.

Retention: "last" keeps the newest file of each cell (the one `genbench rescore` reads once the
cell is done), "all" keeps one per eval step; a run with "none" has no Checkpoints at all.
"""

from __future__ import annotations

import io
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genbench.results.files import write_new
from genbench.api.errors import DataError
from genbench.api.weights import load_weights

RETENTION = ("last", "all", "none")
FORMAT = 1
FOLDER = "checkpoints"
FILE_PATTERN = re.compile(r"step(\d{7,})\.pt")


@dataclass(frozen=True)
class Checkpoints:
    """Where a run keeps its cells' checkpoints, and which of them it keeps (picklable: workers
    get it with each cell)."""

    directory: Path  # <out>/checkpoints
    retention: str = "last"  # "last" or "all"

    @classmethod
    def of_results(cls, out_dir: str | Path, retention: str = "last") -> Checkpoints:
        return cls(Path(out_dir).resolve() / FOLDER, retention)

    def path(self, cell_id: str, step: int) -> Path:
        return self.directory / cell_id / f"step{step:07d}.pt"

    def steps(self, cell_id: str) -> list[int]:
        """The steps with a checkpoint file of this cell, oldest first."""
        folder = self.directory / cell_id
        if not folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in folder.iterdir() if (m := FILE_PATTERN.fullmatch(p.name)))

    def discard(self, cell_id: str) -> None:
        """Delete every checkpoint of this cell (its code changed: it must start from step 0)."""
        for step in self.steps(cell_id):
            self.path(cell_id, step).unlink(missing_ok=True)

    def save(self, cell_id: str, step: int, content: dict[str, Any]) -> Path:
        """Write the checkpoint of `step` atomically, then drop older ones unless retention is "all"."""
        buffer = io.BytesIO()
        torch.save({"format": FORMAT, "cell_id": cell_id, "step": step, **content}, buffer)
        return self.write(cell_id, step, buffer.getvalue())

    def write(self, cell_id: str, step: int, data: bytes) -> Path:
        """Write a checkpoint file's bytes (what `save` serializes; a cluster worker's checkpoint
        shipped to the driver) atomically, then drop older ones unless retention is "all"."""
        target = write_new(self.path(cell_id, step), data, root=self.directory.parent, sync=True)
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)  # the rename itself survives a power cut
        finally:
            os.close(folder)
        if self.retention == "last":
            for older in self.steps(cell_id):
                if older != step:
                    self.path(cell_id, older).unlink(missing_ok=True)
        return target

    def load(self, cell_id: str, step: int) -> dict[str, Any]:
        """The checkpoint of `step`, read with weights_only=True and checked to be this cell's."""
        path = self.path(cell_id, step)
        fix = (f"fix: delete {path} (the cell then trains again from its previous checkpoint or "
               f"step 0), or run with --checkpoints none to ignore checkpoints")
        content = load_weights(path, "checkpoint", fix)
        expected = {"format": FORMAT, "cell_id": cell_id, "step": step}
        if not isinstance(content, dict) or any(content.get(k) != v for k, v in expected.items()) or \
                not all(isinstance(content.get(k), dict) for k in ("trainer", "loop", "rng", "rng_at_eval")):
            raise DataError(f"checkpoint {path} is not a genbench checkpoint of cell {cell_id} at step "
                            f"{step}; it was not loaded. {fix}")
        return content


def global_rng_state() -> dict[str, Any]:
    """The states of every global RNG genbench seeds (torch CPU and CUDA, numpy, python), as
    tensors and plain values."""
    version, internal, gauss = random.getstate()
    _, keys, position, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": version, "internal": list(internal), "gauss": gauss},
    }


def set_global_rng_state(state: dict[str, Any]) -> None:
    """Restore what global_rng_state() returned."""
    torch.set_rng_state(state["torch"])
    if state["cuda"]:
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy = state["numpy"]
    np.random.set_state(("MT19937", numpy["keys"].numpy().astype(np.uint32), numpy["position"],
                         numpy["has_gauss"], numpy["cached_gaussian"]))
    python = state["python"]
    random.setstate((python["version"], tuple(python["internal"]), python["gauss"]))
