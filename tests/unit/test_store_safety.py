"""A store that checks what it opens, never writes when reading, survives a full disk, and has
one writer at a time (a real flock between real `genbench run` processes)."""

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

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


def test_run_on_a_store_missing_a_column_trains_nothing(write_suite, tmp_path, genbench_cli):
    path = make_store(tmp_path / "out")
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE cells DROP COLUMN diverged_step")
    before = snapshot(tmp_path / "out")
    ran = genbench_cli("run", str(write_suite()), "--out", str(tmp_path / "out"))
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

    def fail(self, data):
        raise error

    monkeypatch.setattr(type(tmp_path), "write_bytes", fail)
    with pytest.raises(DataError, match="(?i)cannot record the result of cell c: x.png: .*fix"):
        store.record_result(CellResult("c", "done", artifacts=[Artifact(10, "samples", "x.png", b"png")]))
    assert store.statuses() == {"c": "running"}


def test_cli_says_the_disk_is_full_exits_2_and_resume_finishes(write_suite, tmp_path, monkeypatch, capsys):
    suite, out = write_suite(), tmp_path / "out"
    real = Store._record_result
    calls = []

    def full_on_second(self, result, code):
        calls.append(result.cell_id)
        if len(calls) == 2:
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, result, code)

    monkeypatch.setattr(Store, "_record_result", full_on_second)
    monkeypatch.setattr(sys, "argv", ["genbench", "run", str(suite), "--out", str(out), "--threads", "1"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 2
    stderr = " ".join(capsys.readouterr().err.split())  # rich wraps at the terminal width
    assert "the disk is full" in stderr and "run the same command again to resume" in stderr
    with sqlite3.connect(out / DB_NAME) as db:
        assert sorted(r[0] for r in db.execute("SELECT status FROM cells")) == ["done", "running"]

    monkeypatch.setattr(Store, "_record_result", real)
    cli.main()  # returns: every cell done
    assert "skipped 1 cells already in the store" in capsys.readouterr().out


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
    (tmp_path / LOCK_NAME).write_text("left by a process that died")
    with StoreLock(tmp_path).hold():
        holder = json.loads((tmp_path / LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid()
        with pytest.raises(GenbenchError, match=rf"another genbench run \(pid {os.getpid()} on host .*since "
                                                r".*--wait.*another --out"):
            StoreLock(tmp_path).hold()
    with StoreLock(tmp_path).hold():  # released on exit
        pass


SLOW = """
[suite]
name = "slow"
seeds = [0, 1]
[train]
steps = 400
batch_size = 32
[eval]
every = 200
metrics = [{ name = "modes", n_samples = 100 }]
[matrix]
datasets = [{ name = "ring8", n_train = 256, n_test = 16 }]
models = [{ name = "mlp", hidden = 8, depth = 1, z_dim = 2 }]
objectives = ["nonsaturating"]
"""


def start_run(suite, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "genbench", "run", str(suite), "--out", str(out),
                             "--threads", "1", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="200"))


def wait_for_holder(out, proc):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if json.loads((out / LOCK_NAME).read_text())["pid"] == proc.pid:
                return
        except (OSError, ValueError):
            pass
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the first run never took the lock")


def test_a_second_run_is_refused_a_waiting_one_follows(tmp_path, genbench_cli):
    suite, out = tmp_path / "slow.toml", tmp_path / "out"
    suite.write_text(SLOW)
    first = start_run(suite, out)
    wait_for_holder(out, first)
    waiter = start_run(suite, out, "--wait")
    second = genbench_cli("run", str(suite), "--out", str(out), "--threads", "1")
    assert first.poll() is None, "the first run should still be running"
    assert second.returncode == 2, second.stderr
    assert f"pid {first.pid} on host" in second.stderr and "--wait" in second.stderr
    assert first.wait(timeout=120) == 0, first.stderr.read()
    waited_out, waited_err = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, waited_err
    assert "waiting:" in waited_err and f"pid {first.pid}" in waited_err
    assert "skipped 2 cells already in the store" in waited_out


def test_kill_9_releases_the_lock(tmp_path, write_suite, genbench_cli):
    suite, out = tmp_path / "slow.toml", tmp_path / "out"
    suite.write_text(SLOW)
    first = start_run(suite, out)
    wait_for_holder(out, first)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    assert (out / LOCK_NAME).exists()  # left behind, and no obstacle
    third = genbench_cli("run", str(write_suite()), "--out", str(out), "--threads", "1")
    assert third.returncode == 0, third.stderr


# -- migrations of older store schemas ------------------------------------------------------

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


def flat(text):
    return " ".join(text.split())  # rich wraps long lines


def test_a_v1_store_is_read_without_writing_then_migrated_with_a_backup(tmp_path, write_suite, genbench_cli):
    out = tmp_path / "out"
    path = v1_store(out)
    original, before = rows(path), snapshot(out)

    shown = genbench_cli("show", str(out))  # read-only: migrated in memory, the file stays as it is
    assert shown.returncode == 0, shown.stderr
    assert "every group: dataset ring8, model mlp, kernel eager" in shown.stdout  # v1 had no optimizer axis
    assert "saturating 1 7" in flat(shown.stdout)
    assert "schema 1; read through an in-memory migration" in flat(shown.stderr)
    assert snapshot(out) == before

    ran = genbench_cli("run", str(write_suite()), "--out", str(out), "--threads", "1")
    assert ran.returncode == 0, ran.stderr
    backup = out / f"{DB_NAME}.v1.bak"
    assert f"migrated {path} from store schema 1 to 3; backup of the original at {backup}" in flat(ran.stdout)
    assert rows(backup) == original  # the backup is the version-1 store, row for row
    migrated = rows(path)
    assert ("schema_version", "3") in migrated["meta"]
    assert ("v1done", "dataset", 0, "ring8") in migrated["cell_axes"]
    assert ("v1done", 1000, "modes_covered", 5.0, '{"n_fake": 2500}') in migrated["metrics"]
    assert set(original["artifacts"]) < set(migrated["artifacts"])  # the new run added its own

    shown = genbench_cli("show", str(out), "--all")
    assert shown.returncode == 0, shown.stderr
    text = flat(shown.stdout)
    assert "ring8 / mlp / saturating / - 1 7 81.5" in text  # the old result, as it was (piped: one plain table)
    assert "ring8 / mlp / hinge / -" in text and "1 failed" in text
    assert "2 done" in text  # the new run's two cells beside them
    assert "code, not recorded: 1 cells (stored by an older genbench)" in text
    exported = json.loads(genbench_cli("export", str(out), "--format", "json", "--raw").stdout)
    old = [r for r in exported if r["cell_id"] == "v1done"]
    assert {(r["step"], r["metric"], r["value"]) for r in old} == {
        (2000, "modes_covered", 7.0), (2000, "high_quality_pct", 81.5), (1000, "modes_covered", 5.0)}
    assert old[0]["code"] is None and json.loads(exported[-1]["code"])["genbench"]["version"]

    resumed = genbench_cli("run", str(write_suite()), "--out", str(out), "--threads", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert "skipped 2 cells already in the store" in resumed.stdout and "migrated" not in resumed.stdout


@pytest.mark.parametrize("with_train_cpu", [True, False])
def test_a_v2_store_is_migrated_and_its_finished_cells_are_kept(tmp_path, write_suite, genbench_cli, registry,
                                                                 with_train_cpu):
    from genbench.suite import config as config_module
    from genbench.suite import plan

    suite, out = write_suite(), tmp_path / "out"
    cells = plan.expand(config_module.load(str(suite), registry), registry)
    path = v2_store(out, cells, with_train_cpu)
    ran = genbench_cli("run", str(suite), "--out", str(out), "--threads", "1")
    assert ran.returncode == 0, ran.stderr
    text = flat(ran.stdout)
    assert f"migrated {path} from store schema 2 to 3" in text and (out / f"{DB_NAME}.v2.bak").exists()
    assert "kept 2 finished cells that recorded no code versions (stored by an older genbench)" in text
    assert "skipped 2 cells already in the store" in text  # nothing re-trained: the old numbers stand
    with sqlite3.connect(path) as db:
        assert sorted(db.execute("SELECT value FROM metrics")) == [(0.5,), (1.5,)]
        assert db.execute("SELECT count(*) FROM cells WHERE train_cpu_s IS NULL AND code IS NULL").fetchone()[0] == 2
    assert "modes_covered" in genbench_cli("show", str(out)).stdout


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
