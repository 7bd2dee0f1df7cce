"""Stores of older genbench schema versions, upgraded one version at a time: 1 -> 2 -> 3, and
the backup copy made before.

Each step is SQL run on an open connection inside the caller's transaction (genbench.results.store runs
them all in one, after a backup copy, or on an in-memory copy for read-only opens), with
foreign keys off so that a table can be rebuilt. The DDL below is frozen: it is what each
version's genbench wrote, not today's schema.

- 1 -> 2 (commit e79b65e): the axis columns of `cells` (dataset, model, objective, kernel)
  became rows of `cell_axes`, and `cells` gained warmup_time_s and train_cpu_s. Version 1 had
  no optimizer axis (it trained with Adam); its cells get no optimizer label rather than an
  invented one, so reports keep them apart from cells with a chosen optimizer.
- 2 -> 3: `cells` gained `code`, each result's code versions (genbench.run.code_version); stores
  written as version 2 before train_cpu_s existed (e79b65e..a871ed6) gain that column too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

V2_CELLS = """
CREATE TABLE cells_v2 (
    cell_id TEXT PRIMARY KEY, seed INTEGER NOT NULL, config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'diverged')),
    started_at REAL, finished_at REAL, steps INTEGER, wall_time_s REAL, train_time_s REAL,
    warmup_time_s REAL, train_cpu_s REAL, eval_time_s REAL, samples_per_s REAL, steps_per_s REAL,
    peak_rss_mb REAL, peak_cuda_mb REAL, env TEXT, error TEXT, diverged_step INTEGER)"""
V2_CELL_AXES = """
CREATE TABLE cell_axes (
    cell_id TEXT NOT NULL REFERENCES cells(cell_id), axis TEXT NOT NULL, position INTEGER NOT NULL,
    label TEXT NOT NULL, PRIMARY KEY (cell_id, axis))"""
V1_KEPT_COLUMNS = ("cell_id", "seed", "config", "status", "started_at", "finished_at", "steps", "wall_time_s",
                   "train_time_s", "eval_time_s", "samples_per_s", "steps_per_s", "peak_rss_mb", "peak_cuda_mb",
                   "env", "error", "diverged_step")
V1_AXES = (("dataset", 0), ("model", 1), ("objective", 2), ("kernel", 4))  # (column, position in v2's axes)


def _v1_to_v2(db: sqlite3.Connection) -> None:
    db.execute(V2_CELL_AXES)
    for axis, position in V1_AXES:
        db.execute(f"INSERT INTO cell_axes SELECT cell_id, '{axis}', {position}, {axis} FROM cells")
    columns = ", ".join(V1_KEPT_COLUMNS)
    db.execute(V2_CELLS)
    db.execute(f"INSERT INTO cells_v2 ({columns}) SELECT {columns} FROM cells")
    db.execute("DROP TABLE cells")
    db.execute("ALTER TABLE cells_v2 RENAME TO cells")


def _v2_to_v3(db: sqlite3.Connection) -> None:
    present = {r[1] for r in db.execute("PRAGMA table_info(cells)")}
    if "train_cpu_s" not in present:
        db.execute("ALTER TABLE cells ADD COLUMN train_cpu_s REAL")
    db.execute("ALTER TABLE cells ADD COLUMN code TEXT")


STEPS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3}  # from -> from + 1
OLDEST = min(STEPS)


def backup_path(path: Path, version: int) -> Path:
    """results.sqlite.v<N>.bak beside the store (.v<N>-2.bak, ... when that is taken)."""
    candidate, number = path.with_name(f"{path.name}.v{version}.bak"), 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.v{version}-{number}.bak")
    return candidate


def copy_database(source: sqlite3.Connection, target: Path) -> None:
    """A consistent copy of `source` (WAL contents included) at `target`, written whole or not
    at all, in rollback-journal mode."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        copy = sqlite3.connect(partial, isolation_level=None)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
        partial.replace(target)
    finally:
        if partial.exists():  # only when copying failed
            partial.unlink()


def migrate(db: sqlite3.Connection, version: int, target: int) -> None:
    """Upgrade `db` from schema `version` to `target`, inside the caller's transaction."""
    for step in range(version, target):
        STEPS[step](db)
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(target),))
