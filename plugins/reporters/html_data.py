"""What the HTML report shows, read from the results model alone: per suite and dataset, each
group's mean and 95% bootstrap confidence interval over seeds for every metric, with its
outcomes (cells run, finite, NaN, failed or diverged), curves against the step, sample pictures,
throughput per kernel backend, provenance and failures.

A cell's value for a metric is its final one (genbench.results.model), and what a failed,
diverged or NaN value counts as is genbench.results.statistics.outcome's rule, as in `show` and
`comparison` reporter. The interval is statistics.bootstrap_interval of the finite values (a fixed
resampling seed: the same store gives the same report); one value has no interval. The best
group of a metric is marked only where no cell of it failed or gave NaN and its interval
separates from every other group's. Metric directions, labels and units come from the model
(the `outputs` each score was stored with); training statistics carry their label, unit and
panel in their provenance (FamilySpec.statistics), so nothing here names a family.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from genbench.api.result import error_headline
from genbench.plugins.reporters.html_config import ConfigTable, config_table, raw_json, readable, what_ran
from genbench.results.model import Cell, Results, Value
from genbench.results.statistics import Outcomes, bootstrap_interval, outcome
from genbench.results.summary import THROUGHPUT
from genbench.run import code_version

GROUP_AXIS = "dataset"  # one table per dataset; the other axes label its groups
KERNEL_AXIS = "kernel"  # throughput is shown per kernel backend
IGNORED_PROVENANCE = ("seed", "step", "outputs", "metric", "source", "label", "unit", "column",
                      "panel", "checkpoint")


@dataclass
class Column:
    """A metric or training statistic of a table: how it is shown."""

    name: str
    label: str
    unit: str = ""
    higher_is_better: bool | None = None  # None: no direction (training statistics)
    train: bool = False
    panel: str = ""
    default: bool = True  # in the summary table (training statistics: the family's default columns)

    @property
    def arrow(self) -> str:
        return {True: "↑", False: "↓", None: ""}[self.higher_is_better]


@dataclass
class Stat:
    """One table entry: a group's values of one column over its seeds, and their outcomes."""

    values: list[float]  # the finite values, one per seed that has one
    outcomes: Outcomes
    mean: float = math.nan
    interval: tuple[float, float] | None = None
    best: bool = False

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def note(self) -> str:
        """'n=3', or 'n=2 of 3: 1 NaN' where cells ran without a finite value."""
        o = self.outcomes
        if self.n >= o.run:
            return f"n={self.n}"
        kinds = [f"{k} {what}" for k, what in ((o.nan, "NaN"), (o.failed, "failed or diverged"),
                                                (o.missing, "not recorded")) if k]
        return f"n={self.n} of {o.run}: " + ", ".join(kinds)

    @property
    def shown(self) -> bool:
        """Whether some cell of the group ran and did not just leave the column unrecorded."""
        return self.outcomes.missing < self.outcomes.run


@dataclass
class Group:
    """Cells of one dataset that share every other axis label, over seeds."""

    label: str  # the other axes' labels joined by " / "
    cells: list[Cell] = field(default_factory=list)
    stats: dict[str, Stat] = field(default_factory=dict)
    # name -> seed -> [(step, value)], every recorded step of its done and diverged cells
    curves: dict[str, dict[int, list[tuple[int, float]]]] = field(default_factory=dict)
    pictures: dict[int, dict[int, str]] = field(default_factory=dict)  # seed -> step -> artifact path

    @property
    def run(self) -> int:
        return sum(c.ended for c in self.cells)


@dataclass
class DatasetBlock:
    name: str
    axes: list[str]  # the axes labelling its groups
    fixed: dict[str, str]  # axis -> the one label all its cells share
    columns: list[Column]  # every metric, then every training statistic (all curves)
    groups: list[Group]
    config: ConfigTable  # what its groups ran with

    @property
    def table_columns(self) -> list[Column]:
        return [c for c in self.columns if c.default]


