"""Progress of a suite run: live bars on a terminal, a line per finished cell elsewhere.

On a terminal, one rich bar for the suite and one per cell in flight, driven by the
executor-neutral ProgressEvents the executor delivers on the driver's thread. Piped or written to
a file (where a live bar would appear only once, at the end), one line per cell as it finishes,
in order of finishing: its count, status, wall time, the suite's estimated time left and its path.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from genbench.run.executors import ProgressEvent

STATUS_STYLE = {"done": "green", "diverged": "yellow", "failed": "bold red"}


def format_seconds(seconds: float) -> str:
    """A duration in at most 7 characters: 4.2s, 59.0s, 3m05s, 2h07m."""
    if seconds < 59.95:
        return f"{seconds:.1f}s"
    minutes = round(seconds) // 60
    if minutes < 60:
        return f"{minutes}m{round(seconds) % 60:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def estimate_left(elapsed: float, finished: int, left: int) -> float | None:
    """Seconds until the `left` cells finish, at the rate the `finished` ones took (cells running
    side by side included); None before the first finishes."""
    if finished == 0:
        return None
    return elapsed / finished * left


class SuiteProgress:
    """The suite's progress. Use as a context manager; `skipped`, `update` and `cell_finished`
    drive it."""

    def __init__(self, console: Console, total_cells: int, labels: dict[str, str]):
        self.console, self.total, self.labels = console, total_cells, labels  # labels: cell_id -> path
        self.live = console.is_terminal
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=False, disable=not self.live)
        self.suite_task = self.progress.add_task("suite", total=total_cells)
        self.cell_tasks: dict[str, int] = {}
        self.counted = 0  # cells finished, those already in the store included
        self.finished_here = 0  # cells this run finished
        self.started = time.perf_counter()

    def __enter__(self):
        self.progress.__enter__()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def skipped(self, cells: int) -> None:
        """`cells` already in the store: counted as finished, not timed."""
        self.counted += cells
        self.progress.advance(self.suite_task, cells)

    def update(self, event: ProgressEvent) -> None:
        if not self.live:
            return
        if event.cell_id not in self.cell_tasks:
            label = self.labels.get(event.cell_id, event.cell_id)
            self.cell_tasks[event.cell_id] = self.progress.add_task(f"  {label}", total=event.total)
        self.progress.update(self.cell_tasks[event.cell_id], completed=event.step)

    def cell_finished(self, cell_id: str, status: str, wall_time_s: float) -> None:
        self.counted += 1
        self.finished_here += 1
        task = self.cell_tasks.pop(cell_id, None)
        if task is not None:
            self.progress.remove_task(task)
        self.progress.advance(self.suite_task)
        if not self.live:
            self.console.print(self.line(cell_id, status, wall_time_s), highlight=False, soft_wrap=True)

    def line(self, cell_id: str, status: str, wall_time_s: float) -> str:
        """`  3/12 done       4.2s  ETA   42.0s  ring8/mlp/.../seed0` (markup)."""
        width = len(str(self.total))
        left = self.total - self.counted
        eta = estimate_left(time.perf_counter() - self.started, self.finished_here, left)
        eta_text = "" if left == 0 or eta is None else f"ETA {format_seconds(eta):>7}"
        style = STATUS_STYLE.get(status, "")
        status_text = f"[{style}]{status:<8}[/]" if style else f"{escape(status):<8}"
        return (f"{self.counted:>{width}}/{self.total} {status_text} {format_seconds(wall_time_s):>7}  "
                f"{eta_text:<11}  {escape(self.labels.get(cell_id, cell_id))}")
