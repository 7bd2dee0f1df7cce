"""The store under real `genbench run`s: one writer at a time (a real flock between processes; a
second run is refused or waits, kill -9 leaves no obstacle), a full disk mid-run, and runs that
migrate an older store."""

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from old_stores import rows, v1_store, v2_store

from genbench import cli
from genbench.run.lock import LOCK_NAME
from genbench.results.store import DB_NAME, Store


def snapshot(directory):
    """name -> sha256 of every file in `directory`: equal snapshots mean nothing was written."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir()) if p.is_file()}


def flat(text):
    return " ".join(text.split())  # rich wraps long lines


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


def test_a_second_run_is_refused_a_waiting_one_follows(tmp_path, invoke_genbench):
    suite, out = tmp_path / "slow.toml", tmp_path / "out"
    suite.write_text(SLOW)
    first = start_run(suite, out)
    wait_for_holder(out, first)
    waiter = start_run(suite, out, "--wait")
    second = invoke_genbench("run", str(suite), "--out", str(out), "--threads", "1")
    assert first.poll() is None, "the first run should still be running"
    assert second.returncode == 2, second.stderr
    assert f"pid {first.pid} on host" in second.stderr and "--wait" in second.stderr
    assert first.wait(timeout=120) == 0, first.stderr.read()
    waited_out, waited_err = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, waited_err
    assert "waiting:" in waited_err and f"pid {first.pid}" in waited_err
    assert "skipped 2 cells already in the store" in waited_out


def test_kill_9_releases_the_lock(tmp_path, write_suite, invoke_genbench):
    suite, out = tmp_path / "slow.toml", tmp_path / "out"
    suite.write_text(SLOW)
    first = start_run(suite, out)
    wait_for_holder(out, first)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    assert (out / LOCK_NAME).exists()  # left behind, and no obstacle
    third = invoke_genbench("run", str(write_suite()), "--out", str(out), "--threads", "1")
    assert third.returncode == 0, third.stderr


def test_a_v1_store_is_read_without_writing_then_migrated_with_a_backup(tmp_path, write_suite, invoke_genbench):
    out = tmp_path / "out"
    path = v1_store(out)
    original, before = rows(path), snapshot(out)

    shown = invoke_genbench("show", str(out))  # read-only: migrated in memory, the file stays as it is
    assert shown.returncode == 0, shown.stderr
    assert "every group: dataset ring8, model mlp, kernel eager" in shown.stdout  # v1 had no optimizer axis
    assert "saturating 1 7" in flat(shown.stdout)
    assert "schema 1; read through an in-memory migration" in flat(shown.stderr)
    assert snapshot(out) == before

    ran = invoke_genbench("run", str(write_suite()), "--out", str(out), "--threads", "1")
    assert ran.returncode == 0, ran.stderr
    backup = out / f"{DB_NAME}.v1.bak"
    assert f"migrated {path} from store schema 1 to 3; backup of the original at {backup}" in flat(ran.stdout)
    assert rows(backup) == original  # the backup is the version-1 store, row for row
    migrated = rows(path)
    assert ("schema_version", "3") in migrated["meta"]
    assert ("v1done", "dataset", 0, "ring8") in migrated["cell_axes"]
    assert ("v1done", 1000, "modes_covered", 5.0, '{"n_fake": 2500}') in migrated["metrics"]
    assert set(original["artifacts"]) < set(migrated["artifacts"])  # the new run added its own

    shown = invoke_genbench("show", str(out), "--all")
    assert shown.returncode == 0, shown.stderr
    text = flat(shown.stdout)
    assert "ring8 / mlp / saturating / - 1 7 81.5" in text  # the old result, as it was (piped: one plain table)
    assert "ring8 / mlp / hinge / -" in text and "1 failed" in text
    assert "2 done" in text  # the new run's two cells beside them
    assert "code, not recorded: 1 cells (stored by an older genbench)" in text
    exported = json.loads(invoke_genbench("export", str(out), "--format", "json", "--raw").stdout)
    old = [r for r in exported if r["cell_id"] == "v1done"]
    assert {(r["step"], r["metric"], r["value"]) for r in old} == {
        (2000, "modes_covered", 7.0), (2000, "high_quality_pct", 81.5), (1000, "modes_covered", 5.0)}
    assert old[0]["code"] is None and json.loads(exported[-1]["code"])["genbench"]["version"]

    resumed = invoke_genbench("run", str(write_suite()), "--out", str(out), "--threads", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert "skipped 2 cells already in the store" in resumed.stdout and "migrated" not in resumed.stdout


@pytest.mark.parametrize("with_train_cpu", [True, False])
def test_a_v2_store_is_migrated_and_its_finished_cells_are_kept(tmp_path, write_suite, invoke_genbench, registry,
                                                                 with_train_cpu):
    from genbench.suite import config as config_module
    from genbench.suite import plan

    suite, out = write_suite(), tmp_path / "out"
    cells = plan.expand(config_module.load(str(suite), registry), registry)
    path = v2_store(out, cells, with_train_cpu)
    ran = invoke_genbench("run", str(suite), "--out", str(out), "--threads", "1")
    assert ran.returncode == 0, ran.stderr
    text = flat(ran.stdout)
    assert f"migrated {path} from store schema 2 to 3" in text and (out / f"{DB_NAME}.v2.bak").exists()
    assert "kept 2 finished cells that recorded no code versions (stored by an older genbench)" in text
    assert "skipped 2 cells already in the store" in text  # nothing re-trained: the old numbers stand
    with sqlite3.connect(path) as db:
        assert sorted(db.execute("SELECT value FROM metrics")) == [(0.5,), (1.5,)]
        assert db.execute("SELECT count(*) FROM cells WHERE train_cpu_s IS NULL AND code IS NULL").fetchone()[0] == 2
    assert "modes_covered" in invoke_genbench("show", str(out)).stdout
