"""SQLite results store: one file per results directory, WAL mode, one transaction per result.

The driver is the only writer. A cell is marked `running` when it starts and replaced by its
result in a single transaction when it ends, so Ctrl-C or kill -9 at any moment leaves every
finished cell intact and the interrupted one marked `running` (re-run on resume). A cell's
axis values (genbench.api.axes) are rows of `cell_axes`, so a new axis needs no schema change.
Artifacts arrive as bytes inside the result; the store writes each file (to a temporary name,
then renamed) before the transaction that records it.

A store checks what it opens before writing anything: a file that is not SQLite, a SQLite
database that is not genbench's, a store of a newer schema version or one missing a table or
column is refused with a DataError, and left as it was. A store of an older schema version
(genbench.results.migrations) is migrated in place when opened for writing: first a backup copy
`results.sqlite.v<N>.bak` beside it, then every step in one transaction (a failure leaves the
file as it was and removes the backup); a read-only open migrates an in-memory copy instead, so
`show` and `export` read old stores without writing. Disk-full and permission errors while
writing become DataErrors too; the failed transaction rolls back whole. `Store(dir,
create=False)` is the read-only path (show, export): it never writes, creates no file, and
works in a directory it cannot write to. Runs use WAL; closing a writer switches the file back
to a rollback journal, so readers of a finished store need no -wal/-shm files beside it.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import migrations
from .files import STORE_NAME, check_inside, write_new
from genbench.api.errors import DataError
from genbench.api.result import CellResult

log = logging.getLogger(__name__)

DB_NAME = STORE_NAME
SQLITE_HEADER = b"SQLite format 3\x00"
ARTIFACTS = "artifacts"
SETTINGS_KEY = "settings:"  # meta key prefix: a suite's latest `--set` overrides
SCHEMA_VERSION = "3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS suites (
    name TEXT PRIMARY KEY, path TEXT NOT NULL, description TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
    cell_id TEXT PRIMARY KEY, seed INTEGER NOT NULL, config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'diverged')),
    started_at REAL, finished_at REAL, steps INTEGER, wall_time_s REAL, train_time_s REAL,
    warmup_time_s REAL, train_cpu_s REAL, eval_time_s REAL, samples_per_s REAL, steps_per_s REAL,
    peak_rss_mb REAL, peak_cuda_mb REAL, env TEXT, error TEXT, diverged_step INTEGER, code TEXT);
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
                  "error", "diverged_step", "code")


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
        """Open (with `create`, also create) the store in `directory`; create=False is read-only."""
        self.directory = Path(directory)
        self.path = path = self.directory / DB_NAME
        self.read_only = not create
        self.migrated_from: int | None = None  # the schema version an older store was migrated from
        self.backup: Path | None = None  # the copy made before migrating the file
        if self.directory.exists() and not self.directory.is_dir():
            raise DataError(f"{self.directory} is a file, not a results directory; fix: pass a directory "
                            f"as --out (a new name is created).")
        if path.exists() and not path.is_file():
            raise DataError(f"{path} is not a file, so it cannot be a genbench results store; fix: move "
                            f"it away, or pass another --out directory.")
        if create:  # sqlite follows links: a planted one would send the writes elsewhere
            for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
                check_inside(self.directory, self.directory / name)
        holds_data = path.exists() and path.stat().st_size > 0
        if not holds_data and not create:
            raise DataError(f"no results in {self.directory} (expected {path}); fix: run a suite "
                            f"with `genbench run SUITE --out {self.directory}` first, or pass the "
                            f"directory you ran it with.")
        if holds_data:  # check it all through a read-only connection before writing anything
            reader = _connect_read_only(path)
            try:
                version = _stored_version(reader, path)
                if not create and version is None:
                    raise DataError(f"no results in {path} (an empty database); fix: run a suite with "
                                    f"`genbench run SUITE --out {self.directory}` first.")
                if version == CURRENT_VERSION:
                    _check_tables(reader, path)
                elif version is not None:
                    self.migrated_from = version
                    if create:
                        self._migrate_file(reader, version)
                    else:
                        reader = _migrated_copy(reader, version, path)
            except BaseException:
                reader.close()
                raise
            if not create:
                self.db = reader
                return
            reader.close()
        with self._writing("create the results store"):
            self.directory.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            with self.transaction():
                for statement in _statements(SCHEMA):
                    self.db.execute(statement)
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))

    def _migrate_file(self, reader: sqlite3.Connection, version: int) -> None:
        """Back the store up beside it, then migrate it to this schema in one transaction; on any
        failure the file is as it was and the backup is removed."""
        self.backup = backup = check_inside(self.directory, migrations.backup_path(self.path, version))
        what = f"migrate the store from schema {version} to {SCHEMA_VERSION}"
        try:
            with self._writing(f"back up the store to {backup.name} before migrating it"):
                migrations.copy_database(reader, backup)
            with self._writing(what), _migration_errors(what, self.path):
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                try:
                    with _Transaction(db):  # foreign keys stay off (the default): tables are rebuilt
                        migrations.migrate(db, version, CURRENT_VERSION)
                        _check_tables(db, self.path)
                finally:
                    db.close()
        except BaseException:
            if backup.exists():  # (a read-only file system refuses even to unlink a missing file)
                backup.unlink()
            self.backup = None
            raise

    def close(self) -> None:
        """Close; a writer first switches the file back to a rollback journal (best effort: it
        stays in WAL while a reader has it open), so later readers create no -wal/-shm files."""
        if not self.read_only:
            try:
                self.db.execute("PRAGMA journal_mode=DELETE")
            except sqlite3.Error:
                pass
        self.db.close()

    def transaction(self):
        return _Transaction(self.db)

    @contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """Turn disk-full and permission errors into a DataError naming the store and the fix."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "full" in text:
                raise DataError(f"cannot {what} in {self.path}: the disk is full ({text}); nothing recorded "
                                f"before is lost. Fix: free space (or pass another --out), then run the "
                                f"same command again to resume.") from None
            if "readonly" in text or "unable to open" in text or "I/O error" in text:
                raise DataError(f"cannot {what} in {self.path}: {text}; fix: make {self.directory} and "
                                f"the files in it writable (or pass another --out), then run the same "
                                f"command again to resume.") from None
            raise
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DataError(f"cannot {what}: {exc.filename or self.directory}: the disk is full; nothing "
                                f"recorded before is lost. Fix: free space (or pass another --out), then run "
                                f"the same command again to resume.") from None
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise DataError(f"cannot {what}: {exc.filename or self.directory}: {exc.strerror}; fix: make "
                                f"{self.directory} writable (or pass another --out), then run the same "
                                f"command again to resume.") from None
            raise

    # -- writing (the driver only) --------------------------------------------------------

    def record_suite(self, name: str, path: str, description: str, cells: Iterable,
                     settings: Sequence[str] = ()) -> None:
        """Record a suite as it runs: its file, description, cells and the `--set` overrides of
        this run (kept in `meta` as settings:NAME, the latest run's)."""
        with self._writing(f"record suite {name!r}"), self.transaction():
            self.db.execute("INSERT INTO suites VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                            "path=excluded.path, description=excluded.description, "
                            "updated_at=excluded.updated_at", (name, path, description, time.time()))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"{SETTINGS_KEY}{name}",
                                                                          json.dumps(list(settings))))
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

    def code_versions(self) -> dict[str, dict | None]:
        """cell_id -> the code versions its result was computed with; None where none were
        recorded (no result yet, or stored by an older genbench)."""
        return {r["cell_id"]: None if r["code"] is None else json.loads(r["code"])
                for r in self.db.execute("SELECT cell_id, code FROM cells")}

    def mark_started(self, cell) -> None:
        with self._writing(f"mark cell {cell.cell_id} started"), self.transaction():
            self._insert_cell(cell)
            self.db.execute("UPDATE cells SET status='running', started_at=?, error=NULL, code=NULL "
                            "WHERE cell_id=?",
                            (time.time(), cell.cell_id))

    def record_result(self, result: CellResult, code: dict | None = None) -> None:
        """Write the cell's artifact files, then replace its status, metrics and artifact rows
        (and the code versions it ran, genbench.run.code_version) in one transaction: a failure
        leaves everything recorded before as it was."""
        with self._writing(f"record the result of cell {result.cell_id}"):
            self._record_result(result, code)

    def _record_result(self, result: CellResult, code: dict | None) -> None:
        paths = [self._write_artifact(result.cell_id, a.filename, a.data) for a in result.artifacts]
        values = {
            "status": result.status, "finished_at": time.time(), "steps": result.steps,
            "wall_time_s": result.wall_time_s, "train_time_s": result.train_time_s,
            "warmup_time_s": result.warmup_time_s, "train_cpu_s": result.train_cpu_s,
            "eval_time_s": result.eval_time_s, "samples_per_s": result.samples_per_s,
            "steps_per_s": result.steps_per_s, "peak_rss_mb": result.peak_rss_mb,
            "peak_cuda_mb": result.peak_cuda_mb, "env": json.dumps(result.env),
            "error": result.error, "diverged_step": result.diverged_step,
            "code": None if code is None else json.dumps(code, sort_keys=True),
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
        write_new(self.directory / relative, data, root=self.directory)
        return str(relative)

    # -- reading --------------------------------------------------------------------------

    def suites(self) -> list[str]:
        return [r["name"] for r in self.db.execute("SELECT name FROM suites ORDER BY updated_at DESC")]

    def cells(self, suite: str | None = None) -> list[StoredCell]:
        """Every cell (of one suite), ordered by its axis labels, then seed."""
        where, args = _of_suite(suite)
        axes: dict[str, dict[str, str]] = {}
        for r in self.db.execute("SELECT cell_id, axis, label FROM cell_axes ORDER BY cell_id, position"):
            axes.setdefault(r["cell_id"], {})[r["axis"]] = r["label"]
        cells = [StoredCell(r["cell_id"], axes.get(r["cell_id"], {}), r["seed"], r["status"], dict(r))
                 for r in self.db.execute(f"SELECT * FROM cells{where}", args)]
        return sorted(cells, key=lambda c: (c.group, c.seed))

    def metrics(self, cell_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT step, name, value, provenance FROM metrics WHERE cell_id=? "
                               "ORDER BY step, name", (cell_id,))
        return [_metric(r) for r in rows]

    def artifacts(self, cell_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT step, kind, path FROM artifacts WHERE cell_id=? ORDER BY step",
                               (cell_id,))
        return [dict(r) for r in rows]

    def metrics_by_cell(self, suite: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """cell_id -> its metric rows (as `metrics` gives them) of every cell (of one suite), in
        one query."""
        where, args = _of_suite(suite)
        by_cell: dict[str, list[dict[str, Any]]] = {}
        for r in self.db.execute(f"SELECT cell_id, step, name, value, provenance FROM metrics{where} "
                                 "ORDER BY cell_id, step, name", args):
            by_cell.setdefault(r["cell_id"], []).append(_metric(r))
        return by_cell

    def artifacts_by_cell(self, suite: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """cell_id -> its artifact rows (as `artifacts` gives them), in one query."""
        where, args = _of_suite(suite)
        by_cell: dict[str, list[dict[str, Any]]] = {}
        for r in self.db.execute(f"SELECT cell_id, step, kind, path FROM artifacts{where} ORDER BY cell_id, step",
                                 args):
            by_cell.setdefault(r["cell_id"], []).append({"step": r["step"], "kind": r["kind"], "path": r["path"]})
        return by_cell

    def suite_descriptions(self) -> dict[str, str]:
        """suite name -> its description, the most recently run first."""
        return {r["name"]: r["description"]
                for r in self.db.execute("SELECT name, description FROM suites ORDER BY updated_at DESC")}

    def suite_settings(self) -> dict[str, tuple[str, ...]]:
        """suite name -> the `--set KEY=VALUE` overrides of its latest run (none recorded: absent)."""
        rows = self.db.execute("SELECT key, value FROM meta WHERE key LIKE ?", (SETTINGS_KEY + "%",))
        return {r["key"][len(SETTINGS_KEY):]: tuple(json.loads(r["value"])) for r in rows}

    def suite_members(self) -> dict[str, tuple[str, ...]]:
        """cell_id -> the suites it belongs to."""
        members: dict[str, list[str]] = {}
        for r in self.db.execute("SELECT suite, cell_id FROM suite_cells ORDER BY suite"):
            members.setdefault(r["cell_id"], []).append(r["suite"])
        return {cell_id: tuple(suites) for cell_id, suites in members.items()}

    # -- rescoring (genbench rescore, under the store lock) ---------------------------------

    def add_metrics(self, cell_id: str, rows: list, overwrite: bool = False) -> None:
        """Add metric rows (MetricRow) to a recorded cell in one transaction. A row whose cell,
        step and name the store already holds is a DataError (nothing added), or with `overwrite`
        replaces it."""
        verb = "INSERT OR REPLACE" if overwrite else "INSERT"
        with self._writing(f"add metrics to cell {cell_id}"), self.transaction():
            try:
                self.db.executemany(
                    f"{verb} INTO metrics VALUES (?, ?, ?, ?, ?)",
                    [(cell_id, m.step, m.name, None if math.isnan(m.value) else m.value,
                      json.dumps(m.provenance, default=str)) for m in rows])
            except sqlite3.IntegrityError:
                names = ", ".join(sorted({m.name for m in rows}))
                raise DataError(f"cell {cell_id} already has a value named {names} at step "
                                f"{rows[0].step}; nothing was added. Fix: add --replace to overwrite it.") from None


def _metric(row: sqlite3.Row) -> dict[str, Any]:
    """A stored metric row as readers get it: NULL (a NaN) back to NaN, provenance parsed."""
    return {"step": row["step"], "name": row["name"], "value": math.nan if row["value"] is None else row["value"],
            "provenance": json.loads(row["provenance"])}


def _of_suite(suite: str | None) -> tuple[str, tuple]:
    """The WHERE clause (and its arguments) keeping one suite's cells; none for every cell."""
    if suite is None:
        return "", ()
    return " WHERE cell_id IN (SELECT cell_id FROM suite_cells WHERE suite=?)", (suite,)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _expected_columns() -> dict[str, list[str]]:
    """table -> its columns, as SCHEMA creates them."""
    db = sqlite3.connect(":memory:")
    for statement in _statements(SCHEMA):
        db.execute(statement)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    columns = {t: [r[1] for r in db.execute(f"PRAGMA table_info({t})")] for t in tables}
    db.close()
    return columns


EXPECTED_COLUMNS = _expected_columns()
CURRENT_VERSION = int(SCHEMA_VERSION)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that never writes: mode=ro, or immutable=1 where mode=ro would have to
    create -wal/-shm files (a WAL file with no writer open) or cannot (a read-only directory)."""
    uri = path.resolve().as_uri()
    with open(path, "rb") as file:
        header = file.read(100)
    if header[:16] != SQLITE_HEADER:
        raise DataError(f"{path} is not a SQLite database, so not a genbench results store; it is left as "
                        f"it is. Fix: move it away, or pass another --out directory.")
    wal_mode = header[18:20] == b"\x02\x02"
    wal_file = path.with_name(path.name + "-wal")
    attempts = ["immutable=1"] if wal_mode and not wal_file.exists() else ["mode=ro", "immutable=1"]
    for attempt in attempts:
        db = sqlite3.connect(f"{uri}?{attempt}", uri=True, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.DatabaseError as exc:
            db.close()
            if "not a database" in str(exc) or "malformed" in str(exc):
                raise DataError(f"{path} is not a readable SQLite database ({exc}); it is left as it is. "
                                f"Fix: move it away, or pass another --out directory.") from None
            if attempt == attempts[-1]:
                raise DataError(f"cannot read {path}: {exc}; fix: make it readable.") from None
            log.warning("opening %s read-only failed (%s); reading it as immutable", path, exc)
    raise AssertionError("unreachable")


def _stored_version(db: sqlite3.Connection, path: Path) -> int | None:
    """The schema version of the genbench store `db` (None for an empty database), or a
    DataError for a database that is not a genbench store or is newer than this genbench."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        return None
    if "meta" not in tables:
        raise DataError(f"{path} is a SQLite database that is not a genbench results store (its tables: "
                        f"{', '.join(sorted(tables))}); it is left as it is. Fix: pass another --out "
                        f"directory, or move the file away.")
    row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    version = row[0] if row is not None else None
    if not (isinstance(version, str) and version.isdigit() and int(version) >= migrations.OLDEST):
        raise DataError(f"{path} has a `meta` table without a genbench schema version (found "
                        f"{version!r}), so it is not a genbench results store; it is left as it is. Fix: "
                        f"pass another --out directory.")
    if int(version) > CURRENT_VERSION:
        raise DataError(f"{path} holds results of store schema version {version}, newer than this genbench "
                        f"(which reads versions up to {SCHEMA_VERSION}); it is left as it is. Fix: upgrade "
                        f"genbench (`pip install -U genbench`, or the version that wrote it) to read it, or "
                        f"pass a new --out directory.")
    return int(version)


def _check_tables(db: sqlite3.Connection, path: Path) -> None:
    """Raise a DataError unless `db` has every table and column of this schema version."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for table, columns in EXPECTED_COLUMNS.items():
        if table not in tables:
            raise DataError(f"{path} is a damaged genbench store: it has no `{table}` table; fix: pass a "
                            f"new --out directory (export what it holds first if you need it).")
        present = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        missing = [c for c in columns if c not in present]
        if missing:
            raise DataError(f"{path} is a damaged genbench store: table `{table}` lacks column(s) "
                            f"{', '.join(missing)}; fix: pass a new --out directory (export what it "
                            f"holds first if you need it).")


def _migrated_copy(reader: sqlite3.Connection, version: int, path: Path) -> sqlite3.Connection:
    """An in-memory copy of the store behind `reader`, migrated to this schema (for read-only
    opens: the file is never written); closes `reader`."""
    memory = sqlite3.connect(":memory:", isolation_level=None)
    memory.row_factory = sqlite3.Row
    try:
        reader.backup(memory)
        reader.close()
        what = f"read the store (schema {version}) as schema {SCHEMA_VERSION}"
        with _migration_errors(what, path), _Transaction(memory):
            migrations.migrate(memory, version, CURRENT_VERSION)
            _check_tables(memory, path)
    except BaseException:
        memory.close()
        raise
    return memory


@contextmanager
def _migration_errors(what: str, path: Path) -> Iterator[None]:
    """A migration step that fails on the store's contents (a damaged store) -> DataError."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "full" in str(exc) or "readonly" in str(exc) or "unable to open" in str(exc) or "I/O" in str(exc):
            raise  # the store's _writing says what to fix
        raise DataError(f"cannot {what} in {path}: {exc}; the file is left as it was. Fix: pass a new --out "
                        f"directory (or export its results with the genbench version that wrote it).") from None
    except sqlite3.DatabaseError as exc:
        raise DataError(f"cannot {what} in {path}: {exc}; the file is left as it was. Fix: pass a new --out "
                        f"directory (or export its results with the genbench version that wrote it).") from None


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception (KeyboardInterrupt included) and
    when COMMIT itself fails (a disk full at commit)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
                return False
            except BaseException:
                self._rollback()
                raise
        self._rollback()
        return False

    def _rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
