"""How cells are run: the executor protocol the driver uses, and the progress events it consumes.

An executor is registered through `register_executors` (an ExecutorSpec whose factory takes
ExecutorOptions, what every executor gets from the driver, and the executor's own options as
keyword arguments: its parameters, set by a suite's [executor] table or `--executor-opt`, see
genbench.suite.executor_options) and returns a CellExecutor: it may run cells in this process,
in worker processes, or on a cluster. Workers get everything through the Cell and return
everything in the CellResult, so no executor needs a shared file system; progress comes back as
ProgressEvents, which the executor hands to `options.on_event` on the driver's thread (inline,
or from `poll()`).

An executor that isolates cells also enforces `options.limits` (genbench.suite.limits): a cell past
its time or memory limit, or whose worker died, comes back as a `failed` CellResult whose error
starts with the cause (`timeout:`, `memory:`, `worker died:`, written by the functions below, so
every executor says it alike); it never fails other cells.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from genbench.run.checkpoints import Checkpoints
from genbench.suite.limits import CellLimits, format_bytes, format_duration
from genbench.api.registry import Registry


@dataclass(frozen=True)
class ProgressEvent:
    """A cell reached `step` of `total` training steps."""

    cell_id: str
    step: int
    total: int


@dataclass(frozen=True)
class ExecutorOptions:
    registry: Registry  # the driver's registry (in-process executors use it; workers load their own)
    workers: int  # cells in flight at once
    threads: int | None  # torch intra-op threads per worker; None = the executor's choice
    on_event: Callable[[ProgressEvent], None]  # called on the driver's thread
    limits: CellLimits | None = None  # per-cell time and memory limits; None = genbench.suite.limits defaults
    checkpoints: Checkpoints | None = None  # the driver's; pass to run_cell where workers reach it, else ship bytes


class CellExecutor(Protocol):
    """What the driver needs: a number of slots, submission, event delivery, shutdown."""

    slots: int  # cells the driver keeps in flight

    def submit(self, cell) -> Future:
        """Start running `cell`; the future's result is its CellResult."""

    def poll(self) -> None:
        """Deliver the progress events that arrived since the last call to options.on_event."""

    def shutdown(self, cancel: bool = False) -> None:
        """Release workers; with cancel, stop now: drop cells not started yet and end running ones
        (a process executor kills its workers) without waiting for them."""


def timeout_error(limits: CellLimits, ending: str = "its worker was killed") -> str:
    """The error of a cell that ran past its time limit; `ending` says what was done about it."""
    return (f"timeout: the cell ran longer than its limit of {format_duration(limits.timeout_s)} (set by "
            f"--timeout or the suite's [train] timeout); {ending}")


def memory_error(held: int, limits: CellLimits, ending: str = "its worker was killed") -> str:
    """The error of a cell whose worker held `held` bytes, over its memory limit."""
    return (f"memory: the cell's worker held {format_bytes(held)}, over its limit of "
            f"{format_bytes(limits.max_memory_bytes)} (set by --max-memory or the suite's [train] max_memory); "
            f"{ending}")


def death_error(how: str) -> str:
    """The error of a cell whose worker process ended while running it: `how` it ended, e.g.
    'killed by SIGSEGV'."""
    return (f"worker died: the worker process running this cell was {how} (a crash, the out-of-memory "
            f"killer, or a kill)")
