"""SQLite results store: one file per results directory, WAL mode, one transaction per result.

The driver is the only writer. A cell is marked `running` when it starts and replaced by its
result in a single transaction when it ends, so Ctrl-C or kill -9 at any moment leaves every
finished cell intact and the interrupted one marked `running` (re-run on resume). A cell's
axis values (genbench.axes) are rows of `cell_axes`, so a new axis needs no schema change.
Artifacts arrive as bytes inside the result; the store writes each file (to a temporary name,
then renamed) before the transaction that records it.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DataError
from .result import CellResult

DB_NAME = "results.sqlite"
ARTIFACTS = "artifacts"
SCHEMA_VERSION = "2"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS suites (
    name TEXT PRIMARY KEY, path TEXT NOT NULL, description TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
    cell_id TEXT PRIMARY KEY, seed INTEGER NOT NULL, config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'diverged')),
    started_at REAL, finished_at REAL, steps INTEGER, wall_time_s REAL, train_time_s REAL,
    warmup_time_s REAL, train_cpu_s REAL, eval_time_s REAL, samples_per_s REAL, steps_per_s REAL,
    peak_rss_mb REAL, peak_cuda_mb REAL, env TEXT, error TEXT, diverged_step INTEGER);
CREATE TABLE IF NOT EXISTS cell_axes (
    cell_id TEXT NOT NULL REFERENCES cells(cell_id), axis TEXT NOT NULL, position INTEGER NOT NULL,
    label TEXT NOT NULL, PRIMARY KEY (cell_id, axis));
CREATE TABLE IF NOT EXISTS suite_cells (
    suite TEXT NOT NULL REFERENCES suites(name), cell_id TEXT NOT NULL REFERENCES cells(cell_id),
    PRIMARY KEY (suite, cell_id));
CREATE TABLE IF NOT EXISTS metrics (
    cell_id TEXT NOT NULL REFERENCES cells(cell_id), step INTEGER NOT NULL, name TEXT NOT NULL,
    value REAL, provenance TEXT NOT NULL, PRIMARY KEY (cell_id, step, name));
CREATE TABLE IF NOT EXISTS artifacts (
    cell_id TEXT NOT NULL REFERENCES cells(cell_id), step INTEGER NOT NULL, kind TEXT NOT NULL,
    path TEXT NOT NULL, PRIMARY KEY (cell_id, step, kind));
"""
RESULT_COLUMNS = ("status", "finished_at", "steps", "wall_time_s", "train_time_s", "warmup_time_s",
                  "train_cpu_s", "eval_time_s", "samples_per_s", "steps_per_s", "peak_rss_mb", "peak_cuda_mb", "env",
                  "error", "diverged_step")


@dataclass(frozen=True)
class StoredCell:
    """A row of `cells` with its axis labels, as reports read it."""

    cell_id: str
    axes: dict[str, str]  # axis name -> the component's label, in axis order
    seed: int
    status: str
    row: dict[str, Any]

    @property
    def group(self) -> tuple[str, ...]:
        return tuple(self.axes.values())


