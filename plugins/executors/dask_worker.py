"""What a Dask worker runs for one cell (the worker side of the dask executor).

`run_cell_task` is the task the driver submits. The worker process keeps one registry for its
whole life (loaded by `prepare_worker` when the run starts, or by its first cell), and with it
the plugins' in-process caches (feature extractors): they are built once per worker, not once
per cell; data sets are built on the worker from its own packages and cache, nothing is read
from the driver's disk. The worker needs no shared file system: checkpoints are written to a
folder of its own and shipped, bytes and all, to the driver (which alone writes the results
folder) over a Dask Queue, and kept in a Dask Variable of the cell, so that a cell whose worker
is lost continues on another worker from its last checkpoint. The Variable also keeps the
cell's attempts (which workers began it): the attempt past `max_attempts` does not run and
returns `failed: worker lost` with that history.
Progress events go to the driver over the same Queue; a cell checks every few seconds whether
the driver cancelled the run (Ctrl-C) or the cell ran past its timeout, and stops if so.
Dask is imported inside the functions: `genbench list` loads this module without it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from genbench.run.checkpoints import Checkpoints
from genbench.run.executors import ProgressEvent
from genbench.suite.limits import format_duration
from genbench.api.registry import Registry, load_plugins
from genbench.api.result import CellResult

CHECK_EVERY_S = 2.0  # how often a running cell asks whether the run was cancelled
EVENT_EVERY_S = 0.5  # how often a running cell sends its progress
_registry: Registry | None = None  # this worker process's registry, loaded once


def worker_registry() -> Registry:
    global _registry
    if _registry is None:
        _registry = load_plugins()
    return _registry


def prepare_worker(threads: int | None, dask_worker=None) -> None:
    """Set torch's threads (default: the worker's share of its machine's cores) and load the
    registry; the driver runs it on every worker when the run starts (Client.run)."""
    nthreads = dask_worker.state.nthreads if dask_worker is not None else 1
    torch.set_num_threads(threads or max(1, (os.cpu_count() or 1) // max(1, nthreads)))
    worker_registry()


@dataclass(frozen=True)
class Channels:
    """The names of a run's Dask coordination primitives."""

    run_id: str

    def events(self, client=None):
        """The Queue of (kind, ...) messages from the workers to the driver."""
        from distributed import Queue

        return Queue(f"genbench-{self.run_id}-events", client=client)

    def cancel(self, client=None):
        """The Event the driver sets when the run is interrupted."""
        from distributed import Event

        return Event(f"genbench-{self.run_id}-cancel", client=client)

    def cell(self, cell_id: str, client=None):
        """The cell's Variable: {"attempts": [worker addresses], "step": int | None, "data": bytes | None}."""
        from distributed import Variable

        return Variable(f"genbench-{self.run_id}-{cell_id}", client=client)


@dataclass(frozen=True)
class ShippedCheckpoints(Checkpoints):
    """Checkpoints in the worker's own folder; each one saved is also shipped to the driver."""

    ship: Any = field(default=None, compare=False)  # (step, path) -> None

    def save(self, cell_id: str, step: int, content: dict[str, Any]) -> Path:
        path = super().save(cell_id, step, content)
        self.ship(step, path)
        return path


class CellStopped(Exception):
    """Raised in the cell's progress callback: the run was cancelled or the cell timed out."""


def run_cell_task(cell, channels: Channels, retention: str | None, timeout_s: float, max_attempts: int,
                  threads: int | None) -> CellResult:
    """Run `cell` on this worker, from its newest checkpoint; the CellResult goes back to the driver."""
    from distributed import get_worker

    from genbench.run.runner import run_cell

    worker = get_worker()
    if threads is not None:
        torch.set_num_threads(threads)
    state_var, events = channels.cell(cell.cell_id), channels.events()
    state = state_var.get()
    attempts = [*state["attempts"], worker.address]
    if len(attempts) > max_attempts:
        return CellResult(cell.cell_id, "failed", env={"dask": {"attempts": state["attempts"]}},
                          error=worker_lost(state["attempts"]))
    state_var.set({**state, "attempts": attempts})
    events.put(("started", cell.cell_id, worker.address, len(attempts)))

    folder = Path(tempfile.mkdtemp(prefix="genbench-checkpoints-", dir=worker.local_directory))
    checkpoints = None
    if retention is not None:
        def ship(step: int, path: Path) -> None:
            data = path.read_bytes()
            state_var.set({"attempts": attempts, "step": step, "data": data})
            events.put(("checkpoint", cell.cell_id, step, data))

        checkpoints = ShippedCheckpoints(folder, "last", ship)
        if state["data"] is not None:
            checkpoints.write(cell.cell_id, state["step"], state["data"])

    started, last_check, last_event, stopped = time.monotonic(), time.monotonic(), 0.0, []

    def on_event(event: ProgressEvent) -> None:
        nonlocal last_check, last_event
        now = time.monotonic()
        if now - last_event > EVENT_EVERY_S or event.step == event.total:  # one round trip per event: few
            last_event = now
            events.put(("event", event.cell_id, event.step, event.total))
        if now - started > timeout_s:
            stopped.append(f"timeout: the cell ran longer than its limit of {format_duration(timeout_s)} (set by "
                           f"--timeout or the suite's [train] timeout); it was stopped")
        elif now - last_check > CHECK_EVERY_S:
            last_check = now
            if channels.cancel().is_set():
                stopped.append("cancelled: the run was interrupted")
        if stopped:
            raise CellStopped(stopped[0])

    try:
        result = run_cell(cell, worker_registry(), on_event, checkpoints)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if stopped and result.status == "failed":
        result.error = f"{stopped[0]}\n{result.error}"
    result.env["dask"] = {"worker": worker.address, "attempts": attempts}
    return result


def worker_lost(attempts: list[str]) -> str:
    """The error of a cell whose workers were lost: the cause first, then where it ran."""
    history = "; ".join(f"attempt {i} on {address}" for i, address in enumerate(attempts, 1))
    return (f"worker lost: the Dask worker running this cell was lost {len(attempts)} times (killed, "
            f"preempted or cut off), so it was not retried again\nhistory: {history or 'none'}")
