"""Resume after a real kill -9: finished cells survive intact, interrupted ones re-run."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

SUITE = """
[suite]
name = "killme"
seeds = [0, 1, 2, 3, 4, 5]
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
# two eval steps x 3 mode metrics, and 5 training statistics x 50 records (log_every's default:
# every steps // 50 = 8 steps)
METRICS_PER_CELL = 2 * 3 + 5 * 50


def count(db_path, query):
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
            return db.execute(query).fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not created yet
        return 0


def start_suite(tmp_path):
    suite, out = tmp_path / "suite.toml", tmp_path / "out"
    suite.write_text(SUITE)
    proc = subprocess.Popen([sys.executable, "-m", "genbench", "run", str(suite), "--out", str(out), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"),
                            # a shell without job control starts background jobs with SIGINT
                            # ignored (as CI may); restore it so Python raises KeyboardInterrupt
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    db_path = out / "results.sqlite"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if db_path.exists() and count(db_path, "SELECT count(*) FROM cells WHERE status='done'") >= 2:
            break
        time.sleep(0.05)
    return proc, suite, out, db_path


def test_ctrl_c_exits_130_and_keeps_finished_cells(tmp_path):
    proc, _, _, db_path = start_suite(tmp_path)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted" in stderr and "run the same command again to resume" in stderr and "Traceback" not in stderr
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        done = [r[0] for r in db.execute("SELECT cell_id FROM cells WHERE status='done'")]
        assert len(done) >= 2
        for cell_id in done:
            assert db.execute("SELECT count(*) FROM metrics WHERE cell_id=?", (cell_id,)).fetchone()[0] == METRICS_PER_CELL


def test_kill_9_mid_suite_loses_nothing_and_resume_finishes(tmp_path, invoke_genbench):
    proc, suite, out, db_path = start_suite(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()

    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        done = [r[0] for r in db.execute("SELECT cell_id FROM cells WHERE status='done'")]
        assert 2 <= len(done) < 6, "the kill should land mid-suite"
        for cell_id in done:
            assert db.execute("SELECT count(*) FROM metrics WHERE cell_id=?", (cell_id,)).fetchone()[0] == METRICS_PER_CELL
        in_flight = db.execute("SELECT count(*) FROM cells WHERE status='running' AND started_at IS NOT NULL")
        assert in_flight.fetchone()[0] <= 2  # at most one per worker

    again = invoke_genbench("run", str(suite), "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert f"skipped {len(done)} cells already in the store" in again.stdout
    assert count(db_path, "SELECT count(*) FROM cells WHERE status='done'") == 6
    assert count(db_path, "SELECT count(*) FROM metrics") == 6 * METRICS_PER_CELL
