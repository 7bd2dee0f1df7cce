"""Rich progress bars for a suite run: one bar for the suite, one per cell in flight.

Driven by the executor-neutral ProgressEvents the executor delivers on the driver's thread.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from genbench.run.executors import ProgressEvent


class SuiteProgress:
    """The bars. Use as a context manager; `update` and `cell_finished` drive it."""

    def __init__(self, console: Console, total_cells: int, labels: dict[str, str]):
        self.labels = labels  # cell_id -> readable path
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=False)
        self.suite_task = self.progress.add_task("suite", total=total_cells)
        self.cell_tasks: dict[str, int] = {}

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def update(self, event: ProgressEvent) -> None:
        if event.cell_id not in self.cell_tasks:
            label = self.labels.get(event.cell_id, event.cell_id)
            self.cell_tasks[event.cell_id] = self.progress.add_task(f"  {label}", total=event.total)
        self.progress.update(self.cell_tasks[event.cell_id], completed=event.step)

    def cell_finished(self, cell_id: str) -> None:
        task = self.cell_tasks.pop(cell_id, None)
        if task is not None:
            self.progress.remove_task(task)
        self.progress.advance(self.suite_task)
