"""What a Dask worker runs for one cell (the worker side of the dask executor).

`run_cell_task` is the task the driver submits. The worker process keeps one registry for its
whole life (loaded by `prepare_worker` when the run starts, or by its first cell), and with it
the plugins' in-process caches (feature extractors): they are built once per worker, not once
per cell; data sets are built on the worker from its own packages and cache, nothing is read
from the driver's disk. The worker needs no shared file system: checkpoints are written to a
folder of its own and shipped, bytes and all, to the driver (which alone writes the results
folder) over a Dask Queue, and kept in a Dask Variable of the cell, so that a cell whose worker
is lost continues on another worker from its last checkpoint. The Variable also keeps the
cell's attempts (which workers began it, and their processes): an attempt after a lost one first
asks how that worker died (plugins/executors/dask_deaths.py), and fails the cell with the cause
instead of running it again if it would die the same way (a crash signal, memory); the attempt
past `max_attempts` does not run and returns `failed: worker lost` with that history.
Progress events go to the driver over the same Queue. A watchdog thread, independent of them,
enforces the run's limits (genbench.suite.limits) as the process executor does, in its words:
past the time limit, or when the run is cancelled (Ctrl-C), the cell stops at its next progress
report, and a cell that does not within STOP_GRACE_S (it hangs) has its worker process killed;
over the memory limit (the worker process's resident memory), the worker is killed at once. The
watchdog tells the driver the cause first, and the driver fails the cell with it; a nanny
restarts the worker. Dask is imported inside the functions: `genbench list` loads this module
without it.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import torch

from genbench.api.registry import Registry, load_plugins
from genbench.api.result import CellResult
from genbench.plugins.executors.dask_deaths import death_of
from genbench.run.checkpoints import Checkpoints
from genbench.run.executors import ProgressEvent, memory_error, timeout_error
from genbench.run.workers import resident_memory
from genbench.suite.limits import CellLimits

WATCH_EVERY_S = 0.5  # how often the watchdog looks at the cell's time and its worker's memory
CHECK_EVERY_S = 2.0  # how often the watchdog asks whether the run was cancelled
STOP_GRACE_S = 5.0  # how long a stopped cell has to end at a progress report before its worker is killed
EVENT_EVERY_S = 0.5  # how often a running cell sends its progress
STATE_WAIT_S = 30.0  # how long an attempt waits for its cell's Variable (gone: the driver is done with it)
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
        """The cell's Variable: {"attempts": [worker addresses], "processes": [[nanny address or None,
        pid]] of those attempts, "step": int | None, "data": bytes | None (its newest checkpoint),
        "stopped": the error its watchdog stopped it with, or None}."""
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
    """Raised in the cell's progress callback: the run was cancelled or the cell is past a limit."""


def run_cell_task(cell, channels: Channels, retention: str | None, limits: CellLimits, max_attempts: int,
                  threads: int | None) -> CellResult:
    """Run `cell` on this worker, from its newest checkpoint; the CellResult goes back to the driver."""
    from distributed import get_client, get_worker

    from genbench.run.runner import run_cell

    worker = get_worker()
    if threads is not None:
        torch.set_num_threads(threads)
    state_var, events = channels.cell(cell.cell_id), channels.events()
    try:
        record = dict(state_var.get(timeout=STATE_WAIT_S))
    except TimeoutError:  # the driver deleted it: the cell is over (stopped, or the run ended)
        return CellResult(cell.cell_id, "failed", error="cancelled: the driver no longer waits for this cell")
    refusal = not_again(cell.cell_id, record, get_client(), max_attempts)
    if refusal is not None:
        return refusal
    lock = threading.Lock()

    def save(**changes) -> None:  # the cell's Variable, as this attempt knows it
        with lock:
            record.update(changes)
            state_var.set(dict(record))

    attempts = [*record["attempts"], worker.address]
    save(attempts=attempts, processes=[*record["processes"], [worker.nanny, os.getpid()]])
    events.put(("started", cell.cell_id, worker.address, len(attempts)))

    folder = Path(tempfile.mkdtemp(prefix="genbench-checkpoints-", dir=worker.local_directory))
    checkpoints = None
    if retention is not None:
        def ship(step: int, path: Path) -> None:
            data = path.read_bytes()
            save(step=step, data=data)
            events.put(("checkpoint", cell.cell_id, step, data))

        checkpoints = ShippedCheckpoints(folder, "last", ship)
        if record["data"] is not None:
            checkpoints.write(cell.cell_id, record["step"], record["data"])

    stopped: list[str] = []

    def stop(cause: str, tell_driver: bool) -> None:
        stopped.append(cause)
        if tell_driver:
            save(stopped=cause)
            events.put(("stopped", cell.cell_id, cause))

    done, cancel = threading.Event(), channels.cancel()
    threading.Thread(target=watch, args=(limits, cancel.is_set, stop, done), daemon=True,
                     name=f"genbench-watchdog-{cell.cell_id}").start()
    last_event = 0.0

    def on_event(event: ProgressEvent) -> None:
        nonlocal last_event
        now = time.monotonic()
        if now - last_event > EVENT_EVERY_S or event.step == event.total:  # one round trip per event: few
            last_event = now
            events.put(("event", event.cell_id, event.step, event.total))
        if stopped:
            raise CellStopped(stopped[0])

    try:
        result = run_cell(cell, worker_registry(), on_event, checkpoints)
    finally:
        done.set()
        shutil.rmtree(folder, ignore_errors=True)
    if stopped and result.status == "failed":
        result.error = f"{stopped[0]}\n{result.error}"
    result.env["dask"] = {"worker": worker.address, "attempts": attempts}
    return result


