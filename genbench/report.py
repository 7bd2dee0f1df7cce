"""Results -> tables: per dataset/model/objective/kernel, each number as mean ± std over seeds.

A cell's value for a metric is the one at its last recorded step (for a diverged cell, the last
eval before it diverged). Throughput comes from the cells table, training loop time only.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field

from rich.table import Table

from .store import Store

THROUGHPUT = ("samples_per_s", "steps_per_s")
# training statistics worth a terminal column (the rest show with --all): the GAN diagnostics
# and an autoencoder's loss
TERMINAL_TRAIN_COLUMNS = ("g_grad_norm", "d_real", "d_fake", "critic_real", "critic_fake", "loss")


@dataclass
class GroupSummary:
    """One row of the report: a dataset/model/objective/kernel over its seeds."""

    group: tuple[str, str, str, str]
    statuses: Counter = field(default_factory=Counter)
    values: dict[str, list[float]] = field(default_factory=dict)  # name -> one value per cell
    train_stats: set[str] = field(default_factory=set)  # names the trainer recorded

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
        summary = groups.setdefault(cell.group, GroupSummary(cell.group))
        summary.statuses[cell.status] += 1
        if cell.status not in ("done", "diverged"):
            continue
        last: dict[str, tuple[int, float]] = {}
        for row in store.metrics(cell.cell_id):
            last[row["name"]] = (row["step"], row["value"])  # rows come ordered by step
            if row["provenance"].get("source") == "train":
                summary.train_stats.add(row["name"])
        for name, (_, value) in last.items():
            summary.add(name, value)
        for name in THROUGHPUT:
            if cell.row[name] is not None:
                summary.add(name, cell.row[name])
    return list(groups.values())


def column_names(summaries: list[GroupSummary], all_columns: bool) -> list[str]:
    """Eval metrics (in order of appearance), then training statistics, then throughput."""
    train = set().union(*(s.train_stats for s in summaries)) if summaries else set()
    evals: list[str] = []
    stats: list[str] = []
    for summary in summaries:
        for name in summary.values:
            if name in THROUGHPUT or name in evals or name in stats:
                continue
            if name not in train:
                evals.append(name)
            elif all_columns or name in TERMINAL_TRAIN_COLUMNS:
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


def terminal_tables(summaries: list[GroupSummary], title: str, width: int,
                    all_columns: bool = False) -> list[Table]:
    """The summary as tables that fit `width` columns: metrics split across tables as needed,
    each table repeating the cell column (dataset / model / objective / kernel)."""
    columns = column_names(summaries, all_columns)
    rows = []
    for summary in summaries:
        n = summary.statuses["done"] + summary.statuses["diverged"]
        status = ", ".join(f"{count} {status}" for status, count in sorted(summary.statuses.items()))
        rows.append((" / ".join(summary.group), str(n), status,
                     {name: format_stat(*summary.stats(name), n) for name in columns}))
    label_width = min(max([len(r[0]) for r in rows] + [4]), max(24, width // 3))
    chunks, current, used = [], [], label_width + 16
    for name in columns:
        cell_width = max([len(name)] + [len(r[3][name]) for r in rows]) + 3
        if current and used + cell_width > width:
            chunks.append(current)
            current, used = [], label_width + 16
        current.append(name)
        used += cell_width
    chunks.append(current)
    tables = []
    for index, chunk in enumerate(chunks):
        part = f" ({index + 1}/{len(chunks)})" if len(chunks) > 1 else ""
        table = Table(title=f"{title}{part}: mean±std over seeds, n = finished cells", title_justify="left")
        table.add_column("dataset / model / objective / kernel", overflow="fold", max_width=label_width)
        table.add_column("n", justify="right")
        for name in chunk:
            table.add_column(name, justify="right", no_wrap=True)
        if index == 0:
            table.add_column("status", no_wrap=True)
        for label, n, status, values in rows:
            table.add_row(label, n, *(values[name] for name in chunk), *([status] if index == 0 else []))
        tables.append(table)
    return tables


def summary_records(summaries: list[GroupSummary]) -> list[dict]:
    """One record per group and metric: the long format CSV and JSON exports use."""
    records = []
    for summary in summaries:
        dataset, model, objective, kernel = summary.group
        for name in summary.values:
            mean, std, n = summary.stats(name)
            records.append({"dataset": dataset, "model": model, "objective": objective,
                            "kernel": kernel, "metric": name, "mean": mean, "std": std, "n": n,
                            "cells": sum(summary.statuses.values())})
    return records


def export(records: list[dict], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([{k: (None if isinstance(v, float) and math.isnan(v) else v)
                            for k, v in r.items()} for r in records], indent=2) + "\n"
    buffer = io.StringIO()
    if records:
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return buffer.getvalue()


def raw_records(store: Store, suite: str | None = None) -> list[dict]:
    """Every stored metric row of every cell, with its provenance (for --raw exports)."""
    records = []
    for cell in store.cells(suite):
        for row in store.metrics(cell.cell_id):
            records.append({"cell_id": cell.cell_id, "dataset": cell.dataset, "model": cell.model,
                            "objective": cell.objective, "kernel": cell.kernel, "seed": cell.seed,
                            "status": cell.status, "step": row["step"], "metric": row["name"],
                            "value": row["value"], "provenance": json.dumps(row["provenance"])})
    return records


def picture_lines(store: Store, suite: str | None = None) -> list[str]:
    """'dataset/model/objective/kernel/seedN step S: path' of each cell's latest sample picture."""
    lines = []
    for cell in store.cells(suite):
        pictures = [a for a in store.artifacts(cell.cell_id) if a["kind"] == "samples"]
        if pictures:
            latest = pictures[-1]
            lines.append(f"{'/'.join(cell.group)}/seed{cell.seed} step {latest['step']}: "
                         f"{store.directory / latest['path']}")
    return lines
