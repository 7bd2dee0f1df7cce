"""The results model: what a store holds, read once into one tidy table.

`Results.from_store(store, suite=None)` reads each suite's description and latest `--set`
overrides, every cell (its axis labels, seed, status,
configuration, environment, code versions, error, artifacts) and every number as one `Value`
row: a stored score or training statistic (source "eval" or "train", at each recorded step), or
one of the cell's run measurements (source "run": throughput, times, peak memory, at the cell's
last step). Each row carries what a reader needs to judge it: its direction (higher_is_better,
None where it has none), display label and unit, the cell's status, and its provenance. Every
view of results reads this model: `genbench show` (the `table` reporter), `export` (csv, json),
`report` (html), `compare`, TensorBoard, and notebooks through `load`:

    >>> frame = genbench.results.load("results")   # a pandas DataFrame, one row per Value
    >>> frame[frame.name == "fid"].pivot_table(index="objective", columns="seed", values="value")

A cell's final value of a name is the one at its last recorded step (`Results.final`); what a
failed, diverged or NaN value counts as is genbench.results.statistics.outcome's to say.
Directions come from the `outputs` each score was stored with (MetricSpec.output_info); a store
written before those were recorded gets them from the registered metrics when a registry is given.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from genbench.api.axes import AXIS_NAMES
from genbench.results.store import Store
from genbench.run.cpu_policy import overload
from genbench.suite.search import TRIAL_AXIS

ENDED = ("done", "diverged", "failed")  # the statuses of a cell that ran to an end
# The cell's run measurements: name -> (unit, higher_is_better)
RUN_MEASURES: dict[str, tuple[str, bool]] = {
    "samples_per_s": ("1/s", True), "steps_per_s": ("1/s", True), "warmup_time_s": ("s", False),
    "train_time_s": ("s", False), "train_cpu_s": ("s", False), "eval_time_s": ("s", False),
    "wall_time_s": ("s", False), "peak_rss_mb": ("MB", False), "peak_cuda_mb": ("MB", False)}
FRAME_COLUMNS = ("cell_id", "seed", "status", "step", "name", "value", "source", "label", "unit",
                 "higher_is_better", "provenance")  # and one column per axis after cell_id


@dataclass(frozen=True)
class Artifact:
    step: int
    kind: str  # e.g. "samples"
    path: str  # relative to the results directory


@dataclass(frozen=True, eq=False)
class Cell:
    """One stored cell: who it is, how it ended, and what it ran with."""

    cell_id: str
    axes: dict[str, str]  # axis -> its component's label, in axis order (a search trial's too)
    seed: int
    status: str  # running (or never started), done, diverged, failed
    suites: tuple[str, ...]
    config: dict[str, Any]  # the resolved configuration
    measures: dict[str, Any]  # the stored timings and counts: steps, wall_time_s, ...
    env: dict[str, Any]
    code: dict[str, Any] | None  # the code versions it ran (None: stored before they were recorded)
    error: str | None
    diverged_step: int | None
    started_at: float | None
    finished_at: float | None
    artifacts: tuple[Artifact, ...] = ()

    @property
    def group(self) -> tuple[str, ...]:
        return tuple(self.axes.values())

    @property
    def path(self) -> str:
        return "/".join(self.group) + f"/seed{self.seed}"

    @property
    def trial(self) -> str | None:
        return self.axes.get(TRIAL_AXIS)

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @cached_property
    def overload(self) -> str | None:
        """Why its throughput is not representative (it ran starved of CPU), or None."""
        return overload(self.measures, self.env)


@dataclass(frozen=True, eq=False)
class Value:
    """One number of one cell: a row of the tidy table."""

    cell: Cell
    step: int
    name: str
    value: float  # NaN where the store holds none (a metric that scored NaN)
    source: str  # "eval" (a metric's score), "train" (a training statistic) or "run"
    label: str
    unit: str
    higher_is_better: bool | None
    provenance: dict[str, Any]


@dataclass
class Results:
    """Every cell and every Value of a store (or of one suite of it)."""

    directory: Path
    suites: dict[str, str]  # name -> description, the most recently run first
    cells: list[Cell]  # ordered by axis labels, then seed
    values: list[Value] = field(default_factory=list)  # by cell, then step and name; run measures last
    settings: dict[str, tuple[str, ...]] = field(default_factory=dict)  # suite -> its latest run's --set

    @classmethod
    def from_store(cls, store: Store, suite: str | None = None, registry=None) -> Results:
        """Read the store once; `registry` (optional) gives directions a store did not record."""
        members = store.suite_members()
        metrics = store.metrics_by_cell(suite)
        artifacts = store.artifacts_by_cell(suite)
        cells, values = [], []
        for stored in store.cells(suite):
            row = stored.row
            cell = Cell(stored.cell_id, dict(stored.axes), stored.seed, stored.status, members.get(stored.cell_id, ()),
                        json.loads(row["config"]), {k: row[k] for k in ("steps", *RUN_MEASURES)},
                        json.loads(row["env"] or "{}"), None if row["code"] is None else json.loads(row["code"]),
                        row["error"], row["diverged_step"], row["started_at"], row["finished_at"],
                        tuple(Artifact(a["step"], a["kind"], a["path"]) for a in artifacts.get(stored.cell_id, ())))
            cells.append(cell)
            values += [_stored_value(cell, m, registry) for m in metrics.get(cell.cell_id, ())]
            if cell.ended:
                values += [Value(cell, cell.measures["steps"] or 0, name, float(cell.measures[name]), "run", name,
                                 unit, higher, {"source": "run"})
                           for name, (unit, higher) in RUN_MEASURES.items() if cell.measures[name] is not None]
        names = store.suite_descriptions()
        if suite is not None:
            names = {suite: names.get(suite, "")}
        return cls(store.directory, names, cells, values, store.suite_settings())

    def of_suite(self, suite: str) -> Results:
        """The cells of one suite and their values."""
        return replace(self, suites={suite: self.suites.get(suite, "")},
                       cells=[c for c in self.cells if suite in c.suites],
                       values=[v for v in self.values if suite in v.cell.suites])

    @property
    def title(self) -> str:
        return ", ".join(self.suites)

    @cached_property
    def final(self) -> dict[tuple[str, str], Value]:
        """(cell_id, name) -> the value at the cell's last recorded step of that name."""
        last: dict[tuple[str, str], Value] = {}
        for value in self.values:  # ordered by step within a cell
            last[value.cell.cell_id, value.name] = value
        return last

    @cached_property
    def by_cell(self) -> dict[str, list[Value]]:
        """cell_id -> its values, every step."""
        values: dict[str, list[Value]] = {}
        for value in self.values:
            values.setdefault(value.cell.cell_id, []).append(value)
        return values

    def groups(self, key: Callable[[Cell], Any] = lambda cell: cell.group) -> dict[Any, list[Cell]]:
        """The cells by `key(cell)` (default: one label per axis), in order of first appearance."""
        groups: dict[Any, list[Cell]] = {}
        for cell in self.cells:
            groups.setdefault(key(cell), []).append(cell)
        return groups

    def names(self, source: str | None = None) -> list[str]:
        """The value names (of one source), in order of appearance."""
        return list(dict.fromkeys(v.name for v in self.values if source in (None, v.source)))

    def axis_names(self) -> list[str]:
        """The axes of these cells: genbench's own in their order, then any other a store holds."""
        seen = dict.fromkeys(name for c in self.cells for name in c.axes)
        return [a for a in AXIS_NAMES if a in seen] + [a for a in seen if a not in AXIS_NAMES]

    def to_frame(self):
        """The tidy table as a pandas DataFrame: one row per Value, one column per axis."""
        import pandas as pd  # only notebooks and `load` need pandas

        axes = self.axis_names()
        rows = [(v.cell.cell_id, *(v.cell.axes.get(a) for a in axes), v.cell.seed, v.cell.status, v.step, v.name,
                 v.value, v.source, v.label, v.unit, v.higher_is_better, v.provenance) for v in self.values]
        return pd.DataFrame(rows, columns=[FRAME_COLUMNS[0], *axes, *FRAME_COLUMNS[1:]])