class Store:
    """The results database of one output directory."""

    def __init__(self, directory: str | Path, create: bool = True):
        self.directory = Path(directory)
        path = self.directory / DB_NAME
        if not path.exists() and not create:
            raise DataError(f"no results in {self.directory} (expected {path}); fix: run a suite "
                            f"with `genbench run SUITE --out {self.directory}` first, or pass the "
                            f"directory you ran it with.")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        with self.transaction():
            for statement in _statements(SCHEMA):
                self.db.execute(statement)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            version = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
        if version != SCHEMA_VERSION:
            self.db.close()
            raise DataError(f"{path} holds results of store schema version {version}, and this genbench "
                            f"reads version {SCHEMA_VERSION}; fix: pass a new --out directory (or run the "
                            f"genbench version that wrote it to export them).")

    def close(self) -> None:
        self.db.close()

    def transaction(self):
        return _Transaction(self.db)

    # -- writing (the driver only) --------------------------------------------------------

    def record_suite(self, name: str, path: str, description: str, cells: Iterable) -> None:
        with self.transaction():
            self.db.execute("INSERT INTO suites VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                            "path=excluded.path, description=excluded.description, "
                            "updated_at=excluded.updated_at", (name, path, description, time.time()))
            for cell in cells:
                self._insert_cell(cell)
                self.db.execute("INSERT OR IGNORE INTO suite_cells VALUES (?, ?)", (name, cell.cell_id))

    def _insert_cell(self, cell) -> None:
        inserted = self.db.execute(
            "INSERT OR IGNORE INTO cells (cell_id, seed, config, status) VALUES (?, ?, ?, 'running')",
            (cell.cell_id, cell.seed, json.dumps(cell.resolved()))).rowcount
        if inserted:
            self.db.executemany("INSERT INTO cell_axes VALUES (?, ?, ?, ?)",
                                [(cell.cell_id, axis, position, label)
                                 for position, (axis, label) in enumerate(cell.axis_labels.items())])

    def statuses(self) -> dict[str, str]:
        """cell_id -> status of every cell with a row; `running` with no start means never begun."""
        return {r["cell_id"]: r["status"] for r in self.db.execute("SELECT cell_id, status FROM cells")}

    def mark_started(self, cell) -> None:
        with self.transaction():
            self._insert_cell(cell)
            self.db.execute("UPDATE cells SET status='running', started_at=?, error=NULL WHERE cell_id=?",
                            (time.time(), cell.cell_id))

    def record_result(self, result: CellResult) -> None:
        """Write the cell's artifact files, then replace its status, metrics and artifact rows
        in one transaction."""
        paths = [self._write_artifact(result.cell_id, a.filename, a.data) for a in result.artifacts]
        values = {
            "status": result.status, "finished_at": time.time(), "steps": result.steps,
            "wall_time_s": result.wall_time_s, "train_time_s": result.train_time_s,
            "warmup_time_s": result.warmup_time_s, "train_cpu_s": result.train_cpu_s,
            "eval_time_s": result.eval_time_s, "samples_per_s": result.samples_per_s,
            "steps_per_s": result.steps_per_s, "peak_rss_mb": result.peak_rss_mb,
            "peak_cuda_mb": result.peak_cuda_mb, "env": json.dumps(result.env),
            "error": result.error, "diverged_step": result.diverged_step,
        }
        assignments = ", ".join(f"{c}=?" for c in RESULT_COLUMNS)
        with self.transaction():
            self.db.execute(f"UPDATE cells SET {assignments} WHERE cell_id=?",
                            (*[values[c] for c in RESULT_COLUMNS], result.cell_id))
            self.db.execute("DELETE FROM metrics WHERE cell_id=?", (result.cell_id,))
            self.db.execute("DELETE FROM artifacts WHERE cell_id=?", (result.cell_id,))
            self.db.executemany(
                "INSERT INTO metrics VALUES (?, ?, ?, ?, ?)",
                [(result.cell_id, m.step, m.name, None if math.isnan(m.value) else m.value,
                  json.dumps(m.provenance, default=str)) for m in result.metrics])
            self.db.executemany("INSERT INTO artifacts VALUES (?, ?, ?, ?)",
                                [(result.cell_id, a.step, a.kind, path)
                                 for a, path in zip(result.artifacts, paths, strict=True)])

    def _write_artifact(self, cell_id: str, filename: str, data: bytes) -> str:
        """artifacts/<cell_id>/<filename>, written whole or not at all; the path relative to
        the results directory."""
        if Path(filename).name != filename or filename.startswith("."):
            raise ValueError(f"artifact file name {filename!r} must be a plain file name")
        relative = Path(ARTIFACTS) / cell_id / filename
        target = self.directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{filename}.partial")
        partial.write_bytes(data)
        partial.replace(target)
        return str(relative)

    # -- reading --------------------------------------------------------------------------

    def suites(self) -> list[str]:
        return [r["name"] for r in self.db.execute("SELECT name FROM suites ORDER BY updated_at DESC")]

    def cells(self, suite: str | None = None) -> list[StoredCell]:
        """Every cell (of one suite), ordered by its axis labels, then seed."""
        query = "SELECT * FROM cells"
        args: tuple = ()
        if suite is not None:
            query += " WHERE cell_id IN (SELECT cell_id FROM suite_cells WHERE suite=?)"
            args = (suite,)
        axes: dict[str, dict[str, str]] = {}
        for r in self.db.execute("SELECT cell_id, axis, label FROM cell_axes ORDER BY cell_id, position"):
            axes.setdefault(r["cell_id"], {})[r["axis"]] = r["label"]
        cells = [StoredCell(r["cell_id"], axes.get(r["cell_id"], {}), r["seed"], r["status"], dict(r))
                 for r in self.db.execute(query, args)]
        return sorted(cells, key=lambda c: (c.group, c.seed))

    def metrics(self, cell_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT step, name, value, provenance FROM metrics WHERE cell_id=? "
                               "ORDER BY step, name", (cell_id,))
        return [{"step": r["step"], "name": r["name"],
                 "value": math.nan if r["value"] is None else r["value"],
                 "provenance": json.loads(r["provenance"])} for r in rows]

    def artifacts(self, cell_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT step, kind, path FROM artifacts WHERE cell_id=? ORDER BY step",
                               (cell_id,))
        return [dict(r) for r in rows]


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception (KeyboardInterrupt included)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        return False