@dataclass
class SuiteData:
    name: str
    description: str  # the stored suite record's: the description of the file that ran
    ran: str  # what ran: cells, seeds, steps, batch size, the --set overrides
    datasets: list[DatasetBlock]
    throughput: list[dict]  # one row per group: kernel, samples/s, memory, warm-up
    provenance: list[dict]  # one per metric: its (what, readable values) rows and raw JSON
    environment: list[tuple[str, str]]  # (what, distinct values over the cells)
    failures: list[dict]  # failed and diverged cells with their error


def collect(results: Results, suite: str) -> SuiteData:
    """Everything the report shows of one suite (`results`: that suite's)."""
    by_dataset = results.groups(lambda cell: cell.axes.get(GROUP_AXIS, "-"))
    blocks = [dataset_block(results, name, members) for name, members in by_dataset.items()]
    ran = what_ran(results.cells, results.settings.get(suite))
    return SuiteData(suite, results.suites.get(suite, ""), ran, blocks, throughput_rows(results.cells),
                     provenance_rows(results.values), environment_rows(results.cells), failure_rows(results.cells))


def dataset_block(results: Results, dataset: str, cells: list[Cell]) -> DatasetBlock:
    named = [a for a in results.axis_names() if a != GROUP_AXIS and any(a in c.axes for c in cells)]
    labels = {a: sorted({c.axes.get(a, "-") for c in cells}) for a in named}
    axes = [a for a in named if len(labels[a]) > 1]  # the axes that tell its groups apart
    fixed = {a: labels[a][0] for a in named if len(labels[a]) == 1}
    groups: dict[str, Group] = {}
    columns: dict[str, Column] = {}
    for cell in cells:
        label = " / ".join(cell.axes.get(a, "-") for a in axes) or dataset
        group = groups.setdefault(label, Group(label))
        group.cells.append(cell)
        if cell.status not in ("done", "diverged"):
            continue
        for value in results.by_cell.get(cell.cell_id, ()):
            if value.source == "run":
                continue
            if value.name not in columns:
                columns[value.name] = column_of(value)
            group.curves.setdefault(value.name, {}).setdefault(cell.seed, []).append((value.step, value.value))
    for group in groups.values():
        for name in columns:
            finals = [(c, results.final.get((c.cell_id, name))) for c in group.cells]
            kinds = [outcome(c.status, None if v is None else v.value) for c, v in finals]
            finite = [v.value for (_, v), kind in zip(finals, kinds, strict=True) if kind == "finite"]
            group.stats[name] = summarize_values(finite, Outcomes.count(kinds))
        add_pictures(group)
    ordered = [c for c in columns.values() if not c.train] + [c for c in columns.values() if c.train]
    table = config_table({label: group.cells for label, group in groups.items()})
    block = DatasetBlock(dataset, axes, fixed, ordered, list(groups.values()), table)
    for column in ordered:
        mark_best(block, column)
    return block


def column_of(value: Value) -> Column:
    if value.source == "train":
        provenance = value.provenance
        return Column(value.name, value.label, value.unit, None, True, provenance.get("panel", ""),
                      bool(provenance.get("column")))
    return Column(value.name, value.label, value.unit, value.higher_is_better)


def summarize_values(values: list[float], outcomes: Outcomes) -> Stat:
    stat = Stat(values, outcomes)
    if values:
        stat.mean = float(np.mean(values))
        stat.interval = bootstrap_interval(values)
    return stat


def mark_best(block: DatasetBlock, column: Column) -> None:
    """Mark the group with the best mean when no cell of it failed or gave NaN and its interval
    separates from every other scored group's (none marked where a scored group has no
    interval, or the intervals overlap)."""
    stats_ = [g.stats[column.name] for g in block.groups if g.stats[column.name].n > 0]
    if column.higher_is_better is None or len(stats_) < 2 or any(s.interval is None for s in stats_):
        return
    sign = 1 if column.higher_is_better else -1
    best = max(stats_, key=lambda s: sign * s.mean)
    if best.outcomes.nan or best.outcomes.failed:  # a collapsed seed counts only against its group
        return
    others = [s for s in stats_ if s is not best]
    if column.higher_is_better:
        best.best = all(best.interval[0] > s.interval[1] for s in others)
    else:
        best.best = all(best.interval[1] < s.interval[0] for s in others)


