"""Results -> summaries: per group (one label per axis), each number as mean ± std over seeds.

Reporters (registered through `register_reporters`) render from these, reading the store alone.
A cell's value for a metric is the one at its last recorded step (for a diverged cell, the last
eval before it diverged). Training statistics carry their display label and whether they are a
default column in their provenance (from the family's FamilySpec.statistics), so no family's
statistics are named here. Throughput comes from the cells table, training loop time only;
a cell that ran starved of CPU (genbench.run.cpu_policy.overload) is flagged beside it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console

from genbench.api.axes import AXIS_NAMES
from genbench.run.code_version import describe
from genbench.run.cpu_policy import overload
from genbench.results.store import Store

THROUGHPUT = ("samples_per_s", "steps_per_s", "warmup_time_s")
OVERLOADED = "!"  # marks a throughput value with a cell measured on an overloaded machine


@dataclass(frozen=True)
class ReportView:
    """What a reporter renders: the store (one suite of it, or all), for a terminal this wide."""

    store: Store
    suite: str | None = None
    width: int = 120

    @property
    def title(self) -> str:
        return self.suite or ", ".join(self.store.suites())


@dataclass
class GroupSummary:
    """One row of a report: a group of cells (one label per axis) over its seeds."""

    axes: dict[str, str]  # axis name -> label
    statuses: Counter = field(default_factory=Counter)
    values: dict[str, list[float]] = field(default_factory=dict)  # name -> one value per cell
    train_stats: dict[str, dict] = field(default_factory=dict)  # name -> label, unit, column
    overloaded: list[str] = field(default_factory=list)  # "seedN: why" of cells starved of CPU

    @property
    def group(self) -> tuple[str, ...]:
        return tuple(self.axes.values())

    def add(self, name: str, value: float) -> None:
        self.values.setdefault(name, []).append(value)

    def stats(self, name: str) -> tuple[float, float, int]:
        """(mean, sample std, n) over the finite values; NaN mean when there are none."""
        finite = [v for v in self.values.get(name, []) if math.isfinite(v)]
        if not finite:
            return math.nan, math.nan, 0
        std = statistics.stdev(finite) if len(finite) > 1 else 0.0
        return statistics.fmean(finite), std, len(finite)


def summarize(store: Store, suite: str | None = None) -> list[GroupSummary]:
    groups: dict[tuple, GroupSummary] = {}
    for cell in store.cells(suite):
        summary = groups.setdefault(cell.group, GroupSummary(dict(cell.axes)))
        summary.statuses[cell.status] += 1
        if cell.status not in ("done", "diverged"):
            continue
        last: dict[str, float] = {}
        for row in store.metrics(cell.cell_id):
            last[row["name"]] = row["value"]  # rows come ordered by step
            if row["provenance"].get("source") == "train":
                summary.train_stats[row["name"]] = row["provenance"]
        for name, value in last.items():
            summary.add(name, value)
        for name in THROUGHPUT:
            if cell.row[name] is not None:
                summary.add(name, cell.row[name])
        starved = overload(cell.row, json.loads(cell.row["env"] or "{}"))
        if starved is not None:
            summary.overloaded.append(f"seed{cell.seed}: {starved}")
    return list(groups.values())


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


def format_stat(mean: float, std: float, n: int, group_n: int) -> str:
    if n == 0:
        return "-"
    text = f"{_fmt(mean)}±{_fmt(std)}" if n > 1 else _fmt(mean)
    return text if n == group_n else f"{text} [n={n}]"


def _fmt(x: float) -> str:
    if x == 0 or 1e-3 <= abs(x) < 1e5:
        return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"
    return f"{x:.2e}"


def render_text(renderables, width: int) -> str:
    """Rich renderables as plain text `width` columns wide."""
    console = Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)
    for renderable in renderables:
        console.print(renderable, highlight=False, soft_wrap=isinstance(renderable, str))
    return console.file.getvalue()


def summary_records(summaries: list[GroupSummary]) -> list[dict]:
    """One record per group and metric: the long format CSV and JSON exports use."""
    axes = axis_names(summaries)
    records = []
    for summary in summaries:
        for name in summary.values:
            mean, std, n = summary.stats(name)
            records.append({**{a: summary.axes.get(a) for a in axes}, "metric": name, "mean": mean,
                            "std": std, "n": n, "cells": sum(summary.statuses.values()),
                            "overloaded": len(summary.overloaded) if name in THROUGHPUT else 0})
    return records


def raw_records(store: Store, suite: str | None = None) -> list[dict]:
    """Every stored metric row of every cell, with its provenance and the code versions the
    cell ran (JSON; null for a cell stored before they were recorded), for --raw exports."""
    records = []
    for cell in store.cells(suite):
        for row in store.metrics(cell.cell_id):
            records.append({"cell_id": cell.cell_id, **cell.axes, "seed": cell.seed,
                            "status": cell.status, "step": row["step"], "metric": row["name"],
                            "value": row["value"], "provenance": json.dumps(row["provenance"]),
                            "code": cell.row.get("code")})
    return records


def to_json(records: list[dict]) -> str:
    return json.dumps([{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                       for r in records], indent=2) + "\n"


def to_csv(records: list[dict]) -> str:
    buffer = io.StringIO()
    if records:
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return buffer.getvalue()


def kernel_op_lines(store: Store, suite: str | None = None) -> list[str]:
    """'<kernel label>: <backend> ran op, op; reference ran op' for each kernel backend label:
    which ops ran where (an op a backend lacks falls back to the reference)."""
    ran: dict[str, dict[str, set[str]]] = {}
    for cell in store.cells(suite):
        ops = json.loads(cell.row["env"] or "{}").get("kernel_ops", {})
        where = ran.setdefault(cell.axes.get("kernel", "-"), {})
        for op, backend in ops.items():
            where.setdefault(backend, set()).add(op)
    return [f"{label}: " + "; ".join(f"{backend} ran {', '.join(sorted(ops))}"
                                     for backend, ops in sorted(where.items()))
            for label, where in sorted(ran.items()) if where]


def overload_lines(summaries: list[GroupSummary]) -> list[str]:
    """'<axis labels>/seedN: why' of each cell whose throughput was measured starved of CPU."""
    return [f"{'/'.join(s.group)}/{line}" for s in summaries for line in s.overloaded]


def code_lines(store: Store, suite: str | None = None) -> list[str]:
    """'<distribution>: <version> (n cells), ...' of the finished cells' recorded code versions,
    so mixed code in one table shows; then how many recorded none."""
    seen: dict[str, Counter] = {}
    unrecorded = 0
    for cell in store.cells(suite):
        if cell.status not in ("done", "diverged"):
            continue
        if cell.row.get("code") is None:
            unrecorded += 1
            continue
        for name, entry in json.loads(cell.row["code"]).items():
            seen.setdefault(name, Counter())[describe(entry)] += 1
    lines = [f"{name}: " + ", ".join(f"{version} ({n} cells)" for version, n in sorted(versions.items()))
             for name, versions in sorted(seen.items())]
    if unrecorded:
        lines.append(f"not recorded: {unrecorded} cells (stored by an older genbench)")
    return lines


def picture_lines(store: Store, suite: str | None = None) -> list[str]:
    """'<axis labels>/seedN step S: path' of each cell's latest sample picture."""
    lines = []
    for cell in store.cells(suite):
        pictures = [a for a in store.artifacts(cell.cell_id) if a["kind"] == "samples"]
        if pictures:
            latest = pictures[-1]
            lines.append(f"{'/'.join(cell.group)}/seed{cell.seed} step {latest['step']}: "
                         f"{store.directory / latest['path']}")
    return lines
