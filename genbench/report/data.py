"""What the HTML report shows, read from the store alone: per suite and dataset, each group's
mean and 95% bootstrap confidence interval over seeds for every metric (n per metric), curves
against the step, sample pictures, throughput per kernel backend, provenance and failures.

A cell's value for a metric is the one at its last recorded step (as in genbench.results.summary). The
interval is scipy.stats.bootstrap's percentile interval of the mean over the finite seed values
(fixed resampling seed: the same store gives the same report); one value has no interval.
Metric directions, labels and units come from the `outputs` each score was stored with
(MetricSpec.output_info); training statistics carry their label, unit and panel in their
provenance (FamilySpec.statistics), so nothing here names a family.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from genbench.run.cpu_policy import overload
from genbench.api.axes import AXIS_NAMES
from genbench.api.result import error_headline
from genbench.results.summary import THROUGHPUT
from genbench.results.store import Store, StoredCell

CONFIDENCE = 0.95
RESAMPLES = 9999
BOOTSTRAP_SEED = 0
GROUP_AXIS = "dataset"  # one table per dataset; the other axes label its groups
KERNEL_AXIS = "kernel"  # throughput is shown per kernel backend
IGNORED_PROVENANCE = ("seed", "step", "outputs", "params", "metric", "source", "label", "unit", "column",
                      "panel", "checkpoint")


def bootstrap_interval(values: list[float]) -> tuple[float, float] | None:
    """The 95% percentile bootstrap interval of the mean of `values` (finite), None for fewer
    than two values; a constant sample's interval is that constant."""
    if len(values) < 2:
        return None
    if min(values) == max(values):
        return values[0], values[0]
    result = stats.bootstrap((np.asarray(values, dtype=np.float64),), np.mean, confidence_level=CONFIDENCE,
                             n_resamples=RESAMPLES, method="percentile",
                             rng=np.random.default_rng(BOOTSTRAP_SEED))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


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
    """One table entry: a group's values of one column over its seeds."""

    values: list[float]  # the finite values, one per seed that has one
    seeds: int  # the group's finished cells (done or diverged)
    mean: float = math.nan
    interval: tuple[float, float] | None = None
    best: bool = False

    @property
    def n(self) -> int:
        return len(self.values)


@dataclass
class Group:
    """Cells of one dataset that share every other axis label, over seeds."""

    label: str  # the other axes' labels joined by " / "
    cells: list[StoredCell] = field(default_factory=list)
    stats: dict[str, Stat] = field(default_factory=dict)
    # name -> seed -> [(step, value)], every recorded step
    curves: dict[str, dict[int, list[tuple[int, float]]]] = field(default_factory=dict)
    pictures: list[tuple[int, str]] = field(default_factory=list)  # (step, artifact path) of one seed
    picture_seed: int | None = None

    @property
    def finished(self) -> list[StoredCell]:
        return [c for c in self.cells if c.status in ("done", "diverged")]


@dataclass
class DatasetBlock:
    name: str
    axes: list[str]  # the axes labelling its groups
    fixed: dict[str, str]  # axis -> the one label all its cells share
    columns: list[Column]  # every metric, then every training statistic (all curves)
    groups: list[Group]

    @property
    def table_columns(self) -> list[Column]:
        return [c for c in self.columns if c.default]


@dataclass
class SuiteData:
    name: str
    description: str
    datasets: list[DatasetBlock]
    throughput: list[dict]  # one row per group: kernel, samples/s, memory, warm-up
    provenance: list[dict]  # one row per metric: what its scores were computed with
    environment: list[tuple[str, str]]  # (what, distinct values over the cells)
    failures: list[dict]  # failed and diverged cells with their error


def suite_names(store: Store, suite: str | None) -> list[str]:
    return [suite] if suite is not None else sorted(store.suites())


def suite_description(store: Store, suite: str) -> str:
    row = store.db.execute("SELECT description FROM suites WHERE name=?", (suite,)).fetchone()
    return row[0] if row is not None else ""


def collect(store: Store, suite: str) -> SuiteData:
    """Everything the report shows of one suite."""
    cells = store.cells(suite)
    metrics = {c.cell_id: store.metrics(c.cell_id) for c in cells}
    by_dataset: dict[str, list[StoredCell]] = defaultdict(list)
    for cell in cells:
        by_dataset[cell.axes.get(GROUP_AXIS, "-")].append(cell)
    blocks = [dataset_block(store, name, members, metrics) for name, members in by_dataset.items()]
    return SuiteData(suite, suite_description(store, suite), blocks, throughput_rows(cells),
                     provenance_rows(cells, metrics), environment_rows(cells), failure_rows(cells))


def dataset_block(store: Store, dataset: str, cells: list[StoredCell], metrics: dict[str, list[dict]]) -> DatasetBlock:
    named = [a for a in axis_names_of(cells) if a != GROUP_AXIS]
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
        for row in metrics[cell.cell_id]:
            name = row["name"]
            if name not in columns:
                columns[name] = column_of(name, row["provenance"])
            group.curves.setdefault(name, {}).setdefault(cell.seed, []).append((row["step"], row["value"]))
    for group in groups.values():
        finished = group.finished
        for name in columns:
            last = [group.curves.get(name, {}).get(c.seed, [(0, math.nan)])[-1][1] for c in finished]
            group.stats[name] = summarize_values([v for v in last if math.isfinite(v)], len(finished))
        add_pictures(store, group)
    ordered = [c for c in columns.values() if not c.train] + [c for c in columns.values() if c.train]
    block = DatasetBlock(dataset, axes, fixed, ordered, list(groups.values()))
    for column in ordered:
        mark_best(block, column)
    return block