def add_pictures(group: Group) -> None:
    """The sample pictures of every seed of the group, at every eval step."""
    for cell in sorted(group.cells, key=lambda c: c.seed):
        pictures = {a.step: a.path for a in cell.artifacts if a.kind == "samples"}
        if pictures:
            group.pictures[cell.seed] = pictures


def throughput_rows(cells: list[Cell]) -> list[dict]:
    """Per group (kernel backend first): mean throughput, memory and warm-up (compile) time of
    its finished cells, and how many were measured on an overloaded machine."""
    groups: dict[tuple, list[Cell]] = defaultdict(list)
    for cell in cells:
        if cell.status in ("done", "diverged"):
            others = (label for axis, label in cell.axes.items() if axis != KERNEL_AXIS)
            groups[(cell.axes.get(KERNEL_AXIS, "-"), *others)].append(cell)
    rows = []
    for key, members in sorted(groups.items()):
        row = {"kernel": key[0], "group": " / ".join(key[1:]), "n": len(members)}
        for name in (*THROUGHPUT, "peak_rss_mb", "peak_cuda_mb", "train_time_s"):
            values = [c.measures[name] for c in members if c.measures[name] is not None]
            row[name] = float(np.mean(values)) if values else None
        row["overloaded"] = sum(c.overload is not None for c in members)
        rows.append(row)
    return rows


def provenance_rows(values: list[Value]) -> list[dict]:
    """Per metric: each provenance entry (extractor, its held-out accuracy, n_real, n_fake,
    split, ...) with the distinct readable values its scores were stored with (empty ones left
    out), and the raw provenance of its first score."""
    seen: dict[str, dict[str, dict[str, None]]] = {}
    raw: dict[str, dict] = {}
    for value in values:
        provenance = value.provenance
        if value.source != "eval" or "metric" not in provenance:
            continue
        name = provenance["metric"]
        entries = seen.setdefault(name, {})
        raw.setdefault(name, provenance)
        for key, entry in sorted(provenance.items()):
            text = short(readable(entry))
            if key not in IGNORED_PROVENANCE and text:
                entries.setdefault(key, {}).setdefault(text)
    return [{"metric": name, "entries": [(k, sorted(v)) for k, v in entries.items()], "raw": raw_json(raw[name])}
            for name, entries in sorted(seen.items())]


def environment_rows(cells: list[Cell]) -> list[tuple[str, str]]:
    """The distinct versions, machines, devices, CPU policies and loads the cells ran with."""
    seen: dict[str, set[str]] = defaultdict(set)
    loads = []
    for cell in cells:
        for key, value in cell.env.items():
            if key in ("load_start", "load_end"):
                loads.append(value)
            elif key not in ("kernel_ops", "checkpoints") and readable(value):
                seen[key].add(short(readable(value)))
    for name, text in code_version.summarize(cell.code for cell in cells if cell.code):
        seen[f"code: {name}"].add(text)  # per-cell module hashes summarised, as `show` does
    rows = [(key, ", ".join(sorted(values))) for key, values in sorted(seen.items())]
    if loads:
        rows.append(("load average (1 min)", f"{min(loads):.2f} to {max(loads):.2f}"))
    return rows


def failure_rows(cells: list[Cell]) -> list[dict]:
    rows = []
    for cell in cells:
        if cell.status in ("failed", "diverged"):
            error = cell.error or ""
            rows.append({"path": cell.path, "status": cell.status, "step": cell.diverged_step,
                         "headline": error_headline(error), "error": error})
    return rows


def short(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."
