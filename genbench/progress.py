"""Rich progress bars for a suite run: one bar for the suite, one per cell in flight.

Worker processes cannot touch the terminal, so they report (cell_id, step, total) through a
queue that the driver drains; in-process runs call the same `update` directly.
"""

from __future__ import annotations

import queue as queue_module

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class QueueProgress:
    """A picklable progress callback for worker processes: sends about 100 updates per cell."""

    def __init__(self, queue):
        self.queue = queue

    def __call__(self, cell_id: str, step: int, total: int) -> None:
        if step == total or step % max(1, total // 100) == 0:
            self.queue.put((cell_id, step, total))


class SuiteProgress:
    """The bars. Use as a context manager; `update` and `cell_finished` drive it."""

    def __init__(self, console: Console, total_cells: int, labels: dict[str, str]):
        self.labels = labels  # cell_id -> readable path
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=False)
        self.suite_task = self.progress.add_task("suite", total=total_cells)
        self.cell_tasks: dict[str, int] = {}
        self.queue = None

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def update(self, cell_id: str, step: int, total: int) -> None:
        if cell_id not in self.cell_tasks:
            self.cell_tasks[cell_id] = self.progress.add_task(f"  {self.labels.get(cell_id, cell_id)}",
                                                              total=total)
        self.progress.update(self.cell_tasks[cell_id], completed=step)

    def drain(self) -> None:
        """Apply the updates worker processes have queued."""
        if self.queue is None:
            return
        while True:
            try:
                self.update(*self.queue.get_nowait())
            except queue_module.Empty:
                return

    def cell_finished(self, cell_id: str) -> None:
        self.drain()
        task = self.cell_tasks.pop(cell_id, None)
        if task is not None:
            self.progress.remove_task(task)
        self.progress.advance(self.suite_task)