def not_again(cell_id: str, record: dict, client, max_attempts: int) -> CellResult | None:
    """The failed result of an attempt that must not run, from the cell's Variable: its watchdog
    stopped it (and killed its worker), its last worker died of what it would die of again (a
    crash signal, memory), or it began on max_attempts workers already; None when it may run."""
    lost = record["attempts"]
    env = {"dask": {"attempts": lost}}
    if record["stopped"]:
        return CellResult(cell_id, "failed", error=record["stopped"], env=env)
    death = death_of(client, *record["processes"][-1]) if lost else None
    if death is not None and not death.again:
        return CellResult(cell_id, "failed", error=f"{death.error}\n{history(lost)}", env=env)
    if len(lost) >= max_attempts:
        return CellResult(cell_id, "failed", error=worker_lost(lost, death), env=env)
    return None


def watch(limits: CellLimits, cancelled: Callable[[], bool], stop: Callable[[str, bool], None],
          done: threading.Event) -> None:
    """A running cell's watchdog, a thread of its worker that does not depend on the cell's
    progress reports: until `done`, it checks the cell's time and this worker process's memory
    against `limits`, and whether the run was `cancelled`. Past the time limit, or cancelled, it
    stops the cell (`stop`: at the cell's next progress report) and kills this worker process if
    the cell has not ended STOP_GRACE_S later; over the memory limit it kills it at once (a
    thread cannot be stopped from outside, and the memory is the process's)."""
    started, this = time.monotonic(), psutil.Process()
    last_check = started
    while not done.wait(WATCH_EVERY_S):
        now = time.monotonic()
        if now - started > limits.timeout_s:
            stop(timeout_error(limits, "it was stopped"), True)
            break
        held = resident_memory([this, *descendants(this)])
        if held > limits.max_memory_bytes:
            stop(memory_error(held, limits, "its Dask worker was killed"), True)
            kill_this_worker()
            return
        if now - last_check > CHECK_EVERY_S:
            last_check = now
            if cancelled():
                stop("cancelled: the run was interrupted", False)
                break
    if not done.is_set() and not done.wait(STOP_GRACE_S):  # it hangs, or does not look at its progress
        kill_this_worker()


def descendants(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


def kill_this_worker() -> None:
    """SIGKILL this worker process (its nanny, if it has one, starts a new one)."""
    os.kill(os.getpid(), signal.SIGKILL)


def history(attempts: list[str]) -> str:
    return "history: " + ("; ".join(f"attempt {i} on {address}" for i, address in enumerate(attempts, 1))
                          or "none")


def worker_lost(attempts: list[str], death=None) -> str:
    """The error of a cell whose workers were lost: the cause first (and how the last one
    ended, if its nanny said), then where it ran."""
    last = f"\nthe last: {death.error}" if death is not None else ""
    return (f"worker lost: the Dask worker running this cell was lost {len(attempts)} times (killed, "
            f"preempted or cut off), so it was not retried again{last}\n{history(attempts)}")