def axis_names_of(cells: list[StoredCell]) -> list[str]:
    """The axes of these cells: genbench's own in their order, then any other a store holds."""
    seen = dict.fromkeys(name for c in cells for name in c.axes)
    return [a for a in AXIS_NAMES if a in seen] + [a for a in seen if a not in AXIS_NAMES]


def column_of(name: str, provenance: dict) -> Column:
    if provenance.get("source") == "train":
        return Column(name, provenance.get("label") or name, provenance.get("unit", ""), None, True,
                      provenance.get("panel", ""), bool(provenance.get("column")))
    output = provenance.get("outputs", {}).get(name, {})
    return Column(name, output.get("label") or name, output.get("unit", ""), output.get("higher_is_better"))


def summarize_values(values: list[float], seeds: int) -> Stat:
    stat = Stat(values, seeds)
    if values:
        stat.mean = float(np.mean(values))
        stat.interval = bootstrap_interval(values)
    return stat


def mark_best(block: DatasetBlock, column: Column) -> None:
    """Mark the group with the best mean when its interval separates from every other scored
    group's (none marked where a scored group has no interval, or the intervals overlap)."""
    stats_ = [g.stats[column.name] for g in block.groups if g.stats[column.name].n > 0]
    if column.higher_is_better is None or len(stats_) < 2 or any(s.interval is None for s in stats_):
        return
    sign = 1 if column.higher_is_better else -1
    best = max(stats_, key=lambda s: sign * s.mean)
    others = [s for s in stats_ if s is not best]
    if column.higher_is_better:
        best.best = all(best.interval[0] > s.interval[1] for s in others)
    else:
        best.best = all(best.interval[1] < s.interval[0] for s in others)


def add_pictures(store: Store, group: Group) -> None:
    """The sample pictures of the group's lowest seed that has any, at every eval step."""
    for cell in sorted(group.cells, key=lambda c: c.seed):
        pictures = [(a["step"], a["path"]) for a in store.artifacts(cell.cell_id) if a["kind"] == "samples"]
        if pictures:
            group.pictures, group.picture_seed = pictures, cell.seed
            return


def throughput_rows(cells: list[StoredCell]) -> list[dict]:
    """Per group (kernel backend first): mean throughput, memory and warm-up (compile) time of
    its finished cells, and how many were measured on an overloaded machine."""
    groups: dict[tuple, list[StoredCell]] = defaultdict(list)
    for cell in cells:
        if cell.status in ("done", "diverged"):
            others = (label for axis, label in cell.axes.items() if axis != KERNEL_AXIS)
            groups[(cell.axes.get(KERNEL_AXIS, "-"), *others)].append(cell)
    rows = []
    for key, members in sorted(groups.items()):
        row = {"kernel": key[0], "group": " / ".join(key[1:]), "n": len(members)}
        for name in (*THROUGHPUT, "peak_rss_mb", "peak_cuda_mb", "train_time_s"):
            values = [c.row[name] for c in members if c.row[name] is not None]
            row[name] = float(np.mean(values)) if values else None
        row["overloaded"] = sum(overload(c.row, json.loads(c.row["env"] or "{}")) is not None for c in members)
        rows.append(row)
    return rows


def provenance_rows(cells: list[StoredCell], metrics: dict[str, list[dict]]) -> list[dict]:
    """Per metric: each provenance entry (extractor, its held-out accuracy, n_real, n_fake,
    split, ...) with the distinct values its scores were stored with."""
    seen: dict[str, dict[str, set[str]]] = {}
    for cell in cells:
        for row in metrics[cell.cell_id]:
            provenance = row["provenance"]
            if provenance.get("source") == "train" or "metric" not in provenance:
                continue
            entries = seen.setdefault(provenance["metric"], {})
            params = provenance.get("params") or {}
            if params:
                entries.setdefault("params", set()).add(", ".join(f"{k}={v}" for k, v in sorted(params.items())))
            for key, value in provenance.items():
                if key not in IGNORED_PROVENANCE:
                    entries.setdefault(key, set()).add(short(value))
    return [{"metric": name, "entries": [(k, sorted(v)) for k, v in sorted(entries.items())]}
            for name, entries in sorted(seen.items())]


def environment_rows(cells: list[StoredCell]) -> list[tuple[str, str]]:
    """The distinct versions, machines, devices, CPU policies and loads the cells ran with."""
    seen: dict[str, set[str]] = defaultdict(set)
    loads = []
    for cell in cells:
        env = json.loads(cell.row["env"] or "{}")
        for key, value in env.items():
            if key in ("load_start", "load_end"):
                loads.append(value)
            elif key not in ("kernel_ops", "checkpoints"):
                seen[key].add(short(value))
        if cell.row.get("code"):
            for name, entry in json.loads(cell.row["code"]).items():
                seen[f"code: {name}"].add(short(entry))
    rows = [(key, ", ".join(sorted(values))) for key, values in sorted(seen.items())]
    if loads:
        rows.append(("load average (1 min)", f"{min(loads):.2f} to {max(loads):.2f}"))
    return rows


def failure_rows(cells: list[StoredCell]) -> list[dict]:
    rows = []
    for cell in cells:
        if cell.status in ("failed", "diverged"):
            error = cell.row.get("error") or ""
            rows.append({"path": "/".join(cell.group) + f"/seed{cell.seed}", "status": cell.status,
                         "step": cell.row.get("diverged_step"), "headline": error_headline(error),
                         "error": error})
    return rows


def short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:197] + "..."