def _stored_value(cell: Cell, row: dict[str, Any], registry) -> Value:
    """A stored metric row as a Value, with its direction, label and unit."""
    name, provenance = row["name"], row["provenance"]
    if provenance.get("source") == "train":  # a training statistic: label and unit, no direction
        return Value(cell, row["step"], name, row["value"], "train", provenance.get("label") or name,
                     provenance.get("unit", ""), None, provenance)
    output = provenance.get("outputs", {}).get(name, {})
    label, unit, higher = output.get("label") or name, output.get("unit", ""), output.get("higher_is_better")
    if higher is None and registry is not None:
        registered = registered_output(name, provenance, registry)
        if registered is not None:
            label, unit, higher = registered.label, registered.unit, registered.higher_is_better
    return Value(cell, row["step"], name, row["value"], "eval", label, unit, higher, provenance)


def registered_output(name: str, provenance: dict[str, Any], registry):
    """The MetricOutput of the registered metric that reports `name` (the one its provenance
    names, else any), or None."""
    output = name.split("@")[0]  # a repeatable metric's values are named <output>@<parameter>
    metric = provenance.get("metric")
    names = [metric] if metric in registry.tables["metric"] else registry.names("metric")
    for spec in (registry.get("metric", n) for n in names):
        if output in spec.outputs:
            return spec.outputs[output]
    return None


def read(directory: str | Path, suite: str | None = None, registry=None) -> Results:
    """The Results of a results folder, opened read-only (a store of an older schema is read
    through an in-memory migration; the folder is never written)."""
    store = Store(directory, create=False)
    try:
        return Results.from_store(store, suite, registry)
    finally:
        store.close()


def load(directory: str | Path, suite: str | None = None):
    """The tidy table of a results folder as a pandas DataFrame: one row per value (a cell's
    score, training statistic or run measurement at a step) with the cell's id, one column per
    axis, seed, status, step, name, value, source, label, unit, higher_is_better, provenance."""
    return read(directory, suite).to_frame()


@dataclass(frozen=True)
class ReportView:
    """What a reporter renders: the store (one suite of it, or all), for a terminal this wide.
    Built-in reporters read only `results`, the model built from the store once."""

    store: Store
    suite: str | None = None
    width: int = 120
    registry: Any = None  # gives directions an older store did not record (optional)
    piped: bool = False  # not a terminal: tables as plain columns (genbench.api.layout)

    @cached_property
    def results(self) -> Results:
        return Results.from_store(self.store, self.suite, self.registry)

    @property
    def title(self) -> str:
        return self.suite or self.results.title
