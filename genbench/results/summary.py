"""Per-group summaries over seeds: what `show` and `export` print, from the results model.

A group is the cells of one label per axis; its summary holds, for every name (an eval metric, a
training statistic, a throughput measurement), each cell's final value that counts (a done
cell's; a diverged cell's throughput too) and what the others' outcomes were
(genbench.results.statistics.outcome): the mean ± std describe the finite values, `outcomes`
says how many cells ran, how many gave a finite value, and how many failed, diverged or gave
NaN. Training statistics carry their display label and whether they are a default column in
their provenance (from the family's FamilySpec.statistics), so no family is named here.
Throughput is the training loop's, after warm-up; a cell that ran starved of CPU
(genbench.run.cpu_policy.overload) is listed beside its group.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from genbench.api.axes import AXIS_NAMES
from genbench.results.model import Results
from genbench.results.statistics import Outcomes, mean_std, outcome

THROUGHPUT = ("samples_per_s", "steps_per_s", "warmup_time_s")


@dataclass
class GroupSummary:
    """One row of a summary: a group of cells (one label per axis) over its seeds."""

    axes: dict[str, str]  # axis name -> label
    statuses: Counter = field(default_factory=Counter)
    values: dict[str, list[float]] = field(default_factory=dict)  # name -> each counted cell's final value
    train_stats: dict[str, dict] = field(default_factory=dict)  # name -> label, unit, column
    overloaded: list[str] = field(default_factory=list)  # "seedN: why" of cells starved of CPU

    @property
    def group(self) -> tuple[str, ...]:
        return tuple(self.axes.values())

    @property
    def run(self) -> int:
        """The cells that ran to an end (done, diverged or failed)."""
        return self.statuses["done"] + self.statuses["diverged"] + self.statuses["failed"]

    def add(self, name: str, value: float) -> None:
        self.values.setdefault(name, []).append(value)

    def stats(self, name: str) -> tuple[float, float, int]:
        """(mean, sample std, n) over the finite values; NaN mean when there are none."""
        return mean_std(self.values.get(name, []))

    def outcomes(self, name: str) -> Outcomes:
        """How its cells ended for `name`: run, finite, NaN, failed or diverged."""
        values = self.values.get(name, [])
        failed = self.statuses["failed"] + (0 if name in THROUGHPUT else self.statuses["diverged"])
        finite = sum(map(math.isfinite, values))
        return Outcomes(self.run, finite, len(values) - finite, failed)


def summarize(results: Results) -> list[GroupSummary]:
    """One summary per group, in the order of the results' cells."""
    summaries = []
    for cells in results.groups().values():
        summary = GroupSummary(dict(cells[0].axes))
        summaries.append(summary)
        for cell in cells:
            summary.statuses[cell.status] += 1
            for name in dict.fromkeys(v.name for v in results.by_cell.get(cell.cell_id, ())):
                value = results.final[cell.cell_id, name]
                if value.source == "train":
                    summary.train_stats[name] = value.provenance
                if value.source == "run" and name not in THROUGHPUT:
                    continue
                if outcome(cell.status, value.value, value.source == "run") in ("finite", "nan"):
                    summary.add(name, value.value)
            if cell.status in ("done", "diverged") and cell.overload is not None:
                summary.overloaded.append(f"seed{cell.seed}: {cell.overload}")
    return summaries


def axis_names(summaries: list[GroupSummary]) -> list[str]:
    """The axes of these groups: genbench's own in their order, then any other a store holds."""
    seen = dict.fromkeys(name for s in summaries for name in s.axes)
    return [a for a in AXIS_NAMES if a in seen] + [a for a in seen if a not in AXIS_NAMES]


def column_names(summaries: list[GroupSummary], all_columns: bool) -> list[str]:
    """Eval metrics (in order of appearance), then training statistics (the family's default
    columns, or all), then throughput and warm-up (compile) time."""
    evals: list[str] = []
    stats: list[str] = []
    for summary in summaries:
        for name in summary.values:
            if name in THROUGHPUT or name in evals or name in stats:
                continue
            info = summary.train_stats.get(name)
            if info is None:
                evals.append(name)
            elif all_columns or info.get("column"):
                stats.append(name)
    return evals + stats + list(THROUGHPUT if all_columns else THROUGHPUT[:1])
