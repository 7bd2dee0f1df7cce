"""A store that checks what it opens, never writes when reading, survives a full disk, has one
writer at a time, and migrates older schemas safely (tests/e2e/test_store_runs.py: the same
across real `genbench run` processes)."""

import hashlib
import json
import os
import sqlite3
import sys

import pytest
from old_stores import rows, v1_store

from genbench import cli
from genbench.api.errors import DataError, GenbenchError
from genbench.run.lock import LOCK_NAME, StoreLock
from genbench.api.result import Artifact, CellResult, MetricRow
from genbench.results.store import DB_NAME, Store


def snapshot(directory):
    """name -> sha256 of every file in `directory`: equal snapshots mean nothing was written."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir()) if p.is_file()}


def make_store(directory):
    store = Store(directory)
    store.db.execute("INSERT INTO cells (cell_id, seed, config, status) VALUES ('c', 0, '{}', 'running')")
    store.record_result(CellResult("c", "done", metrics=[MetricRow(10, "loss", 1.5, {"n": 1})]))
    store.close()
    return directory / DB_NAME


# -- what a store refuses to open, leaving it as it was -------------------------------------

@pytest.mark.parametrize("create", [True, False])
def test_random_bytes_are_refused_and_left_alone(tmp_path, create):
    (tmp_path / DB_NAME).write_bytes(os.urandom(4096))
    before = snapshot(tmp_path)
    with pytest.raises(DataError, match=r"results.sqlite is not a SQLite database.*Fix: move it away"):
        Store(tmp_path, create=create)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("create", [True, False])
def test_a_foreign_sqlite_database_is_refused_and_left_alone(tmp_path, create):
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute("CREATE TABLE invoices (id INTEGER, amount REAL)")
    before = snapshot(tmp_path)
    with pytest.raises(DataError, match=r"not a genbench results store \(its tables: invoices\).*Fix"):
        Store(tmp_path, create=create)
    assert snapshot(tmp_path) == before  # no genbench tables, no WAL switch, no -wal/-shm files
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_a_directory_at_the_store_path_is_refused(tmp_path):
    (tmp_path / DB_NAME).mkdir()
    with pytest.raises(DataError, match=r"results.sqlite is not a file.*fix"):
        Store(tmp_path)


def test_an_empty_file_becomes_a_store_but_is_no_results_to_read(tmp_path):
    (tmp_path / DB_NAME).touch()
    with pytest.raises(DataError, match="no results in"):
        Store(tmp_path, create=False)
    Store(tmp_path).close()
    assert Store(tmp_path, create=False).suites() == []


@pytest.mark.parametrize("version, message", [
    ("4", r"schema version 4, newer than this genbench \(which reads versions up to 3\).*upgrade genbench"),
    ("0", r"without a genbench schema version \(found '0'\)"),
    ("two", r"without a genbench schema version \(found 'two'\)"),
])
def test_a_newer_or_unknown_schema_version_is_refused_before_any_write(tmp_path, version, message):
    path = make_store(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (version,))
    before = snapshot(tmp_path)
    for create in (True, False):
        with pytest.raises(DataError, match=message):
            Store(tmp_path, create=create)
    assert snapshot(tmp_path) == before


def test_a_store_missing_a_column_or_table_is_refused(tmp_path):
    path = make_store(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE cells DROP COLUMN peak_rss_mb")
    with pytest.raises(DataError, match="table `cells` lacks column.*peak_rss_mb.*fix: pass a new --out"):
        Store(tmp_path)
    path = make_store(tmp_path / "other")
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE artifacts")
    with pytest.raises(DataError, match="has no `artifacts` table"):
        Store(tmp_path / "other", create=False)


def test_run_on_a_store_missing_a_column_trains_nothing(write_suite, tmp_path, invoke_genbench):
    path = make_store(tmp_path / "out")
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE cells DROP COLUMN diverged_step")
    before = snapshot(tmp_path / "out")
    ran = invoke_genbench("run", str(write_suite()), "--out", str(tmp_path / "out"))
    assert ran.returncode == 2 and "lacks column(s) diverged_step" in ran.stderr
    assert "Traceback" not in ran.stderr
    after = snapshot(tmp_path / "out")
    assert {k: v for k, v in after.items() if k != LOCK_NAME} == before


# -- the read-only path --------------------------------------------------------------------

def test_reading_never_writes(tmp_path):
    make_store(tmp_path)
    before = snapshot(tmp_path)
    store = Store(tmp_path, create=False)
    assert [c.cell_id for c in store.cells()] == ["c"] and store.metrics("c")[0]["value"] == 1.5
    store.close()
    assert snapshot(tmp_path) == before  # no -wal, -shm or lock file; the bytes are unchanged


def test_reading_a_store_left_in_wal_mode_never_writes(tmp_path):
    path = make_store(tmp_path)
    with sqlite3.connect(path) as db:  # as a store closed by an older genbench is left
        db.execute("PRAGMA journal_mode=WAL")
    assert not (tmp_path / f"{DB_NAME}-wal").exists()
    before = snapshot(tmp_path)
    store = Store(tmp_path, create=False)
    assert store.metrics("c")[0]["value"] == 1.5
    store.close()
    assert snapshot(tmp_path) == before


def test_reading_while_a_run_writes_sees_committed_results(tmp_path):
    writer = Store(tmp_path)
    writer.db.execute("INSERT INTO cells (cell_id, seed, config, status) VALUES ('c', 0, '{}', 'running')")
    writer.record_result(CellResult("c", "done", metrics=[MetricRow(1, "loss", 2.0, {})]))
    reader = Store(tmp_path, create=False)
    assert reader.metrics("c")[0]["value"] == 2.0
    reader.close()
    writer.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes through any permission bits")
def test_show_and_export_work_on_a_read_only_results_folder(tmp_path):
    path = make_store(tmp_path / "out")
    for target in (path, tmp_path / "out"):
        target.chmod(0o555)
    try:
        store = Store(tmp_path / "out", create=False)
        assert store.metrics("c")[0]["value"] == 1.5
        store.close()
    finally:
        (tmp_path / "out").chmod(0o755)


# -- write failures ------------------------------------------------------------------------

class FullDisk:
    """A connection whose metric inserts fail as SQLite fails on a full disk."""

    def __init__(self, db):
        self._db = db

    def __getattr__(self, name):
        return getattr(self._db, name)

    def executemany(self, sql, rows):
        if sql.startswith("INSERT INTO metrics"):
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.executemany(sql, rows)


def test_a_full_disk_mid_result_rolls_back_whole(tmp_path):
    store = Store(tmp_path)
    store.db.execute("INSERT INTO cells (cell_id, seed, config, status) VALUES ('c', 0, '{}', 'running')")
    store.record_result(CellResult("c", "done", metrics=[MetricRow(10, "loss", 1.5, {})]))
    store.db = FullDisk(store.db)
    with pytest.raises(DataError, match=r"results.sqlite: the disk is full.*nothing recorded before is lost"):
        store.record_result(CellResult("c", "failed", error="x", metrics=[MetricRow(20, "loss", 9.0, {})]))
    assert not store.db.in_transaction
    assert store.statuses() == {"c": "done"} and [m["value"] for m in store.metrics("c")] == [1.5]


@pytest.mark.parametrize("error", [OSError(28, "No space left on device", "x.png"),
                                   PermissionError(13, "Permission denied", "x.png")])
def test_artifact_write_errors_are_data_errors(tmp_path, monkeypatch, error):
    store = Store(tmp_path)
    store.db.execute("INSERT INTO cells (cell_id, seed, config, status) VALUES ('c', 0, '{}', 'running')")

    def fail(target, data, root=None, sync=False):
        raise error

    monkeypatch.setattr("genbench.results.store.write_new", fail)
    with pytest.raises(DataError, match="(?i)cannot record the result of cell c: x.png: .*fix"):
        store.record_result(CellResult("c", "done", artifacts=[Artifact(10, "samples", "x.png", b"png")]))
    assert store.statuses() == {"c": "running"}


def test_error_messages_keep_their_brackets(tmp_path, monkeypatch, capsys):
    weird = tmp_path / "[[matrix]]"
    weird.mkdir()
    (weird / DB_NAME).write_bytes(b"not sqlite at all")
    monkeypatch.setattr(sys, "argv", ["genbench", "show", str(weird)])
    monkeypatch.setattr(cli.errors, "width", 10_000)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 2
    assert "[[matrix]]/results.sqlite is not a SQLite database" in capsys.readouterr().err


# -- one writer per results folder ---------------------------------------------------------

def test_a_second_lock_is_refused_with_the_holder_and_a_stale_file_never_blocks(tmp_path):
    (tmp_path / LOCK_NAME).write_text('{"host": "gone", "pid": 999999999, "since": 0}')  # a dead run's record
    with StoreLock(tmp_path).hold():
        holder = json.loads((tmp_path / LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid()
        with pytest.raises(GenbenchError, match=rf"another genbench run \(pid {os.getpid()} on host .*since "
                                                r".*--wait.*another --out"):
            StoreLock(tmp_path).hold()
    with StoreLock(tmp_path).hold():  # released on exit
        pass


# -- migrations of older store schemas ------------------------------------------------------


def test_a_failed_migration_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    from genbench.results import migrations as store_migrations

    path = v1_store(tmp_path)
    before = snapshot(tmp_path)
    real = store_migrations.STEPS[2]

    def full_disk_midway(db):
        real(db)  # the first steps have run inside the transaction
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setitem(store_migrations.STEPS, 2, full_disk_midway)
    with pytest.raises(DataError, match=r"cannot migrate the store from schema 1 to 3 in .*results.sqlite: the disk is full"):
        Store(tmp_path)
    assert snapshot(tmp_path) == before  # rolled back whole; the backup removed with it
    monkeypatch.setitem(store_migrations.STEPS, 2, real)
    Store(tmp_path).close()  # the same store migrates once the cause is gone
    assert ("schema_version", "3") in rows(path)["meta"]


def test_a_damaged_old_store_is_refused_and_left_alone(tmp_path):
    v1_store(tmp_path, drop_column="kernel")
    before = snapshot(tmp_path)
    for create in (True, False):
        with pytest.raises(DataError, match=r"cannot (migrate|read) the store .*results.sqlite: no such column: kernel; the file is left"):
            Store(tmp_path, create=create)
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes through any permission bits")
def test_an_old_store_in_a_read_only_folder_is_read_but_not_migrated(tmp_path):
    out = tmp_path / "out"
    v1_store(out)
    before = snapshot(out)
    out.chmod(0o555)
    try:
        with pytest.raises(DataError, match=r"cannot back up the store .*fix: make .* writable"):
            Store(out)
        store = Store(out, create=False)
        assert [c.cell_id for c in store.cells()] == ["v1failed", "v1done"]
        store.close()
    finally:
        out.chmod(0o755)
    assert snapshot(out) == before
