"""Stores as older genbench versions left them (schema 1 and 2), for the migration tests in
tests/unit/test_store_safety.py and tests/e2e/test_store_runs.py."""

import json
import sqlite3

from genbench.results.store import DB_NAME

V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS suites (
    name TEXT PRIMARY KEY, path TEXT NOT NULL, description TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
    cell_id TEXT PRIMARY KEY,
    dataset TEXT NOT NULL, model TEXT NOT NULL, objective TEXT NOT NULL, kernel TEXT NOT NULL,
    seed INTEGER NOT NULL, config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'diverged')),
    started_at REAL, finished_at REAL, steps INTEGER,
    wall_time_s REAL, train_time_s REAL, eval_time_s REAL, samples_per_s REAL, steps_per_s REAL,
    peak_rss_mb REAL, peak_cuda_mb REAL, env TEXT, error TEXT, diverged_step INTEGER);
CREATE TABLE IF NOT EXISTS suite_cells (
    suite TEXT NOT NULL REFERENCES suites(name), cell_id TEXT NOT NULL REFERENCES cells(cell_id),
    PRIMARY KEY (suite, cell_id));
CREATE TABLE IF NOT EXISTS metrics (
    cell_id TEXT NOT NULL REFERENCES cells(cell_id), step INTEGER NOT NULL, name TEXT NOT NULL,
    value REAL, provenance TEXT NOT NULL, PRIMARY KEY (cell_id, step, name));
CREATE TABLE IF NOT EXISTS artifacts (
    cell_id TEXT NOT NULL REFERENCES cells(cell_id), step INTEGER NOT NULL, kind TEXT NOT NULL,
    path TEXT NOT NULL, PRIMARY KEY (cell_id, step, kind));
"""  # genbench/store.py of commit 018b1da, as it wrote stores


V2_SCHEMA = """
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
"""  # genbench/store.py of commit 42fb9e8 (version 2; before a871ed6 it had no train_cpu_s)


def old_store(directory, schema, version):
    """A store as an older genbench left it: its schema, its version, WAL mode, closed cleanly."""
    directory.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(directory / DB_NAME)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(schema)
    db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (version,))
    db.execute("INSERT INTO suites VALUES ('old', 'old.toml', 'an older run', 1.0)")
    return db


def v1_store(directory, drop_column=None):
    """A version-1 store with a done cell (metrics, a picture) and a failed one."""
    db = old_store(directory, V1_SCHEMA, "1")
    for cell_id, objective, status in (("v1done", "saturating", "done"), ("v1failed", "hinge", "failed")):
        db.execute("INSERT INTO cells (cell_id, dataset, model, objective, kernel, seed, config, status, steps, "
                   "samples_per_s, env, error) VALUES (?, 'ring8', 'mlp', ?, 'eager', 0, '{}', ?, 2000, 5000.0, "
                   "'{}', ?)", (cell_id, objective, status, "boom" if status == "failed" else None))
        db.execute("INSERT INTO suite_cells VALUES ('old', ?)", (cell_id,))
    db.executemany("INSERT INTO metrics VALUES ('v1done', ?, ?, ?, '{\"n_fake\": 2500}')",
                   [(2000, "modes_covered", 7.0), (2000, "high_quality_pct", 81.5), (1000, "modes_covered", 5.0)])
    db.execute("INSERT INTO artifacts VALUES ('v1done', 2000, 'samples', 'artifacts/v1done/s.png')")
    if drop_column:
        db.execute(f"ALTER TABLE cells DROP COLUMN {drop_column}")
    db.commit()
    db.close()
    return directory / DB_NAME


def v2_store(directory, cells, with_train_cpu=True):
    """A version-2 store holding `cells` as done, each with one metric (its seed + 0.5)."""
    schema = V2_SCHEMA if with_train_cpu else V2_SCHEMA.replace(" train_cpu_s REAL,", "")
    db = old_store(directory, schema, "2")
    for cell in cells:
        db.execute("INSERT INTO cells (cell_id, seed, config, status, steps, finished_at, env) VALUES "
                   "(?, ?, ?, 'done', 20, 1.0, '{}')", (cell.cell_id, cell.seed, json.dumps(cell.resolved())))
        db.executemany("INSERT INTO cell_axes VALUES (?, ?, ?, ?)",
                       [(cell.cell_id, axis, i, label) for i, (axis, label) in enumerate(cell.axis_labels.items())])
        db.execute("INSERT INTO suite_cells VALUES ('old', ?)", (cell.cell_id,))
        db.execute("INSERT INTO metrics VALUES (?, 20, 'modes_covered', ?, '{}')", (cell.cell_id, cell.seed + 0.5))
    db.commit()
    db.close()
    return directory / DB_NAME


def rows(path):
    """Every row of every table, for comparing a store's contents."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: sorted(map(tuple, db.execute(f"SELECT * FROM {t}"))) for t in tables}
